"""The EventBridge Scheduler adapter against moto (`mock_aws`: in process, no HTTP)."""

from datetime import datetime, timezone

import boto3
import pytest
from moto import mock_aws

from simple_worker import SchedulerServiceError
from simple_worker.adapters.scheduler._scheduler import EventBridgeScheduler
from simple_worker.domain._schedule_plan import ScheduleSpec

ACCOUNT = "123456789012"


@pytest.fixture
def scheduler():
    with mock_aws():
        yield EventBridgeScheduler(boto3.client("scheduler", region_name="us-east-1"))


def spec(name="nightly", **changes):
    fields = {
        "expression": "cron(0 2 * * ? *)",
        "timezone": "Europe/Berlin",
        "target_arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:p-default.fifo",
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/r",
        "input": '{"task_name":"t","task_payload":{},"task_id":"<aws.scheduler.execution-id>"}',
        "group_id": "reports",
        "dead_letter_arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:p-scheduler-dlq",
        "max_retries": 3,
        "max_event_age": 600,
        "flexible_window": 5,
        "start": datetime(2030, 1, 1, tzinfo=timezone.utc),
        "end": datetime(2031, 1, 1, 2, 3, 4, tzinfo=timezone.utc),
        "description": "simple-worker: task t",
        **changes,
    }
    return ScheduleSpec(name=name, **fields)


def test_a_created_schedule_reads_back_equal_in_every_field(scheduler):
    scheduler.create_group("g")
    scheduler.create("g", spec())

    (stored,) = scheduler.list_schedules("g")

    assert stored == spec()
    assert stored.created is not None


def test_a_schedule_without_options_reads_back_with_schedulers_defaults(scheduler):
    scheduler.create_group("g")
    plain = spec(group_id=None, dead_letter_arn=None, flexible_window=None, start=None, end=None)
    scheduler.create("g", plain)

    assert scheduler.list_schedules("g") == [plain]


def test_update_replaces_the_schedule_and_delete_removes_it(scheduler):
    scheduler.create_group("g")
    scheduler.create("g", spec())

    scheduler.update("g", spec(expression="rate(5 minutes)", flexible_window=None))
    assert scheduler.list_schedules("g") == [
        spec(expression="rate(5 minutes)", flexible_window=None)
    ]

    scheduler.delete("g", "nightly")
    assert scheduler.list_schedules("g") == []


def test_a_missing_group_exists_not_and_lists_no_schedule(scheduler):
    assert not scheduler.group_exists("nope")
    assert scheduler.list_schedules("nope") == []
    scheduler.create_group("nope")
    assert scheduler.group_exists("nope")


def test_a_refused_call_is_a_scheduler_service_error_naming_the_operation(scheduler):
    with pytest.raises(SchedulerServiceError, match="EventBridge Scheduler DeleteSchedule failed"):
        scheduler.delete("nope", "nightly")
