"""The middleware port: what observes every message a worker handles, and the outcome type.

`Middleware` is a Protocol: any object with all its methods is one, and a
class that subclasses it explicitly inherits a no-op for each method it does not
write. `App(middleware=...)` refuses an object with a method whose name is one
letter away from a hook's (a misspelt hook that would never run).
"""

from __future__ import annotations

import enum
from collections.abc import MutableMapping
from typing import Protocol

import attrs

from simple_worker.domain._task import Task
from simple_worker.ports.queue import ReceivedMessage

__all__ = ["HOOKS", "Dispatched", "Middleware", "Outcome"]


class Outcome(enum.Enum):
    """How handling one message ended."""

    SUCCEEDED = "succeeded"
    """The handler returned: delete the message."""
    FAILED = "failed"
    """The handler raised (any `BaseException`): leave the message for SQS to deliver again."""
    REJECTED = "rejected"
    """The message cannot run (not an envelope, unknown task, payload mismatch)."""
    DEFERRED = "deferred"
    """The task is not due yet (``not_before``): send it on and delete this message."""
    EXPIRED = "expired"
    """The message waited past its visibility before it could start: not run, left to SQS."""


@attrs.frozen
class Dispatched:
    """What became of one message; ``task`` is None when the body did not decode.

    ``error`` is why it failed or was rejected: for a failure, whatever the handler
    raised, which may be any `BaseException` (``SystemExit``, ``KeyboardInterrupt``).
    ``duration`` is the seconds the task took, middleware and hooks included; None
    for a rejected message or when the dispatcher has no clock.
    """

    message: ReceivedMessage
    outcome: Outcome
    task: Task | None = None
    error: BaseException | None = None
    duration: float | None = None


class Middleware(Protocol):
    """Observes messages and workers; subclass it for a no-op in each hook you do not write.

    Methods are called on the task thread that runs the message (for an
    ``async def`` handler, on the event loop's thread, inside the task's
    coroutine; ``worker_*`` on the thread that starts and stops the worker), so a
    middleware shared by several task threads must be thread-safe. See the
    README's "Middleware".
    """

    def before_task(self, task: Task, message: ReceivedMessage) -> None:
        """Act before the task's executor runs; raising fails the task without running it."""
        return

    def after_task(self, task: Task, message: ReceivedMessage, result: Dispatched) -> None:
        """Act once the task ended: ``result.outcome`` is SUCCEEDED or FAILED."""
        return

    def on_rejected(self, message: ReceivedMessage, error: Exception) -> None:
        """Act on a message that cannot run (``error`` says why); it is not run."""
        return

    def worker_started(self, worker: object) -> None:
        """Act when a worker starts consuming (a `Worker` or a `TestingWorker`)."""
        return

    def worker_stopped(self, worker: object) -> None:
        """Act when a worker has stopped (also after an error ended it)."""
        return

    def before_send(self, task: Task, attributes: MutableMapping[str, str]) -> None:
        """Act before a task is sent; may add message attributes (e.g. trace context).

        Called by the producer, on the thread that calls ``add_task``. SQS allows
        10 attributes per message; simple-worker itself may use one.
        """
        return


HOOKS = frozenset(
    ("before_task", "after_task", "on_rejected", "worker_started", "worker_stopped", "before_send")
)
"""The names of `Middleware`'s methods."""
