"""Sending on a task that arrived before its ``not_before``. Uses the ports only.

SQS delays a message by 15 minutes at most. A task due later is sent with that
delay and carries its due time; a worker that receives it early sends the same
message again with the rest of the delay (up to 15 minutes more) and deletes the
one it received. Nothing waits in a worker's memory, so no visibility timeout can
run out on a task held for later and hand it to a second worker (the trap of an
in-memory ETA).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from simple_worker.domain._errors import MessageDecodeError
from simple_worker.domain._options import MAX_NOT_BEFORE
from simple_worker.domain._task import Task
from simple_worker.ports.queue import OutgoingMessage, QueuePort, ReceivedMessage

EARLY_TOLERANCE = 1.0
"""Seconds early a task may still run: SQS delays are whole seconds."""


LATEST_DUE = MAX_NOT_BEFORE + timedelta(days=1)
"""How far ahead a received task's ``not_before`` may be: what producers allow, plus a
day for their clocks."""


def check_due_time(task: Task, now: datetime) -> None:
    """Refuse a task due further ahead than any producer of this library sends.

    Such a message would be sent on every 15 minutes for years: it is refused
    instead, so that the redrive policy moves it to the dead-letter queue.

    Raises:
        MessageDecodeError: ``task.not_before`` is beyond `LATEST_DUE` from ``now``.
    """
    if task.not_before is not None and task.not_before - now > LATEST_DUE:
        raise MessageDecodeError(
            f"its not_before ({task.not_before.date().isoformat()}) is more than "
            f"{LATEST_DUE.days} days ahead; producers allow {MAX_NOT_BEFORE.days}"
        )


def is_early(task: Task, now: datetime) -> bool:
    """Return whether ``task`` arrived more than `EARLY_TOLERANCE` before its due time."""
    return task.not_before is not None and (task.not_before - now).total_seconds() > EARLY_TOLERANCE


def seconds_left(task: Task, now: datetime) -> int:
    """Return the whole seconds until ``task`` is due (0 if it is due)."""
    if task.not_before is None:
        return 0
    return max(math.ceil((task.not_before - now).total_seconds()), 0)


def send_on(queue: QueuePort, message: ReceivedMessage, task: Task, delay: int) -> bool:
    """Send ``message`` again, unchanged, delayed by ``delay`` seconds (at most 15 minutes).

    Returns:
        Whether the queue accepted it; the caller deletes the received one only then.

    Raises:
        QueueServiceError: the queue failed the call.
    """
    again = OutgoingMessage(
        id=task.id or message.message_id,
        body=message.body,
        delay_seconds=delay,
        group_id=message.group_id,
        attributes=message.attributes,
    )
    return bool(queue.send_batch(message.queue, [again]).sent)
