"""What a dead letter is, and whether the app's workers could run it now.

One reading for every command that looks into a dead-letter queue (``dlq show``,
``redrive --task``, ``redrive --drop-if-unrunnable``): the body is decoded as a
worker would (`decode_envelope`), the task looked up in the app's registry
(`UnknownTask`) and its payload checked against the handler's signature
(`PayloadMismatch`). A large-payload pointer is named, never fetched: whether its
payload fits cannot be known here, so it counts as runnable.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import attrs

from simple_worker.domain._envelope import decode_envelope
from simple_worker.domain._errors import MessageDecodeError, PayloadMismatch, UnknownTask
from simple_worker.domain._excerpt import NAME_BYTES, PLACE_BYTES, REASON_BYTES, excerpt
from simple_worker.domain._payload_pointer import find_pointer
from simple_worker.ports.queue import (
    MAX_BATCH_SIZE,
    QueuePort,
    ReceivedMessage,
    VisibilityChange,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from simple_worker.domain._registry import TaskRegistry
    from simple_worker.domain._task import Task

RECEIVE_VISIBILITY = 30
"""Seconds a message being read stays hidden, should the command die before releasing it."""
_READ_BUDGET = 20.0
"""Seconds of receiving at most, well within `RECEIVE_VISIBILITY`."""


@attrs.frozen
class Unreadable:
    """A body no task can be read from here."""

    reason: str
    runnable: bool = False
    """Whether a worker may still run it (a large payload: not knowable without fetching it)."""


def read_task(body: str) -> Task | Unreadable:
    """Return the task ``body`` carries, or why no task can be read from it here."""
    try:
        pointer = find_pointer(body)
        if pointer is not None:
            return Unreadable(
                f"large payload at {excerpt(str(pointer), PLACE_BYTES)}", runnable=True
            )
        return decode_envelope(body)
    except MessageDecodeError as error:
        return Unreadable(f"not a task envelope: {excerpt(error.reason, REASON_BYTES)}")


def why_unrunnable(name: str, payload: Mapping[str, object], registry: TaskRegistry) -> str | None:
    """Return why a worker with ``registry`` refuses this task, or None if it would run it."""
    try:
        registration = registry.get(name)
    except UnknownTask:
        return f"unknown task {excerpt(name, NAME_BYTES)}: no handler is registered for it"
    try:
        registration.signature.check(payload)
    except PayloadMismatch as error:
        problems = []
        if error.missing:
            problems.append("missing " + ", ".join(excerpt(k, NAME_BYTES) for k in error.missing))
        if error.unexpected:
            problems.append(
                "unexpected " + ", ".join(excerpt(k, NAME_BYTES) for k in error.unexpected)
            )
        return f"payload does not fit the handler: {'; '.join(problems)}"
    return None


@attrs.frozen
class Verdict:
    """Which task a dead letter carries, and whether it could run now."""

    task_name: str | None
    """None when no task can be read from the body."""
    refusal: str | None
    """Why a worker would refuse it now; None when it would run (or may: a large payload)."""


def judge(body: str, registry: TaskRegistry) -> Verdict:
    """Return the `Verdict` on a dead letter's ``body`` for the app's ``registry``."""
    task = read_task(body)
    if isinstance(task, Unreadable):
        return Verdict(task_name=None, refusal=None if task.runnable else task.reason)
    return Verdict(task_name=task.name, refusal=why_unrunnable(task.name, task.payload, registry))


def read_dead_letters(port: QueuePort, queue: str, limit: int) -> list[ReceivedMessage]:
    """Receive up to ``limit`` distinct messages of ``queue``; make them all visible again.

    Every receipt received, duplicates included, is released (visibility 0) before
    this returns or raises.
    """
    received: dict[str, ReceivedMessage] = {}
    receipts: list[str] = []
    deadline = time.monotonic() + _READ_BUDGET
    try:
        while len(received) < limit and time.monotonic() < deadline:
            batch = port.receive_batch(
                queue,
                max_messages=min(MAX_BATCH_SIZE, limit - len(received)),
                visibility_timeout=RECEIVE_VISIBILITY,
            )
            if not batch:
                break
            receipts += [m.receipt for m in batch]
            fresh = [m for m in batch if m.message_id not in received]
            if not fresh:
                break
            for message in fresh:
                received.setdefault(message.message_id, message)
    finally:
        if receipts:
            port.change_visibility_batch(
                queue, [VisibilityChange(receipt, 0) for receipt in receipts]
            )
    return list(received.values())[:limit]
