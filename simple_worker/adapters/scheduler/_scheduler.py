"""`SchedulerPort` over Amazon EventBridge Scheduler, through boto3.

Each schedule has an SQS queue as its templated target: ``Target.Arn`` is the
queue's ARN, ``Target.Input`` the message body, ``SqsParameters.MessageGroupId``
the group of a FIFO queue. botocore's errors are translated here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from simple_worker.adapters.sqs._errors import error_reason
from simple_worker.domain._errors import ConfigurationError, SchedulerServiceError
from simple_worker.domain._schedule_plan import ScheduleSpec

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_scheduler.type_defs import GetScheduleOutputTypeDef, TargetTypeDef

__all__ = ["EventBridgeScheduler"]

_NOT_FOUND = "ResourceNotFoundException"


class EventBridgeScheduler:
    """Schedule groups and schedules of one account and region.

    Args:
        client: a boto3 ``scheduler`` client.
    """

    def __init__(self, client: EventBridgeSchedulerClient) -> None:
        self._client = client

    @classmethod
    def build(cls, region: str | None, endpoint_url: str | None = None) -> EventBridgeScheduler:
        """Make a client for ``region``.

        The endpoint is the standard AWS configuration's (``AWS_ENDPOINT_URL_SCHEDULER``)
        unless ``endpoint_url`` is given.
        """
        client = boto3.session.Session().client(
            "scheduler", region_name=region, endpoint_url=endpoint_url
        )
        return cls(client)

    @property
    def endpoint(self) -> str:
        """The endpoint URL the client talks to."""
        return str(self._client.meta.endpoint_url)

    def group_exists(self, group: str) -> bool:
        """Return whether the schedule group exists."""
        try:
            with _translated("GetScheduleGroup", missing=True):
                self._client.get_schedule_group(Name=group)
        except _Missing:
            return False
        return True

    def create_group(self, group: str) -> None:
        """Create the schedule group."""
        with _translated("CreateScheduleGroup"):
            self._client.create_schedule_group(Name=group)

    def list_schedules(self, group: str) -> list[ScheduleSpec]:
        """Return every schedule of the group, read in full; empty if there is no group."""
        names: list[str] = []
        try:
            with _translated("ListSchedules", missing=True):
                for page in self._client.get_paginator("list_schedules").paginate(GroupName=group):
                    names += [item["Name"] for item in page.get("Schedules", [])]
            specs = []
            for name in sorted(names):
                with _translated("GetSchedule", missing=True):
                    specs.append(_spec(self._client.get_schedule(Name=name, GroupName=group)))
        except _Missing:
            return []
        return specs

    def create(self, group: str, spec: ScheduleSpec) -> None:
        """Create the schedule in the group."""
        with _translated("CreateSchedule"):
            self._client.create_schedule(**_request(group, spec))

    def update(self, group: str, spec: ScheduleSpec) -> None:
        """Replace the schedule of that name: Scheduler's update sets every field."""
        with _translated("UpdateSchedule"):
            self._client.update_schedule(**_request(group, spec))

    def delete(self, group: str, name: str) -> None:
        """Delete the schedule of that name."""
        with _translated("DeleteSchedule"):
            self._client.delete_schedule(Name=name, GroupName=group)


class _Missing(Exception):
    """The group or schedule does not exist."""


@contextmanager
def _translated(operation: str, *, missing: bool = False) -> Iterator[None]:
    """Translate botocore's errors; with ``missing``, "not found" raises `_Missing`."""
    try:
        yield
    except NoCredentialsError as exc:
        raise ConfigurationError(
            f"No AWS credentials were found for EventBridge Scheduler {operation}. Set them "
            "the standard AWS way (AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or a role)."
        ) from exc
    except ClientError as exc:
        if missing and exc.response.get("Error", {}).get("Code") == _NOT_FOUND:
            raise _Missing from exc
        raise SchedulerServiceError(
            f"EventBridge Scheduler {operation} failed: {error_reason(exc)}.",
            operation=operation,
        ) from exc
    except BotoCoreError as exc:
        raise SchedulerServiceError(
            f"EventBridge Scheduler {operation} failed: {exc}. Check the region and the "
            "endpoint (AWS_ENDPOINT_URL_SCHEDULER).",
            operation=operation,
        ) from exc


def _request(group: str, spec: ScheduleSpec) -> dict[str, Any]:
    target: TargetTypeDef = {
        "Arn": spec.target_arn,
        "RoleArn": spec.role_arn,
        "Input": spec.input,
        "RetryPolicy": {
            "MaximumRetryAttempts": spec.max_retries,
            "MaximumEventAgeInSeconds": spec.max_event_age,
        },
    }
    if spec.dead_letter_arn is not None:
        target["DeadLetterConfig"] = {"Arn": spec.dead_letter_arn}
    if spec.group_id is not None:
        target["SqsParameters"] = {"MessageGroupId": spec.group_id}
    request: dict[str, Any] = {
        "Name": spec.name,
        "GroupName": group,
        "ScheduleExpression": spec.expression,
        "ScheduleExpressionTimezone": spec.timezone,
        "Description": spec.description,
        "State": spec.state,
        "Target": target,
        "FlexibleTimeWindow": {"Mode": "OFF"}
        if spec.flexible_window is None
        else {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": spec.flexible_window},
    }
    if spec.start is not None:
        request["StartDate"] = spec.start
    if spec.end is not None:
        request["EndDate"] = spec.end
    return request


def _spec(answer: GetScheduleOutputTypeDef) -> ScheduleSpec:
    target = answer["Target"]
    retry = target.get("RetryPolicy", {})
    window = answer.get("FlexibleTimeWindow", {})
    return ScheduleSpec(
        name=answer["Name"],
        expression=answer["ScheduleExpression"],
        timezone=answer.get("ScheduleExpressionTimezone") or "UTC",
        target_arn=target["Arn"],
        role_arn=target["RoleArn"],
        input=target.get("Input", ""),
        group_id=target.get("SqsParameters", {}).get("MessageGroupId"),
        dead_letter_arn=target.get("DeadLetterConfig", {}).get("Arn"),
        max_retries=retry.get("MaximumRetryAttempts", 185),
        max_event_age=retry.get("MaximumEventAgeInSeconds", 86_400),
        flexible_window=window.get("MaximumWindowInMinutes")
        if window.get("Mode") == "FLEXIBLE"
        else None,
        start=answer.get("StartDate"),
        end=answer.get("EndDate"),
        description=answer.get("Description", ""),
        state=answer.get("State", "ENABLED"),
        created=answer.get("CreationDate"),
    )
