"""Applying settlements: the one place that acts on `settle`'s decisions. Uses the ports only.

Runners differ only in how a message is deleted (the threaded worker batches
deletes, the testing worker deletes at once), which they pass in; the rest
(visibility changes, sending deferred tasks on, and the log lines that say what
happens next) is the same for all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from simple_worker._log_fields import message_fields
from simple_worker.consumer._deferral import send_on
from simple_worker.consumer._retry import RetryPolicy
from simple_worker.consumer._settle import Action, Settlement, settle
from simple_worker.domain._errors import SimpleWorkerError
from simple_worker.domain._task import Task
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.middleware import Dispatched, Outcome
from simple_worker.ports.queue import QueueInfo, QueuePort, ReceivedMessage, VisibilityChange

logger = logging.getLogger(__name__)

Delete = Callable[[ReceivedMessage, bool], None]
"""Deletes a message; the flag says whether its large payload's object goes too."""


class Settler:
    """Settles dispatched messages: decides with `settle`, then acts on it. Thread-safe.

    Args:
        queue: the queue the messages came from.
        clock: the time a deferred task's wait is counted from.
        infos: the configuration of every queue consumed, by name.
        retry_policy: sets a failed task's visibility from its receive count.
    """

    def __init__(
        self,
        queue: QueuePort,
        clock: ClockPort,
        infos: Mapping[str, QueueInfo],
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._queue = queue
        self._clock = clock
        self._infos = infos
        self._retry_policy = retry_policy

    def decide(
        self, dispatched: Dispatched, *, held_for: float = 0.0, keeps_group_order: bool = False
    ) -> Settlement:
        """Return what becomes of a dispatched message (see `settle`)."""
        message = dispatched.message
        return settle(
            dispatched.outcome,
            queue=self._infos[message.queue],
            receive_count=message.receive_count,
            now=self._clock.now(),
            held_for=held_for,
            task=dispatched.task,
            retry_policy=self._retry_policy,
            keeps_group_order=keeps_group_order,
        )

    def apply(self, dispatched: Dispatched, settlement: Settlement, delete: Delete) -> None:
        """Do what ``settlement`` says, deleting with this runner's ``delete``; log what follows."""
        message, task = dispatched.message, dispatched.task
        if settlement.action is Action.DELETE:
            delete(message, True)
        elif settlement.action is Action.HIDE:
            self.change_visibility(
                message.queue, [VisibilityChange(message.receipt, settlement.visibility)]
            )
        elif settlement.action is Action.SEND_ON and task is not None:
            self._send_on(message, task, settlement, delete)
        if dispatched.outcome is Outcome.EXPIRED:
            logger.warning(
                "Message %s from %s waited past its visibility timeout (its extensions failed): "
                "not run; SQS delivers it again",
                message.message_id,
                message.queue,
                extra={**message_fields(message), "outcome": "expired"},
            )
        elif dispatched.outcome is Outcome.FAILED:
            _log_retry(message, task, settlement, self._infos[message.queue].max_receive_count)

    def _send_on(
        self, message: ReceivedMessage, task: Task, settlement: Settlement, delete: Delete
    ) -> None:
        try:
            sent = send_on(self._queue, message, task, settlement.delay)
        except SimpleWorkerError as exc:
            sent = False
            logger.warning("Could not send on task %s: %s", task.name, exc)
        if sent:
            logger.info(
                "Task %s is due in %d s: sent on",
                task.name,
                settlement.visibility,
                extra={"task_name": task.name, "task_id": task.id, "queue": message.queue},
            )
            # The copy carries the same pointer: its large payload stays.
            delete(message, False)
        else:
            # Held back instead; SQS counts one more receive.
            self.change_visibility(
                message.queue, [VisibilityChange(message.receipt, settlement.visibility)]
            )

    def release(self, messages: Sequence[ReceivedMessage]) -> None:
        """Make received messages that did not start visible again at once."""
        by_queue: dict[str, list[VisibilityChange]] = {}
        for message in messages:
            by_queue.setdefault(message.queue, []).append(VisibilityChange(message.receipt, 0))
        for queue_name, changes in by_queue.items():
            self.change_visibility(queue_name, changes)
            logger.info(
                "Released %d received message(s) that had not started",
                len(changes),
                extra={"queue": queue_name, "count": len(changes)},
            )

    def change_visibility(self, queue_name: str, changes: list[VisibilityChange]) -> dict[str, str]:
        """Change visibilities; log and return the failures (receipt: reason)."""
        try:
            failed = self._queue.change_visibility_batch(queue_name, changes)
        except SimpleWorkerError as exc:
            failed = {change.receipt: str(exc) for change in changes}
        for receipt, reason in failed.items():
            logger.warning(
                "Could not change a message's visibility on %s: %s",
                queue_name,
                reason,
                extra={"queue": queue_name, "receipt": receipt[:32]},
            )
        return failed


def _log_retry(
    message: ReceivedMessage, task: Task | None, settlement: Settlement, last: int | None
) -> None:
    """Say when a failed task comes back, or that SQS dead-letters it next."""
    retry_in = settlement.returns_in or 0
    fields = {**message_fields(message, task), "retry_in": retry_in}
    name = task.name if task is not None else f"of message {message.message_id}"
    if settlement.dead_letter_queue is not None:
        logger.warning(
            "Task %s failed on its last allowed receive (%d of %d): SQS moves it to %s "
            "when it turns visible again, in %d s",
            name,
            message.receive_count,
            last,
            settlement.dead_letter_queue,
            retry_in,
            extra={**fields, "dead_letter_queue": settlement.dead_letter_queue},
        )
    else:
        logger.info("Task %s will run again in %d s", name, retry_in, extra=fields)
