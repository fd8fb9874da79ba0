"""Periodic tasks: a schedule declared in code, checked as ``add_task`` checks a task. Pure.

EventBridge Scheduler runs the schedule, not this library: each firing sends the
task's envelope to its queue. The envelope's ``task_id`` and ``enqueued_at`` are
Scheduler's context attributes (`EXECUTION_ID`, `SCHEDULED_TIME`), which it
replaces as it fires, so every firing is a distinct task with its real time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from simple_worker.domain._envelope import encode_envelope_template
from simple_worker.domain._errors import InvalidSchedule, MessageTooLarge
from simple_worker.domain._options import check_sqs_id, group_id_from_payload
from simple_worker.domain._payload import check_payload
from simple_worker.domain._registry import Registration
from simple_worker.domain._schedule_expression import (
    ExpressionError,
    at_expression,
    check_timezone,
    cron_expression,
    rate_expression,
)
from simple_worker.domain._task import Task

EXECUTION_ID = "<aws.scheduler.execution-id>"
"""Replaced by Scheduler with the firing's id (e.g. ``d32c5kddcf5bb8c3``): the task id."""
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
"""Replaced by Scheduler with the firing's time (e.g. ``2026-03-22T02:00:00Z``)."""
SCHEDULE_ARN = "<aws.scheduler.schedule-arn>"
"""Replaced by Scheduler with the schedule's ARN."""
_CONTEXT_MARK = "<aws.scheduler."
_NAME = re.compile(r"[0-9A-Za-z._-]{1,64}")
MAX_FLEXIBLE_WINDOW = 1_440


@attrs.frozen
class Schedule:
    """A declared schedule: which task, with which payload, when; made by `declare_schedule`."""

    name: str
    task_name: str
    queue: str
    """The task's full queue name: the schedule's target."""
    expression: str
    """``cron(...)``, ``rate(...)`` or ``at(...)``, as EventBridge Scheduler takes it."""
    timezone: str
    payload: dict[str, Any]
    flexible_window: int | None = None
    """Minutes Scheduler may delay a firing by, to spread load; None for none."""
    group_id: str | None = None
    """The message group id, for a FIFO queue."""
    start: datetime | None = None
    end: datetime | None = None

    def body_template(self) -> str:
        """Return the message body Scheduler sends, with its context placeholders."""
        task = Task(name=self.task_name, payload=self.payload, id=EXECUTION_ID)
        return encode_envelope_template(task, enqueued_at=SCHEDULED_TIME)


def declare_schedule(
    registration: Registration,
    payload: Mapping[str, Any],
    *,
    name: str | None,
    cron: str | None,
    rate: str | None,
    at: datetime | None,
    zone: str,
    flexible_window: int | timedelta | None,
    group_id: str | None,
    start: datetime | None,
    end: datetime | None,
    max_message_size: int,
) -> Schedule:
    """Check a declaration and return its `Schedule`.

    Raises:
        InvalidSchedule: the name, expression, time zone, window, dates or group id
            break Scheduler's rules, or the payload holds a context placeholder.
        InvalidPayload: the payload is not plain JSON.
        PayloadMismatch: the payload does not fit the handler's signature.
        MessageTooLarge: the envelope is over the size limit.
    """
    task_name = registration.task_name
    name = task_name if name is None else name
    if not _NAME.fullmatch(name):
        raise InvalidSchedule(
            name,
            "a schedule name is 1 to 64 letters, digits, '.', '-' or '_'; give "
            "name='...' to app.schedule",
        )
    plain = check_payload(task_name, payload)
    registration.signature.check(plain)
    if _CONTEXT_MARK in json.dumps(plain):
        raise InvalidSchedule(
            name, f"the payload holds {_CONTEXT_MARK!r}..., which Scheduler would replace"
        )
    try:
        zone = check_timezone(zone)
        expression = _expression(cron, rate, at, zone)
    except ExpressionError as error:
        raise InvalidSchedule(name, str(error)) from None
    schedule = Schedule(
        name=name,
        task_name=task_name,
        queue=registration.queue,
        expression=expression,
        timezone=zone,
        payload=plain,
        flexible_window=_window(name, flexible_window),
        group_id=_group_id(name, registration, plain, group_id),
        start=_aware(name, "start", start),
        end=_aware(name, "end", end),
    )
    if schedule.start and schedule.end and schedule.end <= schedule.start:
        raise InvalidSchedule(name, "end must come after start")
    size = len(schedule.body_template())
    if size > max_message_size:
        raise MessageTooLarge(task_name, size=size, limit=max_message_size)
    return schedule


def _expression(cron: str | None, rate: str | None, at: datetime | None, zone: str) -> str:
    given = [kind for kind, value in (("cron", cron), ("rate", rate), ("at", at)) if value]
    if len(given) != 1:
        raise ExpressionError(
            "give exactly one of cron=, rate= or at="
            + (f", not {' and '.join(given)}" if given else "")
        )
    if cron is not None:
        return cron_expression(cron)
    if rate is not None:
        return rate_expression(rate)[0]
    if not isinstance(at, datetime):
        raise ExpressionError(f"at= takes a datetime, not {type(at).__name__}")
    return at_expression(at, zone)


def _window(name: str, window: int | timedelta | None) -> int | None:
    if window is None:
        return None
    minutes = window.total_seconds() / 60 if isinstance(window, timedelta) else window
    if type(minutes) is bool or not (
        float(minutes).is_integer() and 1 <= minutes <= MAX_FLEXIBLE_WINDOW
    ):
        raise InvalidSchedule(
            name,
            f"flexible_window is whole minutes from 1 to {MAX_FLEXIBLE_WINDOW}, got {window!r}",
        )
    return int(minutes)


def _group_id(
    name: str, registration: Registration, payload: Mapping[str, Any], group_id: str | None
) -> str | None:
    if not registration.fifo:
        if group_id is not None:
            raise InvalidSchedule(
                name, f"group_id is for FIFO queues, and {registration.queue} is a standard queue"
            )
        return None
    if group_id is None and registration.group_by is not None:
        group_id = group_id_from_payload(registration.task_name, registration.group_by, payload)
    if group_id is None:
        raise InvalidSchedule(
            name,
            f"its task goes to FIFO queue {registration.queue}, whose messages need a group "
            "id: give group_id='...'",
        )
    return check_sqs_id("group_id", group_id)


def _aware(name: str, what: str, moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise InvalidSchedule(
            name, f"{what} must be timezone-aware, e.g. datetime(..., tzinfo=UTC)"
        )
    # Scheduler keeps whole seconds: a fraction would make every sync an update.
    return None if moment is None else moment.replace(microsecond=0)


def fill_context(
    template: str, *, execution_id: str, scheduled_time: datetime, schedule_arn: str = ""
) -> str:
    """Return ``template`` with the context attributes replaced, as Scheduler does when it fires."""
    # Scheduler's format: seconds, no fraction, a Z.
    moment = scheduled_time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        template.replace(EXECUTION_ID, execution_id)
        .replace(SCHEDULED_TIME, moment)
        .replace(SCHEDULE_ARN, schedule_arn)
    )
