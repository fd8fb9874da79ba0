"""Coalescing: single tasks from many callers share SendMessageBatch calls. Uses the ports only.

A caller hands over one validated message and waits on a future: resolved once
the queue took its task, or failed with an error about that task alone. A batch
goes out as soon as it is full (10 messages or 1 MiB) or its oldest message has
waited ``window`` seconds; with a window of 0, a batch takes whatever arrived
while the sending threads were busy, and adds no wait. Up to ``concurrency``
calls (at most `MAX_SENDERS`) are in flight at once, each on a sending thread of
its own.

Nothing a caller was told is sent can be lost here: a caller learns its task id
only after the queue answered. What the window holds at interpreter exit is sent
by `close`, which runs at exit (``atexit``); a process killed (SIGKILL, an
unhandled SIGTERM, ``os._exit``) loses what the window held, and its callers,
blocked until then, were told nothing.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import attrs

from simple_worker.domain._errors import QueueNotFound, SendFailed
from simple_worker.ports.queue import (
    MAX_BATCH_BYTES,
    MAX_BATCH_SIZE,
    OutgoingMessage,
    SendResult,
)
from simple_worker.producer._batches import ordered_groups

logger = logging.getLogger(__name__)

MAX_SEND_WINDOW = 0.1
"""Longest window, in seconds: every ``add_task`` waits up to this long before its call."""

MAX_SENDERS = 8
"""Most sending threads of a window, whatever ``send_concurrency`` says.

Measured with 64 threads calling ``add_task`` at +20 ms per call: 8 threads sent
as much as 16 in larger batches (0.110 calls per task against 0.112 with a 5 ms
window; 0.164 against 0.277 with none), as idle threads split the waiting tasks
into smaller calls. 8 calls of 10 per round trip is 3,200 tasks/s at 25 ms.
"""

SendBatch = Callable[[str, list[OutgoingMessage]], SendResult]
"""Sends one batch (at most 10 messages, 1 MiB) to a queue with one call."""


@attrs.define
class _Waiting:
    message: OutgoingMessage
    future: Future[None]
    since: float


@attrs.define
class _Pending:
    """A queue's messages waiting for a call, in arrival order."""

    ordered: bool
    """A FIFO queue: a message group's messages are never in two calls in flight at once."""
    items: list[_Waiting] = attrs.field(factory=list)
    size: int = 0
    busy: set[str] = attrs.field(factory=set)
    """Message groups of this queue's calls in flight."""

    def due_at(self, window: float) -> float:
        """Return when this queue's next batch should go (monotonic seconds)."""
        if len(self.items) >= MAX_BATCH_SIZE or self.size >= MAX_BATCH_BYTES:
            return float("-inf")
        return self.items[0].since + window

    def take(self) -> list[_Waiting]:
        """Take the next batch, in arrival order, passing over groups that are in flight."""
        batch: list[_Waiting] = []
        left: list[_Waiting] = []
        blocked = set(self.busy)
        bytes_taken = 0
        for item in self.items:
            group = item.message.group_id if self.ordered else None
            fits = len(batch) < MAX_BATCH_SIZE and (
                not batch or bytes_taken + item.message.size() <= MAX_BATCH_BYTES
            )
            if not fits or group in blocked:
                if group is not None:
                    blocked.add(group)  # a group's later messages may not overtake this one
                left.append(item)
                continue
            self.size -= item.message.size()
            if not item.future.set_running_or_notify_cancel():
                continue  # its caller gave up (a cancelled coroutine) before it went out
            batch.append(item)
            bytes_taken += item.message.size()
        self.items = left
        return batch


class Coalescer:
    """Gathers messages from many callers into shared batches; see the module."""

    def __init__(self, send: SendBatch, *, window: float, concurrency: int) -> None:
        self._send = send
        self._window = window
        self._concurrency = min(concurrency, MAX_SENDERS)
        self._reset()

    def _reset(self) -> None:
        # Also in a forked child: the parent's threads and lock are not there.
        self._pid = os.getpid()
        self._lock = threading.Condition()
        self._pending: dict[str, _Pending] = {}
        self._threads: list[threading.Thread] = []
        self._closing = False

    @property
    def window(self) -> float:
        """Seconds a message may wait for others before its batch goes out."""
        return self._window

    def submit(self, queue: str, message: OutgoingMessage, *, ordered: bool) -> Future[None] | None:
        """Queue ``message`` for the next batch to ``queue``; None once closed (send it yourself).

        The future resolves to None once the queue took the message; or raises
        `SendFailed` naming this message alone (refused, or its fate unknown), or
        `QueueNotFound`. Cancelling it before its batch goes out keeps it unsent.
        """
        if self._pid != os.getpid():
            self._reset()
        future: Future[None] = Future()
        with self._lock:
            if self._closing:
                return None
            if not self._threads:
                self._start()
            pending = self._pending.setdefault(queue, _Pending(ordered))
            pending.items.append(_Waiting(message, future, time.monotonic()))
            pending.size += message.size()
            if len(pending.items) == 1 or pending.due_at(self._window) == float("-inf"):
                self._lock.notify()  # a new deadline, or a full batch
        return future

    def pending_count(self) -> int:
        """Return how many messages wait for a call (for tests and diagnostics)."""
        with self._lock:
            return sum(len(p.items) for p in self._pending.values())

    def close(self) -> None:
        """Send everything waiting now, wait for every call, and stop the sending threads.

        Later submits are refused (`submit` returns None). Runs at interpreter exit.
        Returns once every waiting message was sent or failed: SQS's client timeouts
        bound how long that takes.
        """
        with self._lock:
            self._closing = True
            self._lock.notify_all()
            threads = list(self._threads)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join()
        atexit.unregister(self.close)

    def _start(self) -> None:
        atexit.register(self.close)
        for number in range(self._concurrency):
            thread = threading.Thread(
                target=self._run, name=f"simple-worker-coalesce-{number}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                taken = self._next_batch()
            if taken is None:
                return
            queue, pending, batch, groups = taken
            try:
                _deliver(queue, batch, self._send)
            finally:
                with self._lock:
                    pending.busy -= groups
                    self._lock.notify_all()

    def _next_batch(self) -> tuple[str, _Pending, list[_Waiting], set[str]] | None:
        """Wait for a batch that is due, and take it; None once closing with nothing left.

        Returns the queue, its pending messages, the batch, and the message groups the
        batch booked (to free once its call ended).
        """
        while True:
            now = time.monotonic()
            wake_at = float("inf")
            for queue, pending in self._pending.items():
                if not pending.items:
                    continue
                due_at = float("-inf") if self._closing else pending.due_at(self._window)
                if due_at <= now:
                    batch = pending.take()
                    if batch:
                        messages = [item.message for item in batch]
                        groups = ordered_groups(messages, ordered=pending.ordered)
                        pending.busy |= groups
                        if pending.items:
                            self._lock.notify()  # another thread keeps the rest's deadline
                        return queue, pending, batch, groups
                    # Every message waits for its group's call in flight: woken by its end.
                else:
                    wake_at = min(wake_at, due_at)
            if self._closing and not any(p.items for p in self._pending.values()):
                return None
            self._lock.wait(None if wake_at == float("inf") else max(0.0, wake_at - now))


def _deliver(queue: str, batch: list[_Waiting], send: SendBatch) -> None:
    """Send one batch and resolve each caller's future with its own task's fate."""
    try:
        result = send(queue, [item.message for item in batch])
    except Exception as exc:  # noqa: BLE001 - the port's errors, handed to each caller
        for item in batch:
            error: Exception = (
                QueueNotFound([queue])
                if isinstance(exc, QueueNotFound)
                else SendFailed(queue, (), {}, (item.message.id,))
            )
            error.__cause__ = exc
            item.future.set_exception(error)
        return
    except BaseException:
        for item in batch:
            item.future.set_exception(SendFailed(queue, (), {}, (item.message.id,)))
        raise
    sent = set(result.sent)
    for item in batch:
        task_id = item.message.id
        if task_id in sent:
            item.future.set_result(None)
        elif task_id in result.failed:
            item.future.set_exception(SendFailed(queue, (), {task_id: result.failed[task_id]}))
        else:
            item.future.set_exception(SendFailed(queue, (), {}, (task_id,)))
