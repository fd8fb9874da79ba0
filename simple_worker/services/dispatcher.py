"""Running one received message: decode, look up, check, execute. Uses the ports only.

The real worker and the testing worker both go through `Dispatcher`, so a task
runs the same way in a test as in production. A message that cannot run is
rejected with its reason and never executed.
"""

from __future__ import annotations

import enum
import logging

import attrs

from simple_worker.domain.envelope import decode_envelope
from simple_worker.domain.errors import MessageDecodeError, TaskRefused
from simple_worker.domain.registry import TaskRegistry
from simple_worker.domain.task import Task
from simple_worker.ports.executor import ExecutorFactory
from simple_worker.ports.queue import ReceivedMessage

logger = logging.getLogger(__name__)


class Outcome(enum.Enum):
    """How handling one message ended."""

    SUCCEEDED = "succeeded"
    """The handler returned: delete the message."""
    FAILED = "failed"
    """The handler raised: leave the message for SQS to deliver again."""
    REJECTED = "rejected"
    """The message cannot run (not an envelope, unknown task, payload mismatch)."""


@attrs.frozen
class Dispatched:
    """What became of one message; ``task`` is None when the body did not decode."""

    message: ReceivedMessage
    outcome: Outcome
    task: Task | None = None
    error: Exception | None = None


@attrs.frozen
class Dispatcher:
    """Runs received messages through the registry and an executor."""

    registry: TaskRegistry
    executor_factory: ExecutorFactory

    def dispatch(self, message: ReceivedMessage) -> Dispatched:
        """Run ``message``'s task unless it cannot run; never raises for the message's sake."""
        try:
            task = decode_envelope(message.body)
            registration = self.registry.get(task.name)
            registration.signature.check(task.payload)
        except (MessageDecodeError, TaskRefused) as exc:
            _log_rejection(message, exc)
            return Dispatched(message, Outcome.REJECTED, error=exc)
        try:
            outcome = self.executor_factory(registration.handler).run(task)
        except Exception as exc:
            # The executor's own hooks raised; the task may or may not have run.
            logger.exception(
                "Task executor failed around task %s",
                task.name,
                extra={"task_name": task.name, "task_id": task.id, "queue": message.queue},
            )
            return Dispatched(message, Outcome.FAILED, task, exc)
        if outcome.error is None:
            return Dispatched(message, Outcome.SUCCEEDED, task)
        return Dispatched(message, Outcome.FAILED, task, outcome.error)


def _log_rejection(message: ReceivedMessage, reason: Exception) -> None:
    logger.warning(
        "Rejected message %s from %s (receive %d): %s",
        message.message_id,
        message.queue,
        message.receive_count,
        reason,
        extra={
            "message_id": message.message_id,
            "queue": message.queue,
            "receive_count": message.receive_count,
            "reason": type(reason).__name__,
        },
    )
