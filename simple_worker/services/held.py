"""Messages a worker holds: received and not yet finished, buffered or running.

The worker must keep every held message invisible (so no other worker gets it)
and, when it stops, release the buffered ones at once. This module keeps the
books: which messages are held, when each one's visibility runs out, and which
are waiting for a task thread. Thread-safe.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

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
        self._changed = threading.Condition()
        self._buffer: deque[_Held] = deque()
        self._running: dict[str, _Held] = {}
        self._closed = False

    def room(self) -> int:
        """Return how many more messages the buffer takes."""
        with self._changed:
            return max(self.capacity - len(self._buffer), 0)

    def wait_for_room(self, wanted: int, timeout: float) -> int:
        """Wait up to ``timeout`` for room for ``wanted`` messages; return the room there is."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._closed or self.capacity - len(self._buffer) >= wanted, timeout
            )
            return 0 if self._closed else max(self.capacity - len(self._buffer), 0)

    def add(self, messages: Sequence[ReceivedMessage], visibility_timeout: int) -> bool:
        """Buffer freshly received messages; False (and nothing buffered) once closed."""
        deadline = self._clock.monotonic() + visibility_timeout
        with self._changed:
            if self._closed:
                return False
            self._buffer.extend(_Held(message, deadline) for message in messages)
            self._changed.notify_all()
            return True

    def take(self, timeout: float) -> ReceivedMessage | None:
        """Move the oldest buffered message to running and return it; None if none came."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or self._buffer, timeout)
            if self._closed or not self._buffer:
                return None
            held = self._buffer.popleft()
            self._running[held.message.receipt] = held
            self._changed.notify_all()
            return held.message

    def finish(self, message: ReceivedMessage) -> None:
        """Forget a running message: its task ended, so it needs no more visibility."""
        with self._changed:
            self._running.pop(message.receipt, None)
            self._changed.notify_all()

    def close(self) -> list[ReceivedMessage]:
        """Stop buffering and taking; return the buffered messages, to be released."""
        with self._changed:
            self._closed = True
            released = [held.message for held in self._buffer]
            self._buffer.clear()
            self._changed.notify_all()
            return released

    def running_count(self) -> int:
        """Return how many messages are running."""
        with self._changed:
            return len(self._running)

    def buffered_count(self) -> int:
        """Return how many messages wait in the buffer."""
        with self._changed:
            return len(self._buffer)

    def due_for_extension(self, timeouts: dict[str, int]) -> list[tuple[ReceivedMessage, int]]:
        """Return held messages past half their queue's visibility timeout.

        Each is booked as extended by its queue's timeout (from ``timeouts``) from
        now, and returned with that timeout for the caller to send to the queue.
        Extending at half-time leaves the other half for the call to get through.
        """
        now = self._clock.monotonic()
        due: list[tuple[ReceivedMessage, int]] = []
        with self._changed:
            for held in [*self._buffer, *self._running.values()]:
                timeout = timeouts[held.message.queue]
                if held.deadline - now <= timeout / 2:
                    held.deadline = now + timeout
                    due.append((held.message, timeout))
        return due
