"""The worker: receives tasks from queues and runs them on threads. Uses the ports only.

Threads and their jobs:

- one poller per queue long-polls it and fills a shared, bounded buffer, so a
  message on any queue starts without waiting behind another queue's empty poll;
- ``threads`` task threads take messages from the buffer and run them;
- the heartbeat keeps every held message (buffered or running) invisible while
  it is held, extending its visibility at half its queue's timeout;
- the delete batcher deletes finished tasks' messages ten at a time;
- with a liveness port (e.g. a heartbeat file), a beat every few seconds while
  no queue's receives have failed for longer than a minute.

On `stop` (or SIGTERM/SIGINT) pollers stop, buffered messages are released at
once (visibility 0), running tasks finish and are deleted, then `start` returns:
within ``shutdown_timeout`` seconds of the stop, whatever the queue does. Past
that budget the worker gives up, and logs, what is left: tasks still running
(their messages are not deleted) and releases and deletes the queue has not
answered. Nothing is lost: SQS delivers those messages again after their
visibility timeout. SQS calls cannot be cut short; they are left on daemon
threads, which do not keep the process from exiting.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

import attrs

from simple_worker.domain.envelope import decode_envelope
from simple_worker.domain.errors import (
    ConfigurationError,
    MessageDecodeError,
    QueueNotFound,
    SimpleWorkerError,
)
from simple_worker.domain.task import Task
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.liveness import LivenessPort
from simple_worker.ports.queue import (
    MAX_BATCH_SIZE,
    MAX_VISIBILITY_TIMEOUT,
    MAX_WAIT_SECONDS,
    QueueInfo,
    QueuePort,
    ReceivedMessage,
    VisibilityChange,
)
from simple_worker.services.deferral import seconds_left, send_on
from simple_worker.services.deleter import DeleteBatcher
from simple_worker.services.dispatcher import Dispatcher, Outcome
from simple_worker.services.held import HeldMessages
from simple_worker.services.log_fields import message_fields
from simple_worker.services.offload import payload_cleanup
from simple_worker.services.poller import RECEIVE_COUNTS, QueuePoller
from simple_worker.services.retry import RetryPolicy

logger = logging.getLogger(__name__)

_TICK = 0.5  # how often idle threads look for a stop, in seconds
_DELETE_MARGIN = 2.0  # seconds a delete call may take, for hurrying one (see _handle)
_LIVENESS_INTERVAL = 5.0  # seconds between beats while the worker consumes normally
_RECEIVE_FAILURE_GRACE = 60.0  # seconds of failing receives before beats stop
_SETTLE_RESERVE = 2.0  # seconds at the end of the shutdown budget kept for the last deletes

DEFAULT_SHUTDOWN_TIMEOUT = 20.0
"""Seconds from a stop request to the end of `Worker.start`, whatever the queue does.

Inside Kubernetes' default 30-second grace period, with room for the process to exit.
"""

SignalScope = Callable[[Callable[[], None]], AbstractContextManager[None]]


@attrs.frozen
class WorkerOptions:
    """How a worker consumes; see ``App.worker`` for each option."""

    threads: int = 1
    wait_seconds: int = MAX_WAIT_SECONDS
    buffer_size: int | None = None
    retry_policy: RetryPolicy | None = None
    delete_max_wait: float = 1.0
    receivers_per_queue: int = 8
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT

    def __attrs_post_init__(self) -> None:
        if self.threads < 1:
            raise ConfigurationError(f"threads must be at least 1; got {self.threads}.")
        if not 0 <= self.wait_seconds <= MAX_WAIT_SECONDS:
            raise ConfigurationError(
                f"wait_seconds must be 0 to {MAX_WAIT_SECONDS} (SQS's long-poll limit); "
                f"got {self.wait_seconds}."
            )
        if self.receivers_per_queue < 1:
            raise ConfigurationError(
                f"receivers_per_queue must be at least 1; got {self.receivers_per_queue}."
            )
        if self.buffer_size is not None and self.buffer_size < 1:
            raise ConfigurationError(f"buffer_size must be at least 1; got {self.buffer_size}.")
        if not 0 <= self.shutdown_timeout < math.inf:
            raise ConfigurationError(
                f"shutdown_timeout must be a number of seconds, 0 or more; "
                f"got {self.shutdown_timeout}."
            )

    @property
    def capacity(self) -> int:
        """The buffer's size: by default room for a full batch beside one per thread."""
        return self.buffer_size or max(2 * MAX_BATCH_SIZE, 2 * self.threads)


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
        self._tasks_done = threading.Event()
        self._started = False
        self._infos: dict[str, QueueInfo] = {}
        self._held = HeldMessages(clock, options.capacity)
        self._deleter = DeleteBatcher(queue, clock, options.delete_max_wait)
        self._counts_lock = threading.Lock()

    def start(self) -> None:
        """Consume until `stop` is called or SIGTERM/SIGINT arrives; then stop gracefully.

        Raises:
            QueueNotFound: one or more queues do not exist (all are named), before
                anything is received.
            SystemExit: a second SIGTERM/SIGINT arrived while stopping.
        """
        if self._started:
            raise RuntimeError("A Worker runs once; make another with app.worker().")
        self._started = True
        if not self.queue_names:
            raise ConfigurationError("The worker has no queues: register a task handler first.")
        self._infos = self._describe_queues()
        self._held.keep_group_order(name for name, info in self._infos.items() if info.fifo)
        if self._signal_scope is None:
            self._run()
        else:
            with self._signal_scope(self.stop):
                self._run()

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
        logger.info(
            "Worker started on %s with %d thread(s)",
            ", ".join(self.queue_names),
            self.options.threads,
            extra={"queues": self.queue_names, "threads": self.options.threads},
        )
        self._dispatcher.middleware.worker_started(self)
        try:
            self._consume()
        finally:
            self._dispatcher.middleware.worker_stopped(self)

    def _consume(self) -> None:
        self._deleter.start()
        heartbeat = self._spawn("heartbeat", self._heartbeat)
        runners = [self._spawn(f"task-{n}", self._run_tasks) for n in range(self.options.threads)]
        for name in self.queue_names:
            poller = QueuePoller(
                self._queue,
                name,
                self._held,
                visibility_timeout=self._infos[name].visibility_timeout,
                wait_seconds=self.options.wait_seconds,
                receivers=self.options.receivers_per_queue,
                stopping=self._stopping,
                release=self._release,
                clock=self._clock,
            )
            self._pollers.append(poller)
            poller.start()
        self._wait_for_stop()
        self._shut_down(runners, heartbeat)
        logger.info(
            "Worker stopped",
            extra={**self.counts, **self.receive_counts(), "queues": self.queue_names},
        )

    def _shut_down(self, runners: list[threading.Thread], heartbeat: threading.Thread) -> None:
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
            runner.join(_left(tasks_end))
        if any(runner.is_alive() for runner in runners):
            self._gave_up = True
            self._log_still_running(budget)
        self._tasks_done.set()
        heartbeat.join(_left(end))
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
            target=target, args=args, name=f"simple-worker-{name}", daemon=True
        )
        thread.start()
        return thread

    def _run_tasks(self) -> None:
        while True:
            message = self._held.take(_TICK)
            if message is not None:
                try:
                    self._handle(message)
                except Exception:  # a task thread must outlive a bug around one task
                    logger.exception("Internal error after running a task from %s", message.queue)
            elif self._stopping.is_set():
                return

    def _handle(self, message: ReceivedMessage) -> None:
        if self._held.seconds_left(message) <= 0:
            self._skip_expired(message)
            return
        succeeded = False
        try:
            dispatched = self._dispatcher.dispatch(message)
            succeeded = dispatched.outcome is Outcome.SUCCEEDED
        finally:
            # FIFO: the rest of a group behind a task that did not succeed goes back to SQS.
            visibility_left, out_of_turn = self._held.finish(message, succeeded=succeeded)
            self._release(out_of_turn)
        with self._counts_lock:
            self.counts[dispatched.outcome.value] += 1
        if dispatched.outcome is Outcome.SUCCEEDED:
            # Short visibility timeouts: delete before the message can be delivered again;
            # and SQS unlocks a FIFO group only once its last message is deleted.
            urgent = (
                visibility_left < self.options.delete_max_wait + _DELETE_MARGIN
                or self._held.group_idle(message)
            )
            # A large task's object goes after its message: deleted first, it would strand it.
            cleanup = payload_cleanup(message, self._dispatcher.payload_store)
            self._deleter.add(
                message.queue,
                message.receipt,
                urgent=urgent,
                on_deleted=cleanup,
                message_id=message.message_id,
            )
        elif dispatched.outcome is Outcome.FAILED:
            self._after_failure(message, dispatched.task)
        elif dispatched.outcome is Outcome.REJECTED:
            self._set_visibility(message, self._rejection_delay(message))
        elif dispatched.outcome is Outcome.DEFERRED and dispatched.task is not None:
            self._send_on(message, dispatched.task)

    def _skip_expired(self, message: ReceivedMessage) -> None:
        """Leave a message whose visibility ran out while it waited (its extensions failed).

        SQS may have handed it to another worker already: running it here too would
        be a duplicate for nothing. SQS delivers it again.
        """
        _, out_of_turn = self._held.finish(message, succeeded=False)
        self._release(out_of_turn)
        with self._counts_lock:
            self.counts["expired"] += 1
        logger.warning(
            "Message %s from %s waited past its visibility timeout (its extensions failed): "
            "not run; SQS delivers it again",
            message.message_id,
            message.queue,
            extra={**message_fields(message), "outcome": "expired"},
        )

    def _after_failure(self, message: ReceivedMessage, task: Task | None) -> None:
        """Set when a failed task comes back (by the retry policy), and say what happens next."""
        info = self._infos[message.queue]
        retry_in = info.visibility_timeout
        if self.options.retry_policy is not None:
            retry_in = self.options.retry_policy.delay(message.receive_count)
            self._set_visibility(message, retry_in)
        fields = {**message_fields(message, task), "retry_in": retry_in}
        name = task.name if task is not None else f"of message {message.message_id}"
        last = info.max_receive_count
        if last is not None and message.receive_count >= last:
            logger.warning(
                "Task %s failed on its last allowed receive (%d of %d): SQS moves it to %s "
                "when it turns visible again, in %d s",
                name,
                message.receive_count,
                last,
                info.dead_letter_queue,
                retry_in,
                extra={**fields, "dead_letter_queue": info.dead_letter_queue},
            )
        else:
            logger.info("Task %s will run again in %d s", name, retry_in, extra=fields)

    def _send_on(self, message: ReceivedMessage, task: Task) -> None:
        """Send an early task on for the rest of its wait, then delete the received copy."""
        now = self._clock.now()
        try:
            sent = send_on(self._queue, message, task, now)
        except SimpleWorkerError as exc:
            sent = False
            logger.warning("Could not send on task %s: %s", task.name, exc)
        if sent:
            logger.info(
                "Task %s is due in %d s: sent on",
                task.name,
                seconds_left(task, now),
                extra={"task_name": task.name, "task_id": task.id, "queue": message.queue},
            )
            self._deleter.add(message.queue, message.receipt, message_id=message.message_id)
        else:
            # Hold it back instead; SQS counts one more receive.
            wait = min(seconds_left(task, now), MAX_VISIBILITY_TIMEOUT)
            self._set_visibility(message, wait)

    def _rejection_delay(self, message: ReceivedMessage) -> int:
        """Release at once towards the dead-letter queue, or back off where there is none."""
        info = self._infos[message.queue]
        if info.dead_letter_queue is not None:
            return 0
        backoff = max(info.visibility_timeout, 1) << min(max(message.receive_count, 1), 16)
        return min(backoff, MAX_VISIBILITY_TIMEOUT)

    def _set_visibility(self, message: ReceivedMessage, timeout: int) -> None:
        self._change_visibility(message.queue, [VisibilityChange(message.receipt, timeout)])

    def _release(self, messages: Sequence[ReceivedMessage]) -> None:
        by_queue: dict[str, list[VisibilityChange]] = collections.defaultdict(list)
        for message in messages:
            by_queue[message.queue].append(VisibilityChange(message.receipt, 0))
        for queue_name, changes in by_queue.items():
            self._change_visibility(queue_name, changes)
            logger.info(
                "Released %d received message(s) that had not started",
                len(changes),
                extra={"queue": queue_name, "count": len(changes)},
            )

    def _heartbeat(self) -> None:
        """Extend held messages' visibility until the last running task has ended."""
        timeouts = {name: max(info.visibility_timeout, 1) for name, info in self._infos.items()}
        tick = min(max(min(timeouts.values()) / 4, 0.1), 1.0)
        while not self._tasks_done.wait(tick):
            try:
                self._extend(self._held.due_for_extension(timeouts))
            except Exception:  # the heartbeat must outlive a bug, or tasks run twice
                logger.exception("Internal error in the visibility heartbeat")

    def _extend(self, due: list[tuple[ReceivedMessage, int]]) -> None:
        by_queue: dict[str, list[VisibilityChange]] = collections.defaultdict(list)
        for message, timeout in due:
            by_queue[message.queue].append(VisibilityChange(message.receipt, timeout))
        for queue_name, changes in by_queue.items():
            since = self._clock.monotonic()
            logger.debug(
                "Extending the visibility of %d message(s) on %s",
                len(changes),
                queue_name,
                extra={"queue": queue_name, "count": len(changes)},
            )
            failed = self._change_visibility(queue_name, changes)
            self._held.extended(
                [c.receipt for c in changes if c.receipt not in failed],
                changes[0].timeout,  # one queue, one timeout
                since,
            )

    def _change_visibility(
        self, queue_name: str, changes: list[VisibilityChange]
    ) -> dict[str, str]:
        """Change visibilities; log and return the failures (receipt: reason)."""
        try:
            failed = self._queue.change_visibility_batch(queue_name, changes)
        except SimpleWorkerError as exc:
            failed = {change.receipt: str(exc) for change in changes}
        for receipt, reason in failed.items():
            logger.warning(
                "Could not change a message's visibility on %s: %s",
                queue_name,
                reason,
                extra={"queue": queue_name, "receipt": receipt[:32]},
            )
        return failed


def _left(deadline: float) -> float:
    """Return the seconds until ``deadline`` (a `time.monotonic` time), 0 if past."""
    return max(deadline - time.monotonic(), 0.0)


def _task_of(message: ReceivedMessage) -> Task | None:
    """Return the task ``message`` carries, for a log line; None if it does not decode."""
    try:
        return decode_envelope(message.body)
    except MessageDecodeError:  # a large payload's pointer, or a message that cannot run
        return None
