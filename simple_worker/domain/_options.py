"""Task options: when a task may run, and which message group it belongs to. Pure.

Options travel beside the payload, never inside it (``app.with_options(delay=60)
.add_task("send_email", user_id=7)``), so no option name can collide with a
payload keyword.

- ``delay``: seconds, 0 to 900 (SQS's per-message ``DelaySeconds``).
- ``not_before``: a timezone-aware moment, up to a year ahead; beyond 15 minutes
  the message is sent with the longest delay and carries its due time, and a
  worker that receives it early sends it again for the rest (see
  `simple_worker.consumer._deferral`). Not with ``delay``.
- ``group_id``: SQS's ``MessageGroupId``. Required on a FIFO queue, where a
  group's tasks run in order; on a standard queue it is a fair-queue tenant key.
- ``deduplication_id``: FIFO queues only; a second task with the same id within
  SQS's five-minute window is dropped. Default: a hash of the task's name and
  payload, so the same task sent twice in five minutes runs once.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from simple_worker.domain._errors import InvalidTaskOptions
from simple_worker.domain._queue_rules import MAX_SQS_ID_LENGTH, is_sqs_id

MAX_DELAY_SECONDS = 900
"""Longest delay SQS gives one message: 15 minutes."""
MAX_NOT_BEFORE = timedelta(days=365)
"""Furthest ahead a task may be scheduled: further is taken for a mistake."""


def _delay_seconds(value: object) -> int | None:
    """Return a delay as whole seconds (rounded up: never earlier than asked)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidTaskOptions(f"delay must be seconds (an int or a timedelta), not {value!r}")
    if not 0 <= value <= MAX_DELAY_SECONDS:
        raise InvalidTaskOptions(
            f"delay must be 0 to {MAX_DELAY_SECONDS} seconds (SQS's limit); got {value}. "
            "For a later time, use not_before=<a datetime>."
        )
    return math.ceil(value)


def _check_not_before(_instance: object, _attribute: object, value: datetime | None) -> None:
    if value is None:
        return
    if not isinstance(value, datetime):
        raise InvalidTaskOptions(f"not_before must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidTaskOptions(
            "not_before must be timezone-aware (e.g. datetime.now(timezone.utc) + ...): "
            "a naive time means different moments to the producer and the worker."
        )


def check_sqs_id(name: str, value: object) -> str:
    """Return ``value`` if SQS takes it as a message group or deduplication id.

    Raises:
        InvalidTaskOptions: it is not a string of 1 to 128 printable ASCII characters.
    """
    if type(value) is not str:
        raise InvalidTaskOptions(f"{name} must be a str, not {type(value).__name__}")
    if not 0 < len(value) <= MAX_SQS_ID_LENGTH:
        raise InvalidTaskOptions(
            f"{name} must be 1 to {MAX_SQS_ID_LENGTH} characters; got {len(value)}"
        )
    if not is_sqs_id(value):
        raise InvalidTaskOptions(
            f"{name} {value[:40]!r} has characters SQS refuses: use letters, digits and "
            "ASCII punctuation, without spaces"
        )
    return value


def _optional_sqs_id(name: str) -> Callable[[object, object, str | None], None]:
    def check(_instance: object, _attribute: object, value: str | None) -> None:
        if value is not None:
            check_sqs_id(name, value)

    return check


@attrs.frozen
class TaskOptions:
    """How one task is sent; see the module's docstring for each option.

    Raises:
        InvalidTaskOptions: an option is out of range, or ``delay`` and
            ``not_before`` are both given.
    """

    delay: int | None = attrs.field(default=None, converter=_delay_seconds)
    not_before: datetime | None = attrs.field(default=None, validator=_check_not_before)
    group_id: str | None = attrs.field(default=None, validator=_optional_sqs_id("group_id"))
    deduplication_id: str | None = attrs.field(
        default=None, validator=_optional_sqs_id("deduplication_id")
    )

    def __attrs_post_init__(self) -> None:
        if self.delay is not None and self.not_before is not None:
            raise InvalidTaskOptions("give delay or not_before, not both")

    def over(self, defaults: TaskOptions) -> TaskOptions:
        """Return these options, with ``defaults`` where an option is not set."""
        timing_set = self.delay is not None or self.not_before is not None
        return TaskOptions(
            delay=self.delay if timing_set else defaults.delay,
            not_before=self.not_before if timing_set else defaults.not_before,
            group_id=self.group_id if self.group_id is not None else defaults.group_id,
            deduplication_id=(
                self.deduplication_id
                if self.deduplication_id is not None
                else defaults.deduplication_id
            ),
        )


@attrs.frozen
class Timing:
    """When a message is delivered: ``delay_seconds`` now, and a due time if beyond."""

    delay_seconds: int = 0
    not_before: datetime | None = None
    """Set when the due time is further than one SQS delay: a worker re-sends early arrivals."""


def timing(options: TaskOptions, now: datetime) -> Timing:
    """Return how to send a task with ``options`` at ``now`` (a timezone-aware time).

    Raises:
        InvalidTaskOptions: ``not_before`` is more than `MAX_NOT_BEFORE` ahead.
    """
    if options.not_before is None:
        return Timing(delay_seconds=options.delay or 0)
    remaining = (options.not_before - now).total_seconds()
    if remaining > MAX_NOT_BEFORE.total_seconds():
        raise InvalidTaskOptions(
            f"not_before is {remaining / 86_400:.0f} days ahead; the limit is "
            f"{MAX_NOT_BEFORE.days} days"
        )
    if remaining <= MAX_DELAY_SECONDS:
        # In the past (clock skew, a slow caller): due now, not refused.
        return Timing(delay_seconds=max(math.ceil(remaining), 0))
    return Timing(delay_seconds=MAX_DELAY_SECONDS, not_before=options.not_before)


def group_id_from_payload(task_name: str, field: str, payload: Mapping[str, Any]) -> str | None:
    """Return the group id a registration's ``group_by`` field gives, None if it is absent.

    Raises:
        InvalidTaskOptions: the field's value is not a str or an int, or not a valid id.
    """
    if field not in payload:
        return None
    value = payload[field]
    if type(value) is int:
        value = str(value)
    if type(value) is not str:
        raise InvalidTaskOptions(
            f"task {task_name!r} takes its group id from payload field {field!r}, which must "
            f"be a str or an int; got {type(value).__name__}"
        )
    return check_sqs_id(f"group id (payload field {field!r})", value)


def content_deduplication_id(task_name: str, payload: Mapping[str, Any]) -> str:
    """Return a deduplication id from the task's name and payload: the same task, the same id.

    The message body cannot serve (SQS's content-based deduplication hashes it):
    it holds the task's own id and time, which differ on every send.
    """
    canonical = json.dumps([task_name, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
