"""Running one received message: decode, look up, check, execute. Uses the ports only.

The real worker and the testing worker both go through `Dispatcher`, so a task
runs the same way in a test as in production, middleware included. A message
that cannot run is rejected with its reason and never executed.

Log lines: a rejection is one WARNING here, its reason cut to a bounded size
(`excerpt`) whatever the message held; a task's start, success and failure are
logged by the executor's hooks (`TaskExecutor`), which see the same fields.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

import attrs

from simple_worker._large_payloads import log_unavailable_payload, resolve_body
from simple_worker._log_fields import message_fields
from simple_worker._middleware import MiddlewareChain
from simple_worker.consumer._current import running
from simple_worker.consumer._deferral import check_due_time, is_early
from simple_worker.consumer._event_loop import CancelTask, CoroutineRunner, run_to_end
from simple_worker.consumer._time_limits import TimeLimits
from simple_worker.domain._envelope import decode_envelope
from simple_worker.domain._errors import (
    ConfigurationError,
    MessageDecodeError,
    PayloadStoreError,
    TaskRefused,
)
from simple_worker.domain._excerpt import ERROR_BYTES, excerpt
from simple_worker.domain._interrupts import TaskTimeLimitExceeded
from simple_worker.domain._registry import TaskRegistry
from simple_worker.domain._task import Delivery, Task
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.executor import (
    AsyncExecutorPort,
    ExecutorFactory,
    ExecutorPort,
    TaskOutcome,
)
from simple_worker.ports.middleware import Dispatched, Middleware, Outcome
from simple_worker.ports.payload_store import PayloadStorePort
from simple_worker.ports.queue import ReceivedMessage

logger = logging.getLogger(__name__)


@attrs.frozen
class Dispatcher:
    """Runs received messages through the registry, the middleware and an executor."""

    registry: TaskRegistry
    executor_factory: ExecutorFactory
    middleware: MiddlewareChain = attrs.field(factory=MiddlewareChain)
    clock: ClockPort | None = None
    payload_store: PayloadStorePort | None = None
    """Where large tasks' bodies are read from; without one, such a message is rejected."""
    time_limits: TimeLimits | None = None
    """Watches running tasks' time limits; without it, tasks have none."""

    def dispatch(
        self, message: ReceivedMessage, *, await_with: CoroutineRunner | None = None
    ) -> Dispatched:
        """Run ``message``'s task unless it cannot run; never raises for the message's sake.

        An ``async def`` handler's task is run by ``await_with`` (a function that
        runs a coroutine to its end and returns its result); by default on an event
        loop of its own (see `run_to_end`).
        """
        admitted = self.admit(message)
        if isinstance(admitted, Dispatched):
            return admitted
        if admitted.is_async:
            return (await_with or run_to_end)(self.run_async(admitted))
        return self.run(admitted)

    def admit(self, message: ReceivedMessage) -> Admitted | Dispatched:
        """Decode ``message`` and check that its task can run now; never raises for its sake.

        Returns:
            The task to run (`run` or `run_async` runs it), or what became of a
            message that cannot run (rejected), is not due yet (deferred) or whose
            large payload could not be read (failed).
        """
        task: Task | None = None
        try:
            # ``message`` itself stays as received: a pointer is sent on as it is.
            body = resolve_body(message, self.payload_store)
            task = attrs.evolve(
                decode_envelope(body),
                delivery=Delivery(message.message_id, message.queue, message.receive_count),
            )
            # Checked before a task is sent on: a message that cannot run must reach
            # the dead-letter queue, not travel on every 15 minutes until its time.
            registration = self.registry.get(task.name)
            registration.signature.check(task.payload)
            if self.clock is not None:
                now = self.clock.now()
                check_due_time(task, now)
                if is_early(task, now):
                    return Dispatched(message, Outcome.DEFERRED, task)
        except (MessageDecodeError, TaskRefused) as exc:
            _log_rejection(message, task, exc)
            self.middleware.on_rejected(message, exc)
            return Dispatched(message, Outcome.REJECTED, task, exc)
        except PayloadStoreError as exc:
            log_unavailable_payload(message, exc)
            return Dispatched(message, Outcome.FAILED, None, exc)
        return Admitted(
            message, task, registration.handler, registration.is_async, registration.time_limit
        )

    def run(self, admitted: Admitted) -> Dispatched:
        """Run an admitted task's sync handler: middleware, executor, middleware."""
        started, entered, error = self._begin(admitted)
        if error is None:
            error = self._execute(admitted)
        return self._end(admitted, started, entered, error)

    async def run_async(self, admitted: Admitted) -> Dispatched:
        """Await an admitted task's ``async def`` handler; as `run`, on an event loop.

        The middleware's hooks are called on the loop's thread, in the coroutine's
        own context (so context variables they set stay with this task). Past its
        time limit, where the worker enforces limits, the handler's coroutine is
        cancelled (`CancelTask`).
        """
        started, entered, error = self._begin(admitted)
        if error is None:
            error = await self._execute_async(admitted)
        return self._end(admitted, started, entered, error)

    def _begin(
        self, admitted: Admitted
    ) -> tuple[float | None, list[Middleware], BaseException | None]:
        task, message = admitted.task, admitted.message
        started = self.clock.monotonic() if self.clock is not None else None
        entered, error = self.middleware.before_task(task, message)
        if error is not None:
            logger.error(
                "Task %s not run: a middleware's before_task raised %s",
                task.name,
                type(error).__name__,
                extra={
                    **message_fields(message, task),
                    "outcome": "failed",
                    "error_type": type(error).__name__,
                },
            )
        return started, entered, error

    def _end(
        self,
        admitted: Admitted,
        started: float | None,
        entered: list[Middleware],
        error: BaseException | None,
    ) -> Dispatched:
        outcome = Outcome.SUCCEEDED if error is None else Outcome.FAILED
        duration = None
        if started is not None and self.clock is not None:
            duration = self.clock.monotonic() - started
        result = Dispatched(admitted.message, outcome, admitted.task, error, duration)
        self.middleware.after_task(entered, admitted.task, admitted.message, result)
        return result

    def _execute(self, admitted: Admitted) -> BaseException | None:
        watched = self._watched(admitted)
        if watched is None:
            return self._run_handler(admitted)
        limits, limit = watched
        watch = limits.start(admitted.task.name, admitted.message.receipt, limit)
        error = self._run_handler(admitted)
        while True:  # an interrupt sent as the handler returned may land here: see `finish`
            try:
                return limits.finish(watch, error)
            except TaskTimeLimitExceeded as late:
                error = error or late

    def _run_handler(self, admitted: Admitted) -> BaseException | None:
        try:
            with running(admitted.task):
                return self.executor_factory(admitted.handler).run(admitted.task).error
        except BaseException as exc:  # noqa: BLE001 - user code's error, whatever it is, fails its task only
            # The executor's own hooks raised, or an executor let the handler's error
            # through; the task may or may not have run.
            _log_executor_error(admitted, exc)
            return exc

    async def _execute_async(self, admitted: Admitted) -> BaseException | None:
        watched, watch = self._watched(admitted), None
        # Only a task the watchdog may cancel needs its handler guarded and in a task
        # of its own: a task without a limit is awaited as it is.
        interrupt = CancelTask() if watched is not None and watched[0].interrupts else None
        handler = admitted.handler if interrupt is None else interrupt.guard(admitted.handler)
        try:
            with running(admitted.task):
                executor = _async_executor(admitted, self.executor_factory(handler))
                run: Awaitable[TaskOutcome] = executor.run_async(admitted.task)
                if interrupt is not None:
                    # Made in this context (current_task() is this task's), so that
                    # the watchdog cancels the handler alone.
                    run = asyncio.ensure_future(run)
                    interrupt.attach(run)
                if watched is not None:
                    limits, limit = watched
                    watch = limits.start(
                        admitted.task.name, admitted.message.receipt, limit, interrupt
                    )
                error = (await run).error
        except GeneratorExit:  # the coroutine itself is being closed: it must not go on
            raise
        except BaseException as exc:  # noqa: BLE001 - as in _execute; the loop must never see it
            _log_executor_error(admitted, exc)
            error = exc
        if watched is None or watch is None:
            return error
        return watched[0].finish(watch, error)

    def _watched(self, admitted: Admitted) -> tuple[TimeLimits, float | None] | None:
        """Return the time limits watching this task and its limit; None if none does."""
        limits = self.time_limits
        if limits is None:
            return None
        limit = limits.limit_of(admitted.time_limit)
        if limit is None and limits.hard_limit is None:
            return None
        return limits, limit


@attrs.frozen
class Admitted:
    """A message whose task may run: decoded, its handler found, its payload checked."""

    message: ReceivedMessage
    task: Task
    handler: Callable[..., Any]
    is_async: bool
    """Whether the handler is an ``async def`` (run it with `Dispatcher.run_async`)."""
    time_limit: float | None = None
    """The task's own time limit in seconds, if it was registered with one."""


def _async_executor(admitted: Admitted, executor: ExecutorPort) -> AsyncExecutorPort:
    """Return ``executor`` if it can await a handler.

    Raises:
        ConfigurationError: it has no ``run_async`` method.
    """
    if not callable(getattr(executor, "run_async", None)):
        raise ConfigurationError(
            f"Task {admitted.task.name!r} has an async def handler, but its executor "
            f"({type(executor).__qualname__}) has no run_async method. Subclass "
            "TaskExecutor, or give the executor an 'async def run_async(task)'."
        )
    return cast("AsyncExecutorPort", executor)


def _log_executor_error(admitted: Admitted, exc: BaseException) -> None:
    logger.error(
        "Task executor failed around task %s",
        admitted.task.name,
        exc_info=exc,
        extra={
            **message_fields(admitted.message, admitted.task),
            "outcome": "failed",
            "error_type": type(exc).__name__,
        },
    )


def _log_rejection(message: ReceivedMessage, task: Task | None, reason: Exception) -> None:
    logger.warning(
        "Rejected message %s from %s (receive %d): %s",
        message.message_id,
        message.queue,
        message.receive_count,
        excerpt(str(reason), ERROR_BYTES),
        extra={
            **message_fields(message, task),
            "outcome": "rejected",
            "error_type": type(reason).__name__,
            "reason": type(reason).__name__,
        },
    )
