"""Task names and tasks. Pure: no I/O, no clock.

A task name is at most 128 characters from ``A-Z a-z 0-9 _ . : - /``, starting with
a letter or a digit (``send_email``, ``billing.charge``, ``reports:nightly``). The
rule keeps names printable and unambiguous in logs, metrics and shell commands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from simple_worker.domain._errors import InvalidTaskName

MAX_TASK_NAME_LENGTH = 128
_TASK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]*")


def check_task_name(name: object) -> str:
    """Return ``name`` if it is a valid task name.

    Raises:
        InvalidTaskName: it is not a string, is empty, too long, or has other characters.
    """
    if type(name) is not str:
        raise InvalidTaskName(name, f"a task name is a str, not {type(name).__name__}")
    if not name:
        raise InvalidTaskName(name, "it is empty")
    if len(name) > MAX_TASK_NAME_LENGTH:
        raise InvalidTaskName(
            name[:MAX_TASK_NAME_LENGTH] + "...",
            f"it is {len(name)} characters long, the limit is {MAX_TASK_NAME_LENGTH}",
        )
    if not _TASK_NAME.fullmatch(name):
        raise InvalidTaskName(
            name,
            "use letters, digits and _ . : - / only, starting with a letter or a digit",
        )
    return name


def _valid_task_name(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    check_task_name(value)


@attrs.frozen
class Delivery:
    """Which message brought a task to the worker, for logs and middleware."""

    message_id: str
    queue: str
    """The full queue name, prefix included."""
    receive_count: int
    """How many times the queue has handed this message out, this time included."""


@attrs.frozen
class Task:
    """One unit of work: a handler's name and the keyword arguments to call it with.

    ``id`` and ``enqueued_at`` are None only for messages from producers that did not
    set them (simple-worker 0.2.x). ``not_before`` is set on a task scheduled further
    ahead than one SQS delay: a worker receiving it earlier sends it on. ``delivery``
    is set on a task a worker received, and is None on one being sent; it takes no
    part in equality.
    """

    name: str = attrs.field(validator=_valid_task_name)
    payload: Mapping[str, Any]
    id: str | None = None
    enqueued_at: datetime | None = None
    not_before: datetime | None = None
    delivery: Delivery | None = attrs.field(default=None, eq=False)
