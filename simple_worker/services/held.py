"""Messages a worker holds: received and not yet finished, buffered or running.

The worker must keep every held message invisible (so no other worker gets it)
and, when it stops, release the buffered ones at once. This module keeps the
books: which messages are held, when each one's visibility runs out, and which
are waiting for a task thread. Thread-safe.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence

import attrs

from simple_worker.ports.clock import ClockPort
from simple_worker.ports.queue import ReceivedMessage


@attrs.define
class _Held:
    message: ReceivedMessage
    deadline: float
    """Monotonic time at which the message turns visible again, unless extended."""


class HeldMessages:
    """The buffer of received messages and the set of running ones, with their deadlines.

    Args:
        clock: the source of monotonic time for visibility deadlines.
        capacity: how many messages may wait in the buffer.
    """

    def __init__(self, clock: ClockPort, capacity: int) -> None:
        self._clock = clock
        self.capacity = capacity
        # One lock, two conditions: a message arriving wakes a task thread, room
        # freeing up wakes receivers; neither wakes the other kind for nothing.
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._room = threading.Condition(self._lock)
        self._buffer: deque[_Held] = deque()
        self._running: dict[str, _Held] = {}
        self._reserved = 0
        self._wanted = 1
        self._idle_takers = 0
        self._closed = False

    def reserve(self, wanted: int, timeout: float, *, extra: int = 0) -> int:
        """Wait up to ``timeout`` for room for ``wanted`` messages, and book it; return 0 if none.

        Room counts buffered messages and those booked by receives still under way,
        so the buffer never holds more than ``capacity``. A receiver may go ``extra``
        beyond it while the buffer is empty and task threads wait for work: tasks
        are then so quick that more receives must overlap to keep them busy.
        """

        def room() -> int:
            limit = self.capacity + (extra if self._starving() else 0)
            return limit - len(self._buffer) - self._reserved

        with self._lock:
            self._wanted = wanted
            self._room.wait_for(lambda: self._closed or room() >= wanted, timeout)
            if self._closed or room() < wanted:
                return 0
            self._reserved += wanted
            return wanted

    def add(
        self, messages: Sequence[ReceivedMessage], visibility_timeout: int, reserved: int
    ) -> bool:
        """Buffer messages a receive booked ``reserved`` places for; False once closed.

        Once closed nothing is buffered: the caller releases the messages.
        """
        deadline = self._clock.monotonic() + visibility_timeout
        with self._lock:
            self._reserved -= reserved
            if reserved > len(messages):  # a short receive left booked room unused
                self._room.notify_all()
            if self._closed:
                return False
            self._buffer.extend(_Held(message, deadline) for message in messages)
            self._work.notify(len(messages))
            return True

    def take(self, timeout: float) -> ReceivedMessage | None:
        """Move the oldest buffered message to running and return it; None if none came."""
        with self._lock:
            self._idle_takers += 1
            if not self._buffer:
                self._room.notify_all()  # receivers may now overlap (see `reserve`)
            try:
                self._work.wait_for(lambda: self._closed or self._buffer, timeout)
            finally:
                self._idle_takers -= 1
            if self._closed or not self._buffer:
                return None
            held = self._buffer.popleft()
            self._running[held.message.receipt] = held
            if self.capacity - len(self._buffer) - self._reserved >= self._wanted:
                self._room.notify_all()
            return held.message

    def finish(self, message: ReceivedMessage) -> float:
        """Forget a running message: its task ended, so it needs no more visibility.

        Returns:
            The seconds left before the message turns visible again, so that a
            caller can hurry its delete when little is left.
        """
        with self._lock:
            held = self._running.pop(message.receipt, None)
        return float("inf") if held is None else held.deadline - self._clock.monotonic()

    def close(self) -> list[ReceivedMessage]:
        """Stop buffering and taking; return the buffered messages, to be released."""
        with self._lock:
            self._closed = True
            released = [held.message for held in self._buffer]
            self._buffer.clear()
            self._work.notify_all()
            self._room.notify_all()
            return released

    def _starving(self) -> bool:
        return not self._buffer and self._idle_takers > 0

    def running_count(self) -> int:
        """Return how many messages are running."""
        with self._lock:
            return len(self._running)

    def buffered_count(self) -> int:
        """Return how many messages wait in the buffer."""
        with self._lock:
            return len(self._buffer)

    def due_for_extension(self, timeouts: dict[str, int]) -> list[tuple[ReceivedMessage, int]]:
        """Return held messages past half their queue's visibility timeout, with that timeout.

        Nothing is booked here: the caller reports the extensions that went through
        with `extended`, so a failed one is due again at the next look, not half a
        timeout later (when the message may be visible already).
        """
        now = self._clock.monotonic()
        with self._lock:
            held = [*self._buffer, *self._running.values()]
        return [
            (h.message, timeouts[h.message.queue])
            for h in held
            if h.deadline - now <= timeouts[h.message.queue] / 2
        ]

    def extended(self, receipts: Iterable[str], timeout: int, since: float) -> None:
        """Book the visibility of ``receipts`` as extended by ``timeout`` from ``since``."""
        wanted = set(receipts)
        with self._lock:
            for held in [*self._buffer, *self._running.values()]:
                if held.message.receipt in wanted:
                    held.deadline = since + timeout
