"""Messages a worker holds: received and not yet finished, buffered or running.

The worker must keep every held message invisible (so no other worker gets it)
and, when it stops, release the buffered ones at once. This module keeps the
books: which messages are held, when each one's visibility runs out, and which
are waiting for a task thread. Thread-safe.

On FIFO queues (see `HeldMessages.keep_group_order`) it also keeps each message
group in order: a group's next message is not taken before the one before it
finished, and when one does not succeed, the rest of its group that is buffered
is handed back to be released, so that SQS delivers them again after it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence

import attrs

from simple_worker.ports.clock import ClockPort
from simple_worker.ports.queue import ReceivedMessage


@attrs.define
class _Held:
    message: ReceivedMessage
    deadline: float
    """Monotonic time at which the message turns visible again, unless extended."""
    received: float
    """Monotonic time at which it was received."""


_Group = tuple[str, str]
"""A FIFO message group: its queue's name and its group id."""


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
        """Buffered messages a task thread may take now."""
        self._behind: dict[_Group, deque[_Held]] = {}
        """Buffered FIFO messages behind an earlier one of their group, buffered or running."""
        self._busy_groups: set[_Group] = set()
        """FIFO groups with a message in ``_buffer`` or running."""
        self._buffered = 0
        self._ordered_queues: frozenset[str] = frozenset()
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
            return limit - self._buffered - self._reserved

        with self._lock:
            self._wanted = wanted
            self._room.wait_for(lambda: self._closed or room() >= wanted, timeout)
            if self._closed or room() < wanted:
                return 0
            self._reserved += wanted
            return wanted

    def keep_group_order(self, queues: Iterable[str]) -> None:
        """Run each message group of these (FIFO) queues one message at a time, in order.

        Call it before messages are added. Group ids on other queues (fair-queue
        tenants on standard queues) order nothing.
        """
        with self._lock:
            self._ordered_queues = frozenset(queues)

    def add(
        self, messages: Sequence[ReceivedMessage], visibility_timeout: int, reserved: int
    ) -> bool:
        """Buffer messages a receive booked ``reserved`` places for; False once closed.

        Once closed nothing is buffered: the caller releases the messages. A FIFO
        message whose group has one buffered or running waits behind it.
        """
        now = self._clock.monotonic()
        deadline = now + visibility_timeout
        with self._lock:
            self._reserved -= reserved
            if reserved > len(messages):  # a short receive left booked room unused
                self._room.notify_all()
            if self._closed:
                return False
            ready = 0
            for message in messages:
                held = _Held(message, deadline, now)
                group = self._group(message)
                if group in self._busy_groups:
                    self._behind.setdefault(group, deque()).append(held)
                    continue
                if group is not None:
                    self._busy_groups.add(group)
                self._buffer.append(held)
                ready += 1
            self._buffered += len(messages)
            self._work.notify(ready)
            return True

    def take(self, timeout: float) -> ReceivedMessage | None:
        """Move the oldest takeable buffered message to running and return it; None if none came.

        Takeable: any but a FIFO message behind an earlier one of its group.
        """
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
            self._buffered -= 1
            self._running[held.message.receipt] = held
            if self.capacity - self._buffered - self._reserved >= self._wanted:
                self._room.notify_all()
            return held.message

    def finish(
        self, message: ReceivedMessage, *, succeeded: bool = True
    ) -> tuple[float, list[ReceivedMessage]]:
        """Forget a running message: its task ended, so it needs no more visibility.

        On a FIFO queue, its group's next buffered message becomes takeable if it
        ``succeeded``; if not, the rest of its group leaves the buffer, to be
        released: run now, they would overtake it, which SQS delivers again first.

        Returns:
            The seconds left before the message turns visible again, so that a
            caller can hurry its delete when little is left; and the buffered
            messages the caller must release (visibility 0), oldest first.
        """
        with self._lock:
            held = self._running.pop(message.receipt, None)
            group = self._group(message)
            released: list[ReceivedMessage] = []
            if held is not None and group is not None:
                behind = self._behind.pop(group, None)
                if behind and succeeded:
                    self._buffer.append(behind.popleft())
                    if behind:
                        self._behind[group] = behind
                    self._work.notify()
                else:
                    self._busy_groups.discard(group)
                    released = [h.message for h in behind or ()]
                    self._buffered -= len(released)
                    if released:
                        self._room.notify_all()
        left = float("inf") if held is None else held.deadline - self._clock.monotonic()
        return left, released

    def group_idle(self, message: ReceivedMessage) -> bool:
        """Return whether ``message`` keeps a FIFO group's order and none of its group is held.

        Such a group stays locked in SQS until this message is deleted, so its
        delete is worth hurrying.
        """
        with self._lock:
            group = self._group(message)
            return group is not None and group not in self._busy_groups

    def close(self) -> list[ReceivedMessage]:
        """Stop buffering and taking; return the buffered messages, to be released."""
        with self._lock:
            self._closed = True
            released = [held.message for held in self._buffered_held()]
            self._buffer.clear()
            self._behind.clear()
            self._buffered = 0
            self._work.notify_all()
            self._room.notify_all()
            return released

    def _group(self, message: ReceivedMessage) -> _Group | None:
        """Return the FIFO group whose order ``message`` keeps; None if it keeps none."""
        if message.group_id is None or message.queue not in self._ordered_queues:
            return None
        return message.queue, message.group_id

    def _buffered_held(self) -> Iterator[_Held]:
        yield from self._buffer
        for behind in self._behind.values():
            yield from behind

    def _starving(self) -> bool:
        # Messages behind their group's running one do not feed an idle thread.
        return not self._buffer and self._idle_takers > 0

    def in_ordered_group(self, message: ReceivedMessage) -> bool:
        """Return whether ``message`` keeps a FIFO group's order (see `keep_group_order`)."""
        with self._lock:
            return self._group(message) is not None

    def held_for(self, message: ReceivedMessage) -> float:
        """Return the seconds since a running message was received (0.0 if not held)."""
        with self._lock:
            held = self._running.get(message.receipt)
        return 0.0 if held is None else self._clock.monotonic() - held.received

    def seconds_left(self, message: ReceivedMessage) -> float:
        """Return the seconds before a running message turns visible again (inf if not held)."""
        with self._lock:
            held = self._running.get(message.receipt)
        return float("inf") if held is None else held.deadline - self._clock.monotonic()

    def running_count(self) -> int:
        """Return how many messages are running."""
        with self._lock:
            return len(self._running)

    def running(self) -> list[ReceivedMessage]:
        """Return the running messages, in the order their tasks started."""
        with self._lock:
            return [held.message for held in self._running.values()]

    def buffered_count(self) -> int:
        """Return how many messages wait in the buffer."""
        with self._lock:
            return self._buffered

    def due_for_extension(self, timeouts: dict[str, int]) -> list[tuple[ReceivedMessage, int]]:
        """Return held messages past half their queue's visibility timeout, with that timeout.

        Nothing is booked here: the caller reports the extensions that went through
        with `extended`, so a failed one is due again at the next look, not half a
        timeout later (when the message may be visible already).
        """
        now = self._clock.monotonic()
        with self._lock:
            held = [*self._buffered_held(), *self._running.values()]
        return [
            (h.message, timeouts[h.message.queue])
            for h in held
            if h.deadline - now <= timeouts[h.message.queue] / 2
        ]

    def extended(self, receipts: Iterable[str], timeout: int, since: float) -> None:
        """Book the visibility of ``receipts`` as extended by ``timeout`` from ``since``."""
        wanted = set(receipts)
        with self._lock:
            for held in [*self._buffered_held(), *self._running.values()]:
                if held.message.receipt in wanted:
                    held.deadline = since + timeout
