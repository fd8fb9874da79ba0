"""Middleware: objects that observe every message a worker handles, and the worker itself.

A middleware is any object with some of these methods (subclass `Middleware` for
no-op defaults): ``before_task(task, message)``, ``after_task(task, message,
result)``, ``on_rejected(message, error)``, ``worker_started(worker)`` and
``worker_stopped(worker)`` on the worker's side, and ``before_send(task,
attributes)`` on the producer's side (given to ``App(middleware=...)``). Several
compose like nested ``with`` blocks: ``before_task`` and ``worker_started`` run in
the order given, ``after_task`` and ``worker_stopped`` in reverse order.

A middleware that raises never stops the worker nor loses the message: the error
is logged with its traceback. A ``before_task`` that raises fails the task (its
handler does not run; the message stays for SQS to deliver again) because what it
sets up may be what the handler relies on. Errors in the other methods are
logged and ignored. Uses the ports only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, MutableMapping
from typing import TYPE_CHECKING

from simple_worker.domain.task import Task
from simple_worker.ports.queue import ReceivedMessage
from simple_worker.services.log_fields import message_fields

if TYPE_CHECKING:
    from simple_worker.services.dispatcher import Dispatched

logger = logging.getLogger(__name__)


class Middleware:
    """A base with no-op methods; subclassing it is optional (any object will do).

    Methods are called on the task thread that runs the message (``worker_*`` on
    the thread that starts and stops the worker), so a middleware shared by
    several task threads must be thread-safe.
    """

    def before_task(self, task: Task, message: ReceivedMessage) -> None:
        """Act before the task's executor runs; raising fails the task without running it."""

    def after_task(self, task: Task, message: ReceivedMessage, result: Dispatched) -> None:
        """Act once the task ended: ``result.outcome`` is SUCCEEDED or FAILED."""

    def on_rejected(self, message: ReceivedMessage, error: Exception) -> None:
        """Act on a message that cannot run (``error`` says why); it is not run."""

    def worker_started(self, worker: object) -> None:
        """Act when a worker starts consuming (a `Worker` or a `TestingWorker`)."""

    def worker_stopped(self, worker: object) -> None:
        """Act when a worker has stopped (also after an error ended it)."""

    def before_send(self, task: Task, attributes: MutableMapping[str, str]) -> None:
        """Act before a task is sent; may add message attributes (e.g. trace context).

        Called by the producer, on the thread that calls ``add_task``. SQS allows
        10 attributes per message; simple-worker itself may use one.
        """


class MiddlewareChain:
    """Calls the methods of several middleware in order, logging what they raise."""

    def __init__(self, middleware: Iterable[object] = ()) -> None:
        self.middleware = tuple(middleware)

    def __bool__(self) -> bool:
        return bool(self.middleware)

    def before_task(
        self, task: Task, message: ReceivedMessage
    ) -> tuple[list[object], Exception | None]:
        """Call ``before_task`` in order, up to the first that raises.

        Returns:
            The middleware entered (whose ``after_task`` is due), and the error
            that stopped the chain, if any.
        """
        entered: list[object] = []
        for middleware in self.middleware:
            method = getattr(middleware, "before_task", None)
            if method is not None:
                try:
                    method(task, message)
                except Exception as exc:  # noqa: BLE001 - becomes the task's failure
                    _log_error(middleware, "before_task", message, task, exc)
                    return entered, exc
            entered.append(middleware)
        return entered, None

    def after_task(
        self, entered: list[object], task: Task, message: ReceivedMessage, result: Dispatched
    ) -> None:
        """Call ``after_task`` of the ``entered`` middleware, in reverse order."""
        for middleware in reversed(entered):
            self._call(middleware, "after_task", message, task, task, message, result)

    def on_rejected(self, message: ReceivedMessage, error: Exception) -> None:
        """Call ``on_rejected`` in order."""
        for middleware in self.middleware:
            self._call(middleware, "on_rejected", message, None, message, error)

    def worker_started(self, worker: object) -> None:
        """Call ``worker_started`` in order."""
        for middleware in self.middleware:
            self._call(middleware, "worker_started", None, None, worker)

    def worker_stopped(self, worker: object) -> None:
        """Call ``worker_stopped`` in reverse order."""
        for middleware in reversed(self.middleware):
            self._call(middleware, "worker_stopped", None, None, worker)

    def before_send(self, task: Task) -> dict[str, str]:
        """Call ``before_send`` in order; return the message attributes they set."""
        attributes: dict[str, str] = {}
        for middleware in self.middleware:
            self._call(middleware, "before_send", None, task, task, attributes)
        return attributes

    @staticmethod
    def _call(
        middleware: object,
        name: str,
        message: ReceivedMessage | None,
        task: Task | None,
        *args: object,
    ) -> None:
        method = getattr(middleware, name, None)
        if method is None:
            return
        try:
            method(*args)
        except Exception as exc:  # noqa: BLE001 - an observer's bug must not stop the worker
            _log_error(middleware, name, message, task, exc)


def _log_error(
    middleware: object,
    hook: str,
    message: ReceivedMessage | None,
    task: Task | None,
    error: Exception,
) -> None:
    fields: dict[str, object] = {"middleware": type(middleware).__qualname__, "hook": hook}
    if message is not None:
        fields.update(message_fields(message, task))
    elif task is not None:
        fields.update(task_name=task.name, task_id=task.id)
    fields["error_type"] = type(error).__name__
    logger.error(
        "Middleware %s raised in %s", fields["middleware"], hook, exc_info=error, extra=fields
    )
