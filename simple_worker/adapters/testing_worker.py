"""The testing worker: runs queued tasks synchronously, inside the calling test.

It drives the same `Dispatcher` as the real worker, so a task runs here exactly as
it would in production (same decoding, signature check and executor), only on the
caller's thread and without waiting for anything.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import attrs

from simple_worker.adapters.system_clock import SystemClock
from simple_worker.domain.errors import TooManyTasks
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.queue import QueuePort, ReceivedMessage, VisibilityChange
from simple_worker.services.deferral import send_on
from simple_worker.services.dispatcher import Dispatched, Dispatcher, Outcome
from simple_worker.services.offload import payload_cleanup

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


@attrs.define
class TestingWorker:
    """Drains queues synchronously; made by ``App.testing_worker()``."""

    __test__ = False  # not a pytest test class, despite its name

    queue: QueuePort
    queue_names: Sequence[str]
    dispatcher: Dispatcher
    clock: ClockPort = attrs.field(factory=SystemClock)

    def run_all(
        self, *, raise_errors: bool = True, max_tasks: int = DEFAULT_MAX_TASKS
    ) -> RunReport:
        """Run queued tasks until every queue is empty, including tasks that tasks enqueue.

        A task that fails stays in its queue, invisible for the visibility timeout
        as on SQS; ``run_all`` does not retry it. Whatever a handler raises fails
        its task, `BaseException` included (``SystemExit``, ``KeyboardInterrupt``),
        as on the real worker; a handler that returns a coroutine fails with
        `HandlerReturnedAwaitable`.

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
        self.dispatcher.middleware.worker_started(self)
        try:
            return self._run_all(raise_errors, max_tasks)
        finally:
            self.dispatcher.middleware.worker_stopped(self)

    def _run_all(self, raise_errors: bool, max_tasks: int) -> RunReport:
        runs: list[Dispatched] = []
        while True:
            received_any = False
            for queue_name in self.queue_names:
                batch = self.queue.receive_batch(queue_name, wait_seconds=0)
                received_any = received_any or bool(batch)
                if batch:
                    logger.debug(
                        "Received %d message(s) from %s",
                        len(batch),
                        queue_name,
                        extra={"queue": queue_name, "count": len(batch)},
                    )
                done = 0
                # On a FIFO queue, a group whose task did not succeed runs nothing more
                # of this batch: its next tasks wait until that one is retried, as on SQS.
                stopped_groups: set[str | None] = set()
                fifo = bool(batch) and self.queue.describe(queue_name).fifo
                try:
                    for message in batch:
                        if fifo and message.group_id in stopped_groups:
                            self._release(queue_name, [message])
                        else:
                            run = self._run_one(message, len(runs), raise_errors, max_tasks)
                            runs.append(run)
                            if run.outcome is not Outcome.SUCCEEDED:
                                stopped_groups.add(message.group_id)
                        done += 1
                except BaseException:
                    self._release(queue_name, batch[done + 1 :])
                    raise
            if not received_any:
                return RunReport(tuple(runs))

    def _run_one(
        self, message: ReceivedMessage, ran: int, raise_errors: bool, max_tasks: int
    ) -> Dispatched:
        if ran >= max_tasks:
            self._release(message.queue, [message])
            raise TooManyTasks(max_tasks)
        dispatched = self.dispatcher.dispatch(message)
        if dispatched.outcome is Outcome.SUCCEEDED:
            cleanup = payload_cleanup(message, self.dispatcher.payload_store)
            if not self.queue.delete_batch(message.queue, [message.receipt]) and cleanup:
                cleanup()
        elif dispatched.outcome is Outcome.DEFERRED and dispatched.task is not None:
            # Not due yet: on to the queue again, as a real worker does.
            now = self.clock.now()
            if send_on(self.queue, message, dispatched.task, now):
                self.queue.delete_batch(message.queue, [message.receipt])
        elif dispatched.error is not None and (
            raise_errors or isinstance(dispatched.error, KeyboardInterrupt)
        ):
            raise dispatched.error
        return dispatched

    def _release(self, queue_name: str, messages: Sequence[ReceivedMessage]) -> None:
        """Make messages received but not run visible again, so a later run sees them."""
        if messages:
            changes = [VisibilityChange(receipt=m.receipt, timeout=0) for m in messages]
            self.queue.change_visibility_batch(queue_name, changes)
