"""The worker: receives tasks from queues and runs them on threads. Uses the ports only.

Threads and their jobs:

- one poller per queue long-polls it and fills a shared, bounded buffer, so a
  message on any queue starts without waiting behind another queue's empty poll:
  every queue can always book a place for its long poll, whatever the number of
  queues and the buffer's size (see `BufferRoom`);
- ``threads`` task threads take messages from the buffer and run them, taking
  turns between the queues that have messages by their weights (`WeightedTurns`);
- with ``async def`` handlers, an event loop (`TaskLoop`) runs up to
  ``async_concurrency`` of their coroutines; a task thread hands each over and
  goes on, and settle threads settle them;
- the visibility heartbeat (`VisibilityHeartbeat`) keeps every held message
  (buffered or running) invisible while it is held;
- the delete batcher deletes finished tasks' messages ten at a time;
- with a liveness port (e.g. a heartbeat file), a beat every few seconds while
  no queue's receives have failed for longer than a minute.

On `stop` (or SIGTERM/SIGINT) pollers stop, buffered messages are released at
once (visibility 0), running tasks (coroutines too) finish and are deleted, then `start` returns:
within ``shutdown_timeout`` seconds of the stop, whatever the queue does. Past
that budget the worker gives up, and logs, what is left: tasks still running
(their messages are not deleted) and releases and deletes the queue has not
answered. Nothing is lost: SQS delivers those messages again after their
visibility timeout. SQS calls cannot be cut short; they are left on daemon
threads, which do not keep the process from exiting.

A task's error, whatever it is (`BaseException` included), fails that task only
(see `TaskExecutor`), and an error around one message is logged and the thread
goes on. A thread that dies all the same (a bug outside that guard) is never
silent and never replaced: the worker logs it at CRITICAL, stops gracefully, and
`start` raises `WorkerThreadDied`, so that the process ends and its manager
restarts it. Replacing the thread could hide a bug that kills every replacement.

Time limits (`TimeLimits`, on the dispatcher) add a watchdog thread, which
interrupts tasks past their limit; the heartbeat stops extending them past the
limit and its grace. A task still running past the hard limit stops the worker
the same way: gracefully, then `start` raises `TaskStuck`, for the process to be
replaced. Concurrency limits (`TaskSlots`) are kept by the buffer.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from simple_worker._large_payloads import payload_cleanup
from simple_worker._log_fields import message_fields
from simple_worker.consumer._buffer import HeldMessages
from simple_worker.consumer._deleter import DeleteBatcher
from simple_worker.consumer._dispatcher import Admitted, Dispatcher
from simple_worker.consumer._event_loop import TaskLoop
from simple_worker.consumer._heartbeat import VisibilityHeartbeat
from simple_worker.consumer._options import WorkerOptions
from simple_worker.consumer._poller import RECEIVE_COUNTS, QueuePoller
from simple_worker.consumer._settler import Settler
from simple_worker.consumer._slots import TaskSlots
from simple_worker.consumer._time_limits import Watch
from simple_worker.consumer._visibility import held_visibility, receive_visibility
from simple_worker.domain._envelope import decode_envelope
from simple_worker.domain._errors import (
    ConfigurationError,
    MessageDecodeError,
    QueueNotFound,
    TaskStuck,
    WorkerThreadDied,
)
from simple_worker.domain._task import Task
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.liveness import LivenessPort
from simple_worker.ports.middleware import Dispatched, Outcome
from simple_worker.ports.queue import (
    QueueInfo,
    QueuePort,
    ReceivedMessage,
)

logger = logging.getLogger(__name__)

_TICK = 0.5  # how often idle threads look for a stop, in seconds
_DELETE_MARGIN = 2.0  # seconds a delete call may take, for hurrying one (see _settle)
_LIVENESS_INTERVAL = 5.0  # seconds between beats while the worker consumes normally
_RECEIVE_FAILURE_GRACE = 60.0  # seconds of failing receives before beats stop
_SETTLE_RESERVE = 2.0  # seconds at the end of the shutdown budget kept for the last deletes

_REPORTED_OUTCOMES = ("succeeded", "failed", "rejected")
"""Outcomes the "Worker stopped" line always carries, zeros included."""

SignalScope = Callable[[Callable[[], None]], AbstractContextManager[None]]


class Worker:
    """Consumes queues until stopped; made by ``App.worker()``. Runs once."""

    def __init__(
        self,
        queue: QueuePort,
        queue_names: Sequence[str],
        dispatcher: Dispatcher,
        *,
        clock: ClockPort,
        options: WorkerOptions,
        signal_scope: SignalScope | None = None,
        liveness: LivenessPort | None = None,
    ) -> None:
        self.queue_names = list(dict.fromkeys(queue_names))
        self.options = options
        self.counts: collections.Counter[str] = collections.Counter()
        self._queue = queue
        self._dispatcher = dispatcher
        self._clock = clock
        self._signal_scope = signal_scope
        self._liveness = liveness
        self._pollers: list[QueuePoller] = []
        self._stopping = threading.Event()
        self._stop_requested: float | None = None  # time.monotonic() of the first stop
        self._gave_up = False
        self._started = False
        self._infos: dict[str, QueueInfo] = {}
        self._receive_visibility: dict[str, int | None] = {}
        self._with_async = _runs_async(dispatcher, self.queue_names)
        self._held = HeldMessages(
            clock,
            options.capacity(len(self.queue_names), with_async=self._with_async),
            options.weights(self.queue_names),
            _slots(dispatcher),
        )
        self._deleter = DeleteBatcher(queue, clock, options.delete_max_wait)
        self._counts_lock = threading.Lock()
        self._died: tuple[str, BaseException] | None = None
        """The first thread that died, and of what."""
        self._stuck: Watch | None = None
        """The first task that passed the hard time limit."""
        self._stuck_receipts: set[str] = set()
        self._loop: TaskLoop | None = None
        """Where async tasks run; made for the first one."""
        self._loop_lock = threading.Lock()

    def start(self) -> None:
        """Consume until `stop` is called or SIGTERM/SIGINT arrives; then stop gracefully.

        Raises:
            QueueNotFound: one or more queues do not exist (all are named), before
                anything is received.
            SystemExit: a second SIGTERM/SIGINT arrived while stopping.
            WorkerThreadDied: one of the worker's threads died of an unexpected
                error (logged at CRITICAL); the worker stopped gracefully first.
            TaskStuck: a task ran past the hard time limit (logged at CRITICAL);
                the worker stopped gracefully first, without waiting for it.
        """
        if self._started:
            raise RuntimeError("A Worker runs once; make another with app.worker().")
        self._started = True
        if not self.queue_names:
            raise ConfigurationError("The worker has no queues: register a task handler first.")
        described = self._describe_queues()
        self._receive_visibility = {n: receive_visibility(i) for n, i in described.items()}
        # From here on, the visibility timeout the worker's messages of each queue have.
        self._infos = {name: held_visibility(info) for name, info in described.items()}
        self._held.keep_group_order(name for name, info in self._infos.items() if info.fifo)
        self._settler = Settler(self._queue, self._clock, self._infos, self.options.retry_policy)
        if self._signal_scope is None:
            self._run()
        else:
            with self._signal_scope(self.stop):
                self._run()
        if self._died is not None:
            thread_name, error = self._died
            raise WorkerThreadDied(thread_name, error) from error
        if self._stuck is not None:
            raise TaskStuck(self._stuck.task_name, self._stuck.hard_limit or 0.0)

    def buffered_count(self) -> int:
        """Return how many received messages wait for a task thread."""
        return self._held.buffered_count()

    def running_count(self) -> int:
        """Return how many tasks are running."""
        return self._held.running_count()

    def receive_counts(self) -> dict[str, int]:
        """Return ``receives`` (calls answered), ``empty_receives`` and ``messages_received``."""
        totals = dict.fromkeys(RECEIVE_COUNTS, 0)
        for poller in tuple(self._pollers):
            for key, count in poller.counts().items():
                totals[key] += count
        return totals

    @property
    def stopping(self) -> bool:
        """Whether a stop was asked (`stop` or a signal): the worker receives no more."""
        return self._stopping.is_set()

    @property
    def gave_up(self) -> bool:
        """Whether the last stop ran out of its shutdown budget and left work to SQS.

        Tasks still running, or releases and deletes the queue had not answered:
        their messages run again after their visibility timeout (all are logged).
        """
        return self._gave_up

    def stop(self) -> None:
        """Ask the worker to stop gracefully; `start` returns once it has. Thread-safe.

        The shutdown budget (``shutdown_timeout``) counts from the first call.
        """
        if self._stop_requested is None:
            self._stop_requested = time.monotonic()
        self._stopping.set()

    def shutdown(self) -> None:
        """Ask the worker to stop gracefully (the 0.2.x name of `stop`)."""
        self.stop()

    def _describe_queues(self) -> dict[str, QueueInfo]:
        found = {name: self._describe(name) for name in self.queue_names}
        missing = [name for name, info in found.items() if info is None]
        if missing:
            raise QueueNotFound(missing)
        infos = {name: info for name, info in found.items() if info is not None}
        for name, info in infos.items():
            if info.dead_letter_queue is None:
                logger.warning(
                    "Queue %s has no redrive policy: a message that keeps failing is retried "
                    "until it expires. Give it a dead-letter queue.",
                    name,
                    extra={"queue": name},
                )
        return infos

    def _describe(self, queue_name: str) -> QueueInfo | None:
        try:
            return self._queue.describe(queue_name)
        except QueueNotFound:
            return None

    def _run(self) -> None:
        fields: dict[str, object] = {"queues": self.queue_names, "threads": self.options.threads}
        coroutines = ""
        if self._with_async:
            fields["async_concurrency"] = self.options.async_concurrency
            coroutines = f" and up to {self.options.async_concurrency} coroutine(s)"
        logger.info(
            "Worker started on %s with %d thread(s)%s",
            ", ".join(self.queue_names),
            self.options.threads,
            coroutines,
            extra=fields,
        )
        self._dispatcher.middleware.worker_started(self)
        try:
            self._consume()
        finally:
            self._dispatcher.middleware.worker_stopped(self)

    def _consume(self) -> None:
        self._deleter.start()
        limits = self._dispatcher.time_limits
        heartbeat = VisibilityHeartbeat(
            self._held,
            self._infos,
            self._settler.change_visibility,
            self._clock,
            lets_go=None if limits is None else limits.lets_go,
        )
        heartbeat_thread = self._spawn("heartbeat", heartbeat.run)
        registrations = self._dispatcher.registry.registrations()
        if limits is not None and limits.enforced([r.time_limit for r in registrations]):
            limits.on_stuck = self._on_stuck
            self._spawn("time-limits", limits.run)
        runners = [self._spawn(f"task-{n}", self._run_tasks) for n in range(self.options.threads)]
        for name in self.queue_names:
            poller = QueuePoller(
                self._queue,
                name,
                self._held,
                visibility_timeout=self._infos[name].visibility_timeout,
                receive_visibility=self._receive_visibility[name],
                wait_seconds=self.options.wait_seconds,
                receivers=self.options.receivers_per_queue,
                stopping=self._stopping,
                release=self._release,
                clock=self._clock,
            )
            self._pollers.append(poller)
            poller.start_lead()
        for poller in self._pollers:  # every queue polled at once; helpers for busy ones
            poller.start_helpers()
        self._wait_for_stop()
        self._shut_down(runners, heartbeat, heartbeat_thread)
        logger.info(
            "Worker stopped",
            extra={
                **dict.fromkeys(_REPORTED_OUTCOMES, 0),
                **self.counts,
                **self.receive_counts(),
                "queues": self.queue_names,
            },
        )

    def _shut_down(
        self,
        runners: list[threading.Thread],
        heartbeat: VisibilityHeartbeat,
        heartbeat_thread: threading.Thread,
    ) -> None:
        """Release, let tasks finish, delete: all within the budget, then give up on the rest.

        Real time, not the clock port's: this bounds real waits on threads.
        """
        budget = self.options.shutdown_timeout
        end = (self._stop_requested or time.monotonic()) + budget
        # Tasks get the budget but its last moments, in which their deletes go out.
        tasks_end = end - min(_SETTLE_RESERVE, budget / 10)
        buffered = self._held.close()
        release = self._spawn("release", self._release, buffered) if buffered else None
        for runner in runners:
            # A stuck task (past the hard limit) is not waited for: it cannot end.
            while runner.is_alive() and _left(tasks_end) > 0 and not self._only_stuck_left():
                runner.join(min(_TICK, _left(tasks_end)))
        finished = not any(runner.is_alive() for runner in runners)
        # Then the coroutines: none starts now that the task threads are done.
        if self._loop is not None:
            wait = 0.0 if self._only_stuck_left() else _left(tasks_end)
            finished = self._loop.stop(wait) and finished
        if not finished:
            self._gave_up = True
            if not self._only_stuck_left():  # a stuck task was logged when it got stuck
                self._log_still_running(budget)
        heartbeat.stop()
        if self._dispatcher.time_limits is not None:
            self._dispatcher.time_limits.stop()
        heartbeat_thread.join(_left(end))
        if self._deleter.stop(_left(end)):
            self._gave_up = True
        if release is not None:
            release.join(_left(end))
            if release.is_alive():
                self._gave_up = True
                ids = [message.message_id for message in buffered]
                logger.warning(
                    "Gave up releasing %d received message(s) that had not started: the queue "
                    "did not answer within the %g s shutdown budget; they run after their "
                    "visibility timeout: %s",
                    len(ids),
                    budget,
                    ", ".join(ids),
                    extra={"count": len(ids), "message_ids": ids},
                )

    def _log_still_running(self, budget: float) -> None:
        running = self._held.running()
        for message in running:
            task = _task_of(message)
            name = task.name if task is not None else f"of message {message.message_id}"
            logger.warning(
                "Task %s still running at the end of the %g s shutdown budget: left running "
                "as the worker exits, not deleted; SQS delivers it again after its "
                "visibility timeout",
                name,
                budget,
                extra={**message_fields(message, task), "outcome": "given_up"},
            )
        if not running:  # threads busy settling a finished task with a queue that hangs
            logger.warning(
                "Task threads still waiting for the queue at the end of the %g s shutdown "
                "budget: what they were settling is left to SQS (delivered again after the "
                "visibility timeout)",
                budget,
            )

    def _on_stuck(self, watch: Watch) -> None:
        """Stop the worker: a task passed the hard limit (see `TimeLimits`)."""
        with self._counts_lock:
            if self._stuck is None:
                self._stuck = watch
            self._stuck_receipts.add(watch.receipt)
        logger.critical(
            "Task %s still running %g s after it started, past the hard time limit: it cannot "
            "be interrupted; stopping the worker so that its process is replaced (its other "
            "tasks finish, its buffered messages are released; its own message returns after "
            "its visibility timeout)",
            watch.task_name,
            watch.hard_limit,
            extra={"task_name": watch.task_name, "outcome": "stuck"},
        )
        self.stop()

    def _only_stuck_left(self) -> bool:
        with self._counts_lock:
            stuck = set(self._stuck_receipts)
        return bool(stuck) and {m.receipt for m in self._held.running()} <= stuck

    def _wait_for_stop(self) -> None:
        """Wait for `stop`, beating the liveness port while receiving works."""
        # Short waits: the main thread must stay responsive to signals.
        last_beat: float | None = None
        if self._liveness is not None:
            self._liveness.beat()
            last_beat = self._clock.monotonic()
        while not self._stopping.wait(_TICK):
            if self._liveness is None:
                continue
            now = self._clock.monotonic()
            if last_beat is not None and now - last_beat < _LIVENESS_INTERVAL:
                continue
            if max(poller.failing_for() for poller in self._pollers) <= _RECEIVE_FAILURE_GRACE:
                self._liveness.beat()
                last_beat = now

    def _spawn(self, name: str, target: Callable[..., None], *args: object) -> threading.Thread:
        # Daemon threads: a second signal must be able to end the process at once.
        thread = threading.Thread(
            target=self._watch, args=(target, *args), name=f"simple-worker-{name}", daemon=True
        )
        thread.start()
        return thread

    def _watch(self, target: Callable[..., None], *args: object) -> None:
        """Run a thread's loop; if it dies, stop the worker loudly instead of running on."""
        try:
            target(*args)
        except BaseException as exc:  # whatever it was: reported here, then by start()
            name = threading.current_thread().name
            with self._counts_lock:
                if self._died is None:
                    self._died = (name, exc)
            logger.critical(
                "Worker thread %s died of %s: stopping the worker",
                name,
                type(exc).__name__,
                exc_info=exc,
                extra={"error_type": type(exc).__name__},  # and threadName
            )
            self.stop()

    def _run_tasks(self) -> None:
        while True:
            message = self._held.take(_TICK)
            if message is not None:
                try:
                    self._handle(message)
                except BaseException as exc:  # a task thread outlives any one message
                    logger.exception(
                        "Internal error after running a task from %s",
                        message.queue,
                        extra={**message_fields(message), "error_type": type(exc).__name__},
                    )
            elif self._stopping.is_set():
                return

    def _handle(self, message: ReceivedMessage) -> None:
        try:
            if self._held.seconds_left(message) <= 0:
                # Its visibility ran out while it waited (its extensions failed): SQS
                # may have handed it to another worker already, so it does not start.
                dispatched: Dispatched | Admitted = Dispatched(message, Outcome.EXPIRED)
            else:
                dispatched = self._dispatcher.admit(message)
            if isinstance(dispatched, Admitted):
                if dispatched.is_async:
                    self._hand_to_loop(dispatched)  # settled once its coroutine ended
                    return
                dispatched = self._dispatcher.run(dispatched)
        except BaseException:
            self._release(self._held.finish(message, succeeded=False)[1])
            raise
        self._settle(message, dispatched)

    def _hand_to_loop(self, admitted: Admitted) -> None:
        """Start an async task on the event loop, once it has a free slot (see `TaskLoop`)."""
        loop = self._task_loop()
        while not loop.acquire(_TICK):
            pass  # the loop is full: wait with the message, so no more is taken
        loop.start(
            self._dispatcher.run_async(admitted),
            self._settle_async,
            # A success only queues its delete: no SQS call waits on the loop.
            settles_at_once=lambda dispatched: dispatched.outcome is Outcome.SUCCEEDED,
        )

    def _task_loop(self) -> TaskLoop:
        with self._loop_lock:
            if self._loop is None:
                self._loop = TaskLoop(self.options.async_concurrency, self._spawn)
            return self._loop

    def _settle_async(self, dispatched: Dispatched) -> None:
        try:
            self._settle(dispatched.message, dispatched)
        except BaseException as exc:  # as on a task thread: logged, the worker goes on
            logger.exception(
                "Internal error after running a task from %s",
                dispatched.message.queue,
                extra={**message_fields(dispatched.message), "error_type": type(exc).__name__},
            )

    def _settle(self, message: ReceivedMessage, dispatched: Dispatched) -> None:
        try:
            settlement = self._settler.decide(
                dispatched,
                held_for=self._held.held_for(message),
                keeps_group_order=self._held.in_ordered_group(message),
            )
        except BaseException:
            self._release(self._held.finish(message, succeeded=False)[1])
            raise
        # FIFO: the rest of a group behind a task that did not succeed goes back to SQS.
        visibility_left, out_of_turn = self._held.finish(
            message, succeeded=not settlement.stop_group
        )
        self._release(out_of_turn)

        def delete(message: ReceivedMessage, with_payload: bool) -> None:
            # Short visibility timeouts: delete before the message can be delivered again;
            # and SQS unlocks a FIFO group only once its last message is deleted.
            urgent = (
                visibility_left < self.options.delete_max_wait + _DELETE_MARGIN
                or self._held.group_idle(message)
            )
            # A large task's object goes after its message: deleted first, it would strand it.
            cleanup = (
                payload_cleanup(message, self._dispatcher.payload_store) if with_payload else None
            )
            self._deleter.add(
                message.queue,
                message.receipt,
                urgent=urgent,
                on_deleted=cleanup,
                message_id=message.message_id,
            )

        self._settler.apply(dispatched, settlement, delete)
        # Counted once settled: a count says what became of the message too.
        with self._counts_lock:
            self.counts[dispatched.outcome.value] += 1

    def _release(self, messages: Sequence[ReceivedMessage]) -> None:
        self._settler.release(messages)


def _left(deadline: float) -> float:
    """Return the seconds until ``deadline`` (a `time.monotonic` time), 0 if past."""
    return max(deadline - time.monotonic(), 0.0)


def _runs_async(dispatcher: Dispatcher, queue_names: Sequence[str]) -> bool:
    """Return whether a task of one of ``queue_names`` has an ``async def`` handler."""
    registry = dispatcher.registry
    registrations = (registry.get(name) for name in registry.task_names())
    return any(r.is_async and r.queue in queue_names for r in registrations)


def _task_of(message: ReceivedMessage) -> Task | None:
    """Return the task ``message`` carries, for a log line; None if it does not decode."""
    try:
        return decode_envelope(message.body)
    except MessageDecodeError:  # a large payload's pointer, or a message that cannot run
        return None


def _slots(dispatcher: Dispatcher) -> TaskSlots | None:
    """Return the concurrency limits of the dispatcher's tasks; None when none has one."""
    limits = {
        r.task_name: r.max_concurrency
        for r in dispatcher.registry.registrations()
        if r.max_concurrency is not None
    }
    return TaskSlots(limits) if limits else None
