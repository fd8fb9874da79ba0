from datetime import datetime, timedelta, timezone

import pytest

from simple_worker import (
    App,
    ConfigurationError,
    InvalidPayload,
    InvalidTaskOptions,
    MessageTooLarge,
    PayloadMismatch,
    UnknownTask,
)
from simple_worker.domain._envelope import decode_envelope
from simple_worker.domain._errors import InvalidSchedule
from simple_worker.domain._schedule import fill_context
from simple_worker.testing import FakeClock

FIRED_AT = datetime(2026, 3, 22, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def app():
    app = App(testing_mode=True, clock=FakeClock(FIRED_AT))
    app.register_task_handler("nightly_report")(lambda kind, dry_run=False: None)
    app.register_task_handler("per_tenant", queue="tenants.fifo", group_by="tenant")(
        lambda tenant: None
    )
    return app


def test_a_declaration_keeps_the_expression_as_scheduler_takes_it(app):
    schedule = app.schedule(
        "nightly_report", cron="0 2 * * ? *", timezone="Europe/Berlin", payload={"kind": "daily"}
    )

    assert schedule.name == "nightly_report"
    assert schedule.expression == "cron(0 2 * * ? *)"
    assert schedule.timezone == "Europe/Berlin"
    assert schedule.queue == "default"
    assert app.schedules == {"nightly_report": schedule}


def test_the_body_template_decodes_once_scheduler_fills_in_its_context(app):
    schedule = app.schedule("nightly_report", rate="5 minutes", payload={"kind": "daily"})

    body = fill_context(
        schedule.body_template(), execution_id="d32c5kddcf5bb8c3", scheduled_time=FIRED_AT
    )
    task = decode_envelope(body)

    assert '"enqueued_at":"2026-03-22T01:00:00Z"' in body
    assert task.name == "nightly_report"
    assert task.payload == {"kind": "daily"}
    assert task.id == "d32c5kddcf5bb8c3"
    assert task.enqueued_at == FIRED_AT


def test_run_schedule_enqueues_the_task_as_scheduler_would_and_runs_it():
    ran = []
    app = App(testing_mode=True, clock=FakeClock(FIRED_AT))
    app.register_task_handler("nightly_report")(lambda kind: ran.append(kind))
    app.schedule("nightly_report", cron="0 2 * * ? *", payload={"kind": "daily"})

    report = app.testing_worker().run_schedule("nightly_report")

    assert ran == ["daily"]
    (run,) = report.succeeded
    assert run.task.enqueued_at == FIRED_AT
    assert len(run.task.id) == 16


def test_run_schedule_sends_to_a_fifo_queue_with_the_group_id(app):
    app.schedule("per_tenant", rate="1 hour", payload={"tenant": "acme"})

    report = app.testing_worker().run_schedule("per_tenant")

    (run,) = report.succeeded
    assert run.message.group_id == "acme"


def test_run_schedule_names_the_declared_schedules_when_asked_for_another(app):
    app.schedule("nightly_report", rate="1 hour", payload={"kind": "x"})

    with pytest.raises(
        ConfigurationError, match=r"No schedule 'nope' is declared \(declared: nightly_report\)"
    ):
        app.testing_worker().run_schedule("nope")


def test_an_unknown_task_is_refused_as_add_task_refuses_it(app):
    with pytest.raises(UnknownTask):
        app.schedule("no_such_task", rate="1 hour")


def test_a_payload_that_does_not_fit_the_handler_is_refused(app):
    with pytest.raises(PayloadMismatch, match="missing kind; unexpected kynd"):
        app.schedule("nightly_report", rate="1 hour", payload={"kynd": "daily"})


def test_a_payload_that_is_not_plain_json_is_refused(app):
    with pytest.raises(InvalidPayload):
        app.schedule("nightly_report", rate="1 hour", payload={"kind": (1, 2)})


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({}, "give exactly one of cron=, rate= or at="),
        ({"cron": "0 2 * * ? *", "rate": "1 hour"}, "not cron and rate"),
        ({"cron": "0 2 * * * *"}, "exactly one of day-of-month"),
        ({"rate": "1 hours"}, "wants '1 hour'"),
        ({"rate": "1 hour", "timezone": "Mars/Olympus"}, "'Mars/Olympus' is unknown"),
        ({"rate": "1 hour", "flexible_window": 0}, "flexible_window is whole minutes"),
        ({"rate": "1 hour", "flexible_window": 1441}, "from 1 to 1440"),
        ({"rate": "1 hour", "group_id": "g"}, "group_id is for FIFO queues"),
        ({"rate": "1 hour", "name": "has space"}, "1 to 64 letters"),
        ({"rate": "1 hour", "start": datetime(2030, 1, 1)}, "start must be timezone-aware"),
        (
            {
                "rate": "1 hour",
                "start": datetime(2030, 1, 2, tzinfo=timezone.utc),
                "end": datetime(2030, 1, 1, tzinfo=timezone.utc),
            },
            "end must come after start",
        ),
        ({"at": "2030-01-01"}, "at= takes a datetime"),
    ],
)
def test_a_declaration_breaking_schedulers_rules_is_refused_on_one_line(app, options, says):
    with pytest.raises(InvalidSchedule) as caught:
        app.schedule("nightly_report", payload={"kind": "daily"}, **options)

    assert says in str(caught.value)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("Schedule ")


def test_a_payload_holding_a_context_placeholder_is_refused(app):
    with pytest.raises(InvalidSchedule, match="which Scheduler would replace"):
        app.schedule("nightly_report", rate="1 hour", payload={"kind": "<aws.scheduler.x>"})


def test_a_second_schedule_of_a_name_is_refused_and_another_name_accepted(app):
    app.schedule("nightly_report", rate="1 hour", payload={"kind": "a"})

    with pytest.raises(InvalidSchedule, match="the name is taken"):
        app.schedule("nightly_report", rate="2 hours", payload={"kind": "b"})
    app.schedule("nightly_report", name="twice_hourly", rate="30 minutes", payload={"kind": "b"})
    assert list(app.schedules) == ["nightly_report", "twice_hourly"]


def test_a_fifo_task_takes_its_group_id_from_its_group_by_field_or_needs_one(app):
    assert app.schedule("per_tenant", rate="1 hour", payload={"tenant": "acme"}).group_id == "acme"
    with pytest.raises(InvalidTaskOptions):
        app.schedule("per_tenant", name="bad", rate="1 hour", payload={"tenant": "a b"})


def test_a_flexible_window_may_be_a_timedelta(app):
    schedule = app.schedule(
        "nightly_report", rate="1 hour", payload={"kind": "x"}, flexible_window=timedelta(hours=1)
    )

    assert schedule.flexible_window == 60


def test_an_envelope_over_the_size_limit_is_refused():
    app = App(testing_mode=True, max_message_size=1024)
    app.register_task_handler("big")(lambda data: None)

    with pytest.raises(MessageTooLarge):
        app.schedule("big", rate="1 hour", payload={"data": "x" * 1100})
