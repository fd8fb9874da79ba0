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

import difflib
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from simple_worker._log_fields import message_fields
from simple_worker.domain._errors import ConfigurationError
from simple_worker.domain._task import Task
from simple_worker.ports.middleware import HOOKS, Middleware
from simple_worker.ports.queue import ReceivedMessage

if TYPE_CHECKING:
    from simple_worker.ports.middleware import Dispatched

logger = logging.getLogger(__name__)


class MiddlewareChain:
    """Calls the methods of several middleware in order, logging what they raise.

    Raises:
        ConfigurationError: a middleware has a method named like a hook but
            misspelt (``after_tasks``), which would never be called.
    """

    def __init__(self, middleware: Iterable[Middleware] = ()) -> None:
        self.middleware: tuple[Middleware, ...] = tuple(middleware)
        for each in self.middleware:
            _refuse_misspelt_hooks(each)

    def __bool__(self) -> bool:
        return bool(self.middleware)

    def before_task(
        self, task: Task, message: ReceivedMessage
    ) -> tuple[list[Middleware], BaseException | None]:
        """Call ``before_task`` in order, up to the first that raises.

        Returns:
            The middleware entered (whose ``after_task`` is due), and the error
            that stopped the chain, if any.
        """
        entered: list[Middleware] = []
        for middleware in self.middleware:
            method = getattr(middleware, "before_task", None)
            if method is not None:
                try:
                    method(task, message)
                except BaseException as exc:  # noqa: BLE001 - any error becomes the task's failure
                    _log_error(middleware, "before_task", message, task, exc)
                    return entered, exc
            entered.append(middleware)
        return entered, None

    def after_task(
        self, entered: list[Middleware], task: Task, message: ReceivedMessage, result: Dispatched
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
        except BaseException as exc:  # noqa: BLE001 - an observer's error must not stop the worker
            _log_error(middleware, name, message, task, exc)


def _refuse_misspelt_hooks(middleware: object) -> None:
    for name in dir(middleware):
        if name.startswith("_") or name in HOOKS or not callable(getattr(middleware, name, None)):
            continue
        close = difflib.get_close_matches(name, HOOKS, n=1, cutoff=0.8)
        if close:
            raise ConfigurationError(
                f"Middleware {type(middleware).__qualname__} has a method {name!r}, which is "
                f"no hook and would never be called: did you mean {close[0]!r}? The hooks "
                f"are {', '.join(sorted(HOOKS))}."
            )


def _log_error(
    middleware: object,
    hook: str,
    message: ReceivedMessage | None,
    task: Task | None,
    error: BaseException,
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
