"""Settlement: what becomes of a message once its outcome is known. Pure: no I/O, no clock.

Every way of running tasks (the threaded worker, the testing worker, and any
later runner) asks `settle` and applies the `Settlement` it returns; none decides
on its own. The rules, in one place:

- a task that succeeded is deleted;
- a task that failed comes back after the retry policy's delay, or, without a
  policy, after the queue's visibility timeout (the message is left alone);
- a message that cannot run is released at once towards the dead-letter queue,
  or, where the queue has none, hidden for a backoff that doubles per receive
  (so that it costs little while someone fixes the producer);
- a task received before its ``not_before`` is sent on with the rest of its wait
  and deleted; if the send fails, the message is hidden for that wait instead;
- a message that waited past its visibility before it could start is left alone:
  SQS may have handed it to another worker already;
- on a FIFO queue, anything but a success stops the message's group: its buffered
  successors are released, so that SQS delivers them again after this one.

Every visibility is capped where SQS would refuse it: 12 hours from the receive.
"""

from __future__ import annotations

import enum
import math
from datetime import datetime

import attrs

from simple_worker.consumer._deferral import seconds_left
from simple_worker.consumer._retry import RetryPolicy
from simple_worker.domain._options import MAX_DELAY_SECONDS
from simple_worker.domain._task import Task
from simple_worker.ports.middleware import Outcome
from simple_worker.ports.queue import MAX_VISIBILITY_TIMEOUT, QueueInfo

VISIBILITY_MARGIN = 10
"""Seconds kept below SQS's 12-hour cap, for the time a call takes to arrive."""
MAX_BACKOFF_DOUBLINGS = 16


class Action(enum.Enum):
    """What a runner does with a message once its outcome is known."""

    DELETE = "delete"
    """Delete the message: its task is done."""
    HIDE = "hide"
    """Set the message's visibility to `Settlement.visibility` seconds; 0 releases it now."""
    LEAVE = "leave"
    """Touch nothing: the message returns when its visibility runs out."""
    SEND_ON = "send_on"
    """Send the same message again, delayed by `Settlement.delay`, then delete this one.

    If the send fails, hide this one for `Settlement.visibility` seconds instead.
    """


@attrs.frozen
class Settlement:
    """The decision for one message, and what it means for the log."""

    action: Action
    visibility: int = 0
    """For HIDE, the seconds to hide it; for SEND_ON, the same if the send fails."""
    delay: int = 0
    """For SEND_ON, the seconds the copy waits in the queue."""
    stop_group: bool = False
    """The message keeps a FIFO group's order: release the rest of its group."""
    returns_in: int | None = None
    """Seconds until a failed or refused message can be received again."""
    dead_letter_queue: str | None = None
    """Set when this was the message's last allowed receive: where SQS moves it next."""


def settle(
    outcome: Outcome,
    *,
    queue: QueueInfo,
    receive_count: int,
    now: datetime,
    held_for: float = 0.0,
    task: Task | None = None,
    retry_policy: RetryPolicy | None = None,
    keeps_group_order: bool = False,
) -> Settlement:
    """Decide what becomes of a message after ``outcome``.

    Args:
        outcome: how handling the message ended.
        queue: the configuration of the queue it came from.
        receive_count: how many times it has been received, this time included.
        now: the current time (a deferred task's wait is counted from it).
        held_for: seconds since this receive (SQS caps visibility 12 hours after it).
        task: the decoded task, if the body decoded.
        retry_policy: sets a failed task's visibility from its receive count.
        keeps_group_order: the message is on a FIFO queue and has a group id.
    """
    stop_group = keeps_group_order and outcome is not Outcome.SUCCEEDED
    cap = max(MAX_VISIBILITY_TIMEOUT - math.ceil(held_for) - VISIBILITY_MARGIN, 0)
    if outcome is Outcome.SUCCEEDED:
        return Settlement(Action.DELETE)
    if outcome is Outcome.DEFERRED and task is not None:
        wait = seconds_left(task, now)
        return Settlement(
            Action.SEND_ON,
            visibility=min(wait, cap),
            delay=min(wait, MAX_DELAY_SECONDS),
            stop_group=stop_group,
        )
    if outcome is Outcome.EXPIRED:
        return Settlement(Action.LEAVE, stop_group=stop_group)
    last = queue.max_receive_count is not None and receive_count >= queue.max_receive_count
    dead_letter_queue = queue.dead_letter_queue if last else None
    if outcome is Outcome.FAILED:
        if retry_policy is None:
            return Settlement(
                Action.LEAVE,
                stop_group=stop_group,
                returns_in=queue.visibility_timeout,
                dead_letter_queue=dead_letter_queue,
            )
        delay = min(retry_policy.delay(receive_count), cap)
        return Settlement(
            Action.HIDE,
            visibility=delay,
            stop_group=stop_group,
            returns_in=delay,
            dead_letter_queue=dead_letter_queue,
        )
    # REJECTED (and a DEFERRED message without a task, which cannot happen).
    backoff = 0 if queue.dead_letter_queue is not None else rejection_backoff(queue, receive_count)
    backoff = min(backoff, cap)
    return Settlement(
        Action.HIDE,
        visibility=backoff,
        stop_group=stop_group,
        returns_in=backoff,
        dead_letter_queue=dead_letter_queue,
    )


def rejection_backoff(queue: QueueInfo, receive_count: int) -> int:
    """Return how long a message that cannot run hides on a queue without a dead-letter queue.

    The queue's visibility timeout (at least 1 s), doubled per receive, up to 12 hours.
    """
    doublings = min(max(receive_count, 1), MAX_BACKOFF_DOUBLINGS)
    return min(max(queue.visibility_timeout, 1) << doublings, MAX_VISIBILITY_TIMEOUT)
