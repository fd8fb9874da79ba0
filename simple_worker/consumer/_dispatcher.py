"""Running one received message: decode, look up, check, execute. Uses the ports only.

The real worker and the testing worker both go through `Dispatcher`, so a task
runs the same way in a test as in production, middleware included. A message
that cannot run is rejected with its reason and never executed.

Log lines: a rejection is one WARNING here, its reason cut to a bounded size
(`excerpt`) whatever the message held; a task's start, success and failure are
logged by the executor's hooks (`TaskExecutor`), which see the same fields.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import attrs

from simple_worker._large_payloads import log_unavailable_payload, resolve_body
from simple_worker._log_fields import message_fields
from simple_worker._middleware import MiddlewareChain
from simple_worker.consumer._current import running
from simple_worker.consumer._deferral import check_due_time, is_early
from simple_worker.consumer._time_limits import TimeLimits
from simple_worker.domain._envelope import decode_envelope
from simple_worker.domain._errors import MessageDecodeError, PayloadStoreError, TaskRefused
from simple_worker.domain._excerpt import ERROR_BYTES, excerpt
from simple_worker.domain._interrupts import TaskTimeLimitExceeded
from simple_worker.domain._registry import TaskRegistry
from simple_worker.domain._task import Delivery, Task
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.executor import ExecutorFactory
from simple_worker.ports.middleware import Dispatched, Outcome
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

    def dispatch(self, message: ReceivedMessage) -> Dispatched:
        """Run ``message``'s task unless it cannot run; never raises for the message's sake."""
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
        started = self.clock.monotonic() if self.clock is not None else None
        error: BaseException | None
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
        else:
            error = self._execute(registration.handler, task, message, registration.time_limit)
        outcome = Outcome.SUCCEEDED if error is None else Outcome.FAILED
        duration = None
        if started is not None and self.clock is not None:
            duration = self.clock.monotonic() - started
        result = Dispatched(message, outcome, task, error, duration)
        self.middleware.after_task(entered, task, message, result)
        return result

    def _execute(
        self,
        handler: Callable[..., Any],
        task: Task,
        message: ReceivedMessage,
        own_limit: float | None,
    ) -> BaseException | None:
        limits = self.time_limits
        limit = None if limits is None else limits.limit_of(own_limit)
        if limits is None or (limit is None and limits.hard_limit is None):
            return self._run(handler, task, message)  # nothing to watch
        watch = limits.start(task.name, message.receipt, limit)
        error = self._run(handler, task, message)
        while True:  # an interrupt sent as the handler returned may land here: see `finish`
            try:
                return limits.finish(watch, error)
            except TaskTimeLimitExceeded as late:
                error = error or late

    def _run(
        self, handler: Callable[..., Any], task: Task, message: ReceivedMessage
    ) -> BaseException | None:
        try:
            with running(task):
                return self.executor_factory(handler).run(task).error
        except BaseException as exc:  # user code's error, whatever it is, fails its task only
            # The executor's own hooks raised, or an executor let the handler's error
            # through; the task may or may not have run.
            logger.exception(
                "Task executor failed around task %s",
                task.name,
                extra={
                    **message_fields(message, task),
                    "outcome": "failed",
                    "error_type": type(exc).__name__,
                },
            )
            return exc


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
