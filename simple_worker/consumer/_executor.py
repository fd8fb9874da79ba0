"""The default executor: runs a handler inside an overridable context, with hooks.

This is simple-worker 0.2.x's extension point, kept compatible: a subclass that
overrides `context()` (for example to enter a Flask ``app_context()``) or the
``log_start`` / ``success_handler`` / ``failure_handler`` hooks works unchanged.
The default hooks write the task's started (DEBUG) / succeeded / failed log lines; a
subclass that overrides one without calling ``super()`` replaces that line.

Whatever a handler raises fails its task and nothing more, any `BaseException`
included: ``sys.exit()``, ``raise KeyboardInterrupt`` or ``GeneratorExit`` in a
handler is logged and counted like any error, and its message stays for SQS to
deliver again. On a worker's task thread such an exception can only come from the
handler itself (Python delivers signals, hence Ctrl-C, to the main thread), and
letting it through would kill the thread, not the process. A handler that returns
an awaitable instead of running (async code called without being awaited) fails
with `HandlerReturnedAwaitable`.

An ``async def`` handler is awaited by `run_async`, on the worker's event loop,
inside `async_context()`; by default that enters `context()`, so a subclass
written for sync handlers wraps async ones too. The same rule holds there: a
coroutine's ``CancelledError``, ``SystemExit`` or ``KeyboardInterrupt`` fails its
task, and never reaches the event loop (where it would stop every coroutine).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from simple_worker.domain._errors import HandlerReturnedAwaitable
from simple_worker.domain._excerpt import ERROR_BYTES, excerpt
from simple_worker.domain._task import Task
from simple_worker.ports.executor import TaskOutcome

logger = logging.getLogger(__name__)


class TaskExecutor:
    """Runs one handler; subclass it to wrap tasks in your application's context.

    A new executor is made for every task, from the handler alone, so subclasses
    must keep a ``__init__(self, task_handler_fn)`` signature. In the hooks,
    ``task.delivery`` tells which message brought the task (message id, queue,
    receive count) and `duration` how long it has run so far.
    """

    log_payloads = False
    """Add the task's payload to its started and failed log lines (field ``payload``).

    Off by default: payloads may hold personal data. Opt in with a subclass
    (``log_payloads = True``) or ``simple-worker worker --log-payloads``.
    """

    def __init__(self, task_handler_fn: Callable[..., Any]) -> None:
        self.task_handler_fn = task_handler_fn
        self.started_at: float | None = None
        """`time.monotonic` when `run` began; None before."""

    @contextmanager
    def context(self) -> Iterator[None]:
        """Wrap the handler call; override to enter your application's context."""
        yield

    @asynccontextmanager
    async def async_context(self) -> AsyncIterator[None]:
        """Wrap an ``async def`` handler's await; by default, enters `context()` around it.

        Override it for asynchronous set-up (``async with engine.connect(): ...``).
        The default keeps one `context()` open across the handler's awaits, while
        other coroutines run: right for a context kept in context variables (each
        coroutine has its own), wrong for one kept in a thread-local.
        """
        with self.context():
            yield

    def run(self, task: Task) -> TaskOutcome:
        """Call the handler with the task's payload inside `context()`.

        Returns:
            The outcome: ``error`` is what the handler (or the context) raised, any
            `BaseException` included, after `failure_handler` saw it; or a
            `HandlerReturnedAwaitable` when the handler returned an awaitable (a
            coroutine is closed, never run). None after `success_handler`.
        """
        self.started_at = time.monotonic()
        try:
            self.log_start(task)
            with self.context():
                _refuse_awaitable(task, self.task_handler_fn(**task.payload))
        except BaseException as exc:  # noqa: BLE001 - whatever a handler raises fails its task only
            self.failure_handler(task, exc)
            return TaskOutcome(error=exc)
        self.success_handler(task)
        return TaskOutcome()

    async def run_async(self, task: Task) -> TaskOutcome:
        """Await an ``async def`` handler with the task's payload inside `async_context()`.

        The same hooks as `run`, called on the event loop's thread. Returns:
            The outcome, as `run` does: ``error`` is whatever the handler (or the
            context) raised, any `BaseException` included.
        """
        self.started_at = time.monotonic()
        try:
            self.log_start(task)
            async with self.async_context():
                await self.task_handler_fn(**task.payload)
        except GeneratorExit:  # the coroutine itself is being closed (its loop is going away)
            raise
        except BaseException as exc:  # noqa: BLE001 - whatever a handler raises fails its task only
            self.failure_handler(task, exc)
            return TaskOutcome(error=exc)
        self.success_handler(task)
        return TaskOutcome()

    def execute(self, task: Task) -> bool:
        """Run the task; return whether it succeeded (the 0.2.x interface)."""
        return self.run(task).succeeded

    def duration(self) -> float:
        """Return the seconds since `run` began (0.0 before it began)."""
        if self.started_at is None:
            return 0.0
        return time.monotonic() - self.started_at

    def log_start(self, task: Task) -> None:
        """Log the task's start at DEBUG; called before the handler. Override to act before a task.

        DEBUG, not INFO: at INFO a task is one line, its outcome's, which names it
        with its duration; a line per start would double the cost of logging.
        """
        if logger.isEnabledFor(logging.DEBUG):  # spares building the fields on the hot path
            logger.debug("Processing task %s", task.name, extra=self._fields(task))

    def success_handler(self, task: Task) -> None:
        """Log success; called after the handler returned. Override to change that."""
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "Processed task %s successfully",
                task.name,
                extra={
                    **task_log_fields(task),
                    "outcome": "succeeded",
                    "duration": self.duration(),
                },
            )

    def failure_handler(self, task: Task, exc: BaseException) -> None:
        """Log the traceback (not the payload); called after the handler raised.

        ``exc`` may be any `BaseException` (``SystemExit`` from a handler that called
        ``sys.exit()``); an override annotated ``exc: Exception`` (0.2.x) still runs.
        """
        logger.error(
            "Failed to process task %s: %s",
            task.name,
            describe_error(exc),
            exc_info=exc,
            extra={
                **self._fields(task),
                "outcome": "failed",
                "duration": self.duration(),
                "error_type": type(exc).__name__,
            },
        )

    def _fields(self, task: Task) -> dict[str, object]:
        fields = task_log_fields(task)
        if self.log_payloads:
            fields["payload"] = dict(task.payload)
        return fields


def _refuse_awaitable(task: Task, result: object) -> None:
    """Fail a task whose handler returned async code instead of running it."""
    if inspect.isasyncgen(result):
        returned = f"an async generator ({getattr(result, '__qualname__', '?')})"
    elif inspect.iscoroutine(result):
        result.close()  # unawaited on purpose: closing it spares the RuntimeWarning
        returned = f"a coroutine ({result.__qualname__})"
    elif inspect.isawaitable(result):
        returned = f"an awaitable ({type(result).__qualname__})"
    else:
        return
    raise HandlerReturnedAwaitable(task.name, returned)


def describe_error(exc: BaseException) -> str:
    """Return ``Type: message`` (``Type`` alone when there is no message), on one line.

    The message is what the traceback shows too; it is cut to a bounded size, so
    that a handler's huge exception text cannot make the line itself huge.
    """
    message = str(exc)
    if not message:
        return type(exc).__name__
    return f"{type(exc).__name__}: {excerpt(message, ERROR_BYTES)}"


def task_log_fields(task: Task) -> dict[str, object]:
    """Return a task's stable log fields: name, id and, once received, its delivery's."""
    fields: dict[str, object] = {"task_name": task.name, "task_id": task.id}
    if task.delivery is not None:
        fields.update(
            message_id=task.delivery.message_id,
            queue=task.delivery.queue,
            receive_count=task.delivery.receive_count,
        )
    return fields
