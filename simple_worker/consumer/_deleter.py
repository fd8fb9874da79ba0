"""Batched deletes: a finished task's message is deleted with up to nine others.

Receipts are flushed per queue when ten are waiting, when the oldest has waited
``max_wait`` seconds, and when the worker stops, so a delete costs a tenth of a
call at load and a finished task is never left undeleted for long. Up to
``concurrency`` delete calls run at once, so that at load deletes keep up even
when each call takes a real network round trip.

The calls run on daemon threads: `stop` waits for them up to a timeout, then
gives up on those still under way (their messages will run again), and such a
call cannot keep the process from exiting.
"""

from __future__ import annotations

import logging
import queue as queues
import threading
from collections import defaultdict
from collections.abc import Callable

from simple_worker.domain._errors import SimpleWorkerError
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.queue import MAX_BATCH_SIZE, QueuePort

logger = logging.getLogger(__name__)


class DeleteBatcher:
    """Collects receipts of finished tasks and deletes them in batches, on its own thread."""

    def __init__(
        self, queue: QueuePort, clock: ClockPort, max_wait: float = 1.0, concurrency: int = 8
    ) -> None:
        self._queue = queue
        self._calls: queues.SimpleQueue[tuple[str, list[str]]] = queues.SimpleQueue()
        self._callers = [
            threading.Thread(target=self._call, name=f"simple-worker-delete-{n}", daemon=True)
            for n in range(concurrency)
        ]
        self._clock = clock
        self._max_wait = max_wait
        self._changed = threading.Condition()
        self._pending: dict[str, list[str]] = defaultdict(list)
        self._on_deleted: dict[str, Callable[[], None]] = {}
        self._unsettled: dict[str, tuple[str, str | None]] = {}
        """Receipts added and not yet answered for: receipt -> (queue, message id)."""
        self._outstanding = 0  # batches handed to the callers and not yet answered
        self._oldest: float | None = None
        self._urgent = False
        self._stopping = False
        self._flushed_all = False
        self._thread = threading.Thread(target=self._run, name="simple-worker-deleter", daemon=True)

    def start(self) -> None:
        """Start the flushing thread and the threads that make the calls."""
        self._thread.start()
        for caller in self._callers:
            caller.start()

    def add(
        self,
        queue: str,
        receipt: str,
        *,
        urgent: bool = False,
        on_deleted: Callable[[], None] | None = None,
        message_id: str | None = None,
    ) -> None:
        """Delete ``receipt``'s message soon; ``urgent``: with the pending ones, at once.

        Urgent is for a message whose visibility runs out before ``max_wait``
        would: waiting for a fuller batch would let it be delivered again.
        ``on_deleted`` runs on a delete thread once the queue accepted this
        receipt's delete, never when it refused it (e.g. a large payload's object
        is deleted only when its message is). `stop` waits for it. ``message_id``
        names the message in the log if its delete is given up.
        """
        with self._changed:
            self._pending[queue].append(receipt)
            self._unsettled[receipt] = (queue, message_id)
            if on_deleted is not None:
                self._on_deleted[receipt] = on_deleted
            if urgent:
                self._urgent = True
                self._changed.notify_all()
            if self._oldest is None:
                # Wakes the thread so that it starts timing this receipt's max_wait.
                self._oldest = self._clock.monotonic()
                self._changed.notify_all()
            elif len(self._pending[queue]) >= MAX_BATCH_SIZE:
                self._changed.notify_all()

    def stop(self, timeout: float | None = None) -> int:
        """Flush every pending delete and wait up to ``timeout`` seconds for the calls to end.

        With no ``timeout``, wait for as long as they take. Deletes still unanswered
        by then are given up, and logged with their message ids: their calls go on
        on daemon threads, and the tasks run again after their visibility timeout.

        Returns:
            How many deletes were given up.
        """
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
            # The flushing thread hands out the rest at once: wait for it, then for the calls.
            self._changed.wait_for(lambda: self._flushed() and not self._outstanding, timeout)
            given_up = dict(self._unsettled)
        _log_given_up(given_up)
        return len(given_up)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._ready():
                    # Recomputed on every wake-up: the first receipt starts the clock.
                    self._changed.wait(self._time_left())
                stopping = self._stopping
                everything = stopping or self._urgent or self._overdue()
                self._urgent = False
                batches = self._take_batches(everything=everything)
            for queue, receipts in batches.items():
                self._calls.put((queue, receipts))
            if stopping:
                with self._changed:
                    self._flushed_all = True
                    self._changed.notify_all()
                return

    def _flushed(self) -> bool:
        return self._flushed_all or not self._thread.is_alive()

    def _call(self) -> None:
        while True:
            queue, receipts = self._calls.get()
            try:
                self._delete(queue, receipts)
            finally:
                with self._changed:
                    for receipt in receipts:
                        self._unsettled.pop(receipt, None)
                    self._outstanding -= 1
                    self._changed.notify_all()

    def _ready(self) -> bool:
        return (
            self._stopping
            or self._urgent
            or self._overdue()
            or any(len(receipts) >= MAX_BATCH_SIZE for receipts in self._pending.values())
        )

    def _overdue(self) -> bool:
        return self._oldest is not None and self._clock.monotonic() - self._oldest >= self._max_wait

    def _time_left(self) -> float | None:
        if self._oldest is None:
            return None
        return max(self._max_wait - (self._clock.monotonic() - self._oldest), 0.0)

    def _take_batches(self, *, everything: bool) -> dict[str, list[str]]:
        """Take full batches, or every pending receipt when ``everything``."""
        taken: dict[str, list[str]] = {}
        for queue, receipts in self._pending.items():
            count = (
                len(receipts) if everything else len(receipts) // MAX_BATCH_SIZE * MAX_BATCH_SIZE
            )
            if count:
                taken[queue] = receipts[:count]
                del receipts[:count]
                self._outstanding += 1
        if not any(self._pending.values()):
            self._oldest = None
        return taken

    def _delete(self, queue: str, receipts: list[str]) -> None:
        with self._changed:
            callbacks = {r: self._on_deleted.pop(r) for r in receipts if r in self._on_deleted}
        try:
            failed = self._queue.delete_batch(queue, receipts)
        except SimpleWorkerError as exc:
            failed = {receipt: str(exc) for receipt in receipts}
        except Exception as exc:  # on a pool thread, an error nobody logs would vanish
            logger.exception("Internal error deleting %d message(s) from %s", len(receipts), queue)
            failed = {receipt: repr(exc) for receipt in receipts}
        for receipt, reason in failed.items():
            log_failed_delete(queue, reason, {"queue": queue, "receipt": receipt[:32]})
        for receipt, callback in callbacks.items():
            if receipt not in failed:
                _run(callback, queue)


def log_failed_delete(queue: str, reason: str, fields: dict[str, object]) -> None:
    """Log a finished task's message that could not be deleted: it will run again."""
    logger.warning(
        "Could not delete a finished task's message from %s; it will run again: %s",
        queue,
        reason,
        extra=fields,
    )


def _log_given_up(given_up: dict[str, tuple[str, str | None]]) -> None:
    by_queue: dict[str, list[str]] = defaultdict(list)
    for receipt, (queue, message_id) in given_up.items():
        by_queue[queue].append(message_id or f"receipt {receipt[:32]}")
    for queue, names in by_queue.items():
        logger.warning(
            "Gave up deleting %d finished task message(s) from %s: the queue did not answer "
            "in time; they run again after their visibility timeout: %s",
            len(names),
            queue,
            ", ".join(names),
            extra={"queue": queue, "count": len(names), "message_ids": names},
        )


def _run(callback: Callable[[], None], queue: str) -> None:
    try:
        callback()
    except Exception:  # on a pool thread, an error nobody logs would vanish
        logger.exception("Internal error after deleting a message from %s", queue)
