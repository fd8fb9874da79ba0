"""Receiving from one queue into the worker's buffer. Uses the ports only.

A lead receiver long-polls the queue all the time, so an idle queue costs one
call per ``wait_seconds`` (3 a minute at 20 s). While receives come back full,
the queue is busy and up to ``receivers - 1`` helpers receive beside the lead,
so that round trips overlap: against real SQS a call takes 10-30 ms, and one
receiver at a time could not fetch more than a few hundred messages a second.
A helper goes back to sleep as soon as a receive comes back short.

Every receive first books room in the buffer (`HeldMessages.reserve`), which
says how many messages it may ask for, so the buffer never exceeds its size;
only while no message is ready and task threads wait may helpers book beyond it.
The buffer is shared by every queue the worker consumes, and a queue that holds
nothing in it can always book a place: its lead never waits for room that
another queue's long poll holds, and an empty long poll holds one place, not
ten (see `BufferRoom`). Slow tasks thus never pile up in one worker, and quick
ones are not starved by round trips.

Each poller counts its answered receive calls, the empty ones and the messages
they brought (`counts`): the receive side of the SQS bill, logged at stop.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
from collections.abc import Callable, Sequence

from simple_worker.consumer._buffer import HeldMessages
from simple_worker.domain._errors import SimpleWorkerError
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.queue import MAX_BATCH_SIZE, QueuePort, ReceivedMessage

logger = logging.getLogger(__name__)

_TICK = 0.5  # how often a waiting receiver looks for a stop, in seconds
_ERROR_LOG_INTERVAL = 30.0  # at most one log line per queue this often while receives fail
_MAX_BACKOFF = 30.0
RECEIVE_COUNTS = ("receives", "empty_receives", "messages_received")


class QueuePoller:
    """The receivers of one queue; they stop receiving once ``stopping`` is set.

    ``visibility_timeout`` is how long a received message stays invisible (its
    deadline in the buffer); ``receive_visibility``, if given, is asked for on
    every receive, for a queue whose own visibility timeout does not do.
    """

    def __init__(
        self,
        queue: QueuePort,
        queue_name: str,
        held: HeldMessages,
        *,
        visibility_timeout: int,
        receive_visibility: int | None = None,
        wait_seconds: int,
        receivers: int,
        stopping: threading.Event,
        release: Callable[[Sequence[ReceivedMessage]], None],
        clock: ClockPort,
    ) -> None:
        self.queue_name = queue_name
        self._queue = queue
        self._held = held
        self._visibility_timeout = visibility_timeout
        self._receive_options: dict[str, int] = {"wait_seconds": wait_seconds}
        # Only when needed: an adapter written before the parameter still serves other queues.
        if receive_visibility is not None:
            self._receive_options["visibility_timeout"] = receive_visibility
        self._receivers = receivers
        self._stopping = stopping
        self._release = release
        self._busy = threading.Event()
        self._failures = _FailureLog(queue_name, clock)
        self._counts_lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()

    def start_lead(self) -> None:
        """Start the lead receiver, on a daemon thread.

        Receivers are not joined at stop: a long poll cannot be cut short, and what
        it returns after the stop is released at once (see `HeldMessages.add`).
        """
        self._start(range(1))

    def start_helpers(self) -> None:
        """Start the helpers, on daemon threads; they receive only while the queue is busy.

        A worker starts every queue's lead first, so that all queues are polled at once.
        """
        self._start(range(1, self._receivers))

    def _start(self, indexes: range) -> None:
        for index in indexes:
            threading.Thread(
                target=self._receive_until_stopped,
                args=(index == 0,),
                name=f"simple-worker-receive-{self.queue_name}-{index}",
                daemon=True,
            ).start()

    def _receive_until_stopped(self, lead: bool) -> None:
        extra = 0 if lead else MAX_BATCH_SIZE * (self._receivers - 1)
        while not self._stopping.is_set():
            if not lead and not self._busy.wait(_TICK):
                continue
            booked = self._held.reserve(self.queue_name, _TICK, extra=extra)
            if booked:
                self._receive(booked)

    def _receive(self, count: int) -> None:
        try:
            messages = self._queue.receive_batch(
                self.queue_name, max_messages=count, **self._receive_options
            )
        except Exception as exc:  # noqa: BLE001 - a receiver must outlive any failure
            self._held.add(self.queue_name, [], self._visibility_timeout, reserved=count)
            self._busy.clear()
            self._stopping.wait(self._failures.failed(exc))
            return
        self._failures.succeeded()
        with self._counts_lock:
            self._counts["receives"] += 1
            self._counts["messages_received"] += len(messages)
            if not messages:
                self._counts["empty_receives"] += 1
        if messages:
            logger.debug(
                "Received %d message(s) from %s",
                len(messages),
                self.queue_name,
                extra={"queue": self.queue_name, "count": len(messages)},
            )
        if len(messages) == count:
            self._busy.set()
        else:
            self._busy.clear()
        added = self._held.add(self.queue_name, messages, self._visibility_timeout, reserved=count)
        if not added and messages:
            self._release(messages)

    def failing_for(self) -> float:
        """Return for how many seconds every receive has failed; 0.0 while they work."""
        return self._failures.failing_for()

    def counts(self) -> dict[str, int]:
        """Return ``receives`` (calls answered), ``empty_receives`` and ``messages_received``."""
        with self._counts_lock:
            return {key: self._counts[key] for key in RECEIVE_COUNTS}


class _FailureLog:
    """Logs failing receives at most once per interval; says how long to back off."""

    def __init__(self, queue_name: str, clock: ClockPort) -> None:
        self._queue_name = queue_name
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._last_logged: float | None = None
        self._failing_since: float | None = None

    def failed(self, exc: Exception) -> float:
        """Record a failure; return how long to wait before the next attempt."""
        with self._lock:
            self._failures += 1
            failures = self._failures
            now = self._clock.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            log = self._last_logged is None or now - self._last_logged >= _ERROR_LOG_INTERVAL
            if log:
                self._last_logged = now
        if log:
            logger.error(
                "Receiving from %s failed (%d time(s) in a row), retrying: %s",
                self._queue_name,
                failures,
                exc,
                exc_info=not isinstance(exc, SimpleWorkerError),
                extra={"queue": self._queue_name, "error_type": type(exc).__name__},
            )
        delay = min(_MAX_BACKOFF, float(2 ** min(failures - 1, 8)))
        return delay * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not cryptography

    def failing_for(self) -> float:
        """Return the seconds since the first failure of the current streak; 0.0 if none."""
        with self._lock:
            since = self._failing_since
        return 0.0 if since is None else self._clock.monotonic() - since

    def succeeded(self) -> None:
        """Record a successful receive; log the recovery if receives had failed."""
        with self._lock:
            failures, self._failures, self._last_logged = self._failures, 0, None
            self._failing_since = None
        if failures:
            logger.info(
                "Receiving from %s works again after %d failure(s)",
                self._queue_name,
                failures,
                extra={"queue": self._queue_name},
            )
