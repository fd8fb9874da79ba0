"""The testing worker: runs queued tasks synchronously, inside the calling test.

It drives the same `Dispatcher` as the real worker, so a task runs here exactly as
it would in production (same decoding, signature check and executor), only on the
caller's thread and without waiting for anything.

``async def`` handlers run to their end before the next task, on one event loop
per `TestingWorker.run_all` call (`BlockingRunner`); `TestingWorker.run_all_async`
runs them on the caller's own loop instead, for async tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from simple_worker._large_payloads import payload_cleanup
from simple_worker._log_fields import message_fields
from simple_worker.consumer._deleter import log_failed_delete
from simple_worker.consumer._dispatcher import Dispatcher
from simple_worker.consumer._event_loop import BlockingRunner, CoroutineRunner
from simple_worker.consumer._retry import RetryPolicy
from simple_worker.consumer._settler import Settler
from simple_worker.consumer._visibility import held_visibility, receive_visibility
from simple_worker.domain._errors import ConfigurationError, SendFailed, TooManyTasks
from simple_worker.domain._schedule import Schedule, fill_context
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.middleware import Dispatched, Outcome
from simple_worker.ports.queue import OutgoingMessage, QueueInfo, QueuePort, ReceivedMessage

logger = logging.getLogger(__name__)

DEFAULT_MAX_TASKS = 10_000


@attrs.frozen
class RunReport:
    """What `TestingWorker.run_all` ran, in order."""

    runs: tuple[Dispatched, ...]

    @property
    def succeeded(self) -> list[Dispatched]:
        """Tasks whose handler returned; their messages were deleted."""
        return [run for run in self.runs if run.outcome is Outcome.SUCCEEDED]

    @property
    def failed(self) -> list[Dispatched]:
        """Tasks whose handler raised; their messages stay in the queue, as on SQS."""
        return [run for run in self.runs if run.outcome is Outcome.FAILED]

    @property
    def deferred(self) -> list[Dispatched]:
        """Tasks received before their ``not_before``: sent on to run later, not run."""
        return [run for run in self.runs if run.outcome is Outcome.DEFERRED]

    @property
    def rejected(self) -> list[Dispatched]:
        """Messages that could not run at all; they stay in the queue, as on SQS."""
        return [run for run in self.runs if run.outcome is Outcome.REJECTED]

    def task_names(self) -> list[str]:
        """Names of the tasks that ran (succeeded or failed), in order."""
        return [
            run.task.name
            for run in self.runs
            if run.task and run.outcome in (Outcome.SUCCEEDED, Outcome.FAILED)
        ]


@runtime_checkable
class _Purgeable(Protocol):
    def purge(self, queue: str) -> int: ...


@attrs.define
class TestingWorker:
    """Drains queues synchronously; made by ``App.testing_worker()``."""

    __test__ = False  # not a pytest test class, despite its name

    queue: QueuePort
    queue_names: Sequence[str]
    dispatcher: Dispatcher
    clock: ClockPort
    retry_policy: RetryPolicy | None = None
    schedules: Mapping[str, Schedule] = attrs.field(factory=dict)

    def run_schedule(
        self,
        name: str,
        *,
        scheduled_time: datetime | None = None,
        raise_errors: bool = True,
        max_tasks: int = DEFAULT_MAX_TASKS,
    ) -> RunReport:
        """Fire a declared schedule as EventBridge Scheduler would, then `run_all`.

        The schedule's task is enqueued with the body Scheduler sends: its
        ``task_id`` a new execution id, its ``enqueued_at`` the scheduled time.
        Then every queue of this worker is drained, as by `run_all`, so the
        report holds that task and whatever else was queued or it enqueued. A
        worker made for other queues (``queue_names``) leaves the task queued.

        Args:
            name: the schedule's name (by default its task's name).
            scheduled_time: the firing's time; default: the clock's now.
            raise_errors: as for `run_all`.
            max_tasks: as for `run_all`.

        Raises:
            ConfigurationError: no schedule of that name is declared.
            SendFailed: the queue did not take the task.
        """
        schedule = self.schedules.get(name)
        if schedule is None:
            declared = ", ".join(self.schedules) or "none"
            raise ConfigurationError(
                f"No schedule {name!r} is declared (declared: {declared}); declare it "
                "with app.schedule(...)."
            )
        execution_id = uuid.uuid4().hex[:16]
        body = fill_context(
            schedule.body_template(),
            execution_id=execution_id,
            scheduled_time=scheduled_time or self.clock.now(),
            schedule_arn=f"arn:aws:scheduler:::schedule/testing/{schedule.name}",
        )
        # A FIFO target queue deduplicates Scheduler's messages by their content.
        dedup = hashlib.sha256(body.encode()).hexdigest() if schedule.group_id else None
        message = OutgoingMessage(
            id=execution_id, body=body, group_id=schedule.group_id, deduplication_id=dedup
        )
        result = self.queue.send_batch(schedule.queue, [message])
        if result.failed or result.unknown:
            raise SendFailed(schedule.queue, result.sent, result.failed, result.unknown)
        return self.run_all(raise_errors=raise_errors, max_tasks=max_tasks)

    def run_all(
        self, *, raise_errors: bool = True, max_tasks: int = DEFAULT_MAX_TASKS
    ) -> RunReport:
        """Run queued tasks until every queue is empty, including tasks that tasks enqueue.

        What becomes of each message afterwards is decided as in the real worker
        (see `settle`): a task that fails comes back after the retry policy's delay
        or, without one, after the queue's visibility timeout, so with a
        `FakeClock` a test can advance time and run it again; ``run_all`` itself
        does not wait for it.
        Whatever a handler raises fails its task, `BaseException` included
        (``SystemExit``, ``KeyboardInterrupt``), as on the real worker; a handler
        that returns a coroutine fails with `HandlerReturnedAwaitable`.

        ``async def`` handlers are awaited to their end, one task at a time, on an
        event loop made for this call: in this thread, or on a thread of its own
        when this thread already runs a loop (``run_all()`` called from an async
        test: the test's loop then waits). For a handler that must run on the
        test's own loop, use ``await run_all_async()``.

        Args:
            raise_errors: re-raise the first handler error (or the reason a message
                could not run) at once, so the test fails loudly: the original
                exception, ``SystemExit`` included. With False, carry on and collect
                failures in the report; but a ``KeyboardInterrupt`` is re-raised
                all the same, since on the caller's thread it may be Ctrl-C.
            max_tasks: stop with `TooManyTasks` after this many messages.

        Returns:
            What ran, in order, with each outcome.

        Raises:
            TooManyTasks: more than ``max_tasks`` messages: probably an endless chain.
            BaseException: with ``raise_errors``, the first error a handler raised, or
                the `TaskRefused` / `MessageDecodeError` of a message that cannot run;
                a handler's ``KeyboardInterrupt`` in any case.
        """
        runner = BlockingRunner()
        try:
            return self._run_with(runner, raise_errors, max_tasks)
        finally:
            runner.close()

    async def run_all_async(
        self, *, raise_errors: bool = True, max_tasks: int = DEFAULT_MAX_TASKS
    ) -> RunReport:
        """As `run_all`, for async tests: ``async def`` handlers run on the caller's loop.

        So a handler may use what the test made on its loop (an async client, a
        connection pool). The rest (receiving, sync handlers, settling) runs on a
        thread, so the caller's loop is never blocked; tasks still run one at a time.
        Works under any asyncio test runner (pytest-asyncio, anyio's pytest plugin
        on its asyncio backend, `asyncio.run`).

        Raises:
            The same as `run_all`.
        """
        loop = asyncio.get_running_loop()

        def on_callers_loop(coroutine: Coroutine[Any, Any, Dispatched]) -> Dispatched:
            return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

        return await asyncio.to_thread(self._run_with, on_callers_loop, raise_errors, max_tasks)

    def _run_with(self, runner: CoroutineRunner, raise_errors: bool, max_tasks: int) -> RunReport:
        self.dispatcher.middleware.worker_started(self)
        try:
            return self._run_all(runner, raise_errors, max_tasks)
        finally:
            self.dispatcher.middleware.worker_stopped(self)

    def clear(self) -> int:
        """Delete every message in this worker's queues (and their dead-letter queues).

        For tests that share one `App`: call it first (an autouse fixture does it
        for every test) so that a test starts without another's leftover tasks,
        whether they wait, failed and hide, or sit in a dead-letter queue.

        Returns:
            How many messages were deleted.

        Raises:
            ConfigurationError: the queue cannot be emptied at once (it is not
                testing mode's in-memory queue).
        """
        if not isinstance(self.queue, _Purgeable):
            raise ConfigurationError(
                "clear() empties testing mode's in-memory queues; this worker's queue "
                f"({type(self.queue).__name__}) cannot be purged at once. Use "
                "App(testing_mode=True) in tests."
            )
        cleared = 0
        names = list(self.queue_names)
        for name in list(names):
            dead_letter = self.queue.describe(name).dead_letter_queue
            if dead_letter is not None and dead_letter not in names:
                names.append(dead_letter)
        for name in names:
            cleared += self.queue.purge(name)
        return cleared

    def _run_all(self, runner: CoroutineRunner, raise_errors: bool, max_tasks: int) -> RunReport:
        # As the worker: a queue whose visibility timeout is 0 is received with 30 s.
        described = {name: self.queue.describe(name) for name in self.queue_names}
        asked = {name: receive_visibility(info) for name, info in described.items()}
        infos = {name: held_visibility(info) for name, info in described.items()}
        settler = Settler(self.queue, self.clock, infos, self.retry_policy)
        runs: list[Dispatched] = []
        while True:
            received_any = False
            for queue_name in self.queue_names:
                batch = self.queue.receive_batch(
                    queue_name, wait_seconds=0, visibility_timeout=asked[queue_name]
                )
                if not batch:
                    continue
                received_any = True
                logger.debug(
                    "Received %d message(s) from %s",
                    len(batch),
                    queue_name,
                    extra={"queue": queue_name, "count": len(batch)},
                )
                self._run_batch(
                    batch,
                    runner,
                    settler,
                    infos[queue_name],
                    runs,
                    raise_errors=raise_errors,
                    max_tasks=max_tasks,
                )
            if not received_any:
                return RunReport(tuple(runs))

    def _run_batch(
        self,
        batch: Sequence[ReceivedMessage],
        runner: CoroutineRunner,
        settler: Settler,
        info: QueueInfo,
        runs: list[Dispatched],
        *,
        raise_errors: bool,
        max_tasks: int,
    ) -> None:
        received_at = self.clock.monotonic()
        # On a FIFO queue, a group whose task did not succeed runs nothing more of
        # this batch: its next tasks wait until that one is retried, as on SQS.
        stopped_groups: set[str | None] = set()
        for index, message in enumerate(batch):
            if message.group_id in stopped_groups:
                settler.release([message])
                continue
            try:
                run, stop_group = self._run_one(
                    message,
                    runner,
                    settler,
                    info,
                    received_at=received_at,
                    ran=len(runs),
                    max_tasks=max_tasks,
                )
            except BaseException:
                settler.release(batch[index + 1 :])
                raise
            runs.append(run)
            if stop_group:
                stopped_groups.add(message.group_id)
            # A KeyboardInterrupt on the caller's thread may be Ctrl-C: it always stops.
            if run.error is not None and (raise_errors or isinstance(run.error, KeyboardInterrupt)):
                settler.release(batch[index + 1 :])
                raise run.error

    def _run_one(
        self,
        message: ReceivedMessage,
        runner: CoroutineRunner,
        settler: Settler,
        info: QueueInfo,
        *,
        received_at: float,
        ran: int,
        max_tasks: int,
    ) -> tuple[Dispatched, bool]:
        if ran >= max_tasks:
            settler.release([message])
            raise TooManyTasks(max_tasks)
        held_for = self.clock.monotonic() - received_at
        if 0 < info.visibility_timeout <= held_for:
            # An earlier task of this batch moved the clock past this one's visibility.
            dispatched = Dispatched(message, Outcome.EXPIRED)
        else:
            dispatched = self.dispatcher.dispatch(message, await_with=runner)
        settlement = settler.decide(
            dispatched,
            held_for=held_for,
            keeps_group_order=info.fifo and message.group_id is not None,
        )
        settler.apply(dispatched, settlement, self._delete)
        return dispatched, settlement.stop_group

    def _delete(self, message: ReceivedMessage, with_payload: bool) -> None:
        cleanup = payload_cleanup(message, self.dispatcher.payload_store) if with_payload else None
        failed = self.queue.delete_batch(message.queue, [message.receipt])
        for reason in failed.values():
            log_failed_delete(message.queue, reason, message_fields(message))
        if not failed and cleanup:
            cleanup()
