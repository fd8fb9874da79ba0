"""Messages a worker holds: received and not yet finished, buffered or running.

The worker must keep every held message invisible (so no other worker gets it)
and, when it stops, release the buffered ones at once. This module keeps the
books: which messages are held, when each one's visibility runs out, and which
are waiting for a task thread. Thread-safe.

Each queue has its own line of buffered messages. Its receivers book places in
the shared buffer before they receive, as `BufferRoom` shares them out (every
queue can always poll; busy queues share the rest by weight), and task threads
take from the queues in weighted turns (`WeightedTurns`), each queue's messages
in the order received.

On FIFO queues (see `HeldMessages.keep_group_order`) it also keeps each message
group in order: a group's next message is not taken before the one before it
finished, and when one does not succeed, the rest of its group that is buffered
is handed back to be released, so that SQS delivers them again after it.

With per-task concurrency limits (`TaskSlots`), a thread takes the oldest
message that can start: one whose task has all its slots taken stays buffered,
hidden by the heartbeat, until a task of its name finishes; while no buffered
message can start, receivers may book beyond the buffer's capacity as they do
for starving threads, so that other tasks keep arriving.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence

import attrs

from simple_worker.consumer._room import BufferRoom
from simple_worker.consumer._slots import TaskSlots
from simple_worker.consumer._turns import WeightedTurns
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
        capacity: how many messages may wait in the buffer; at least one per queue.
        weights: every queue consumed, by name, with its weight (see `BufferRoom`).
        slots: per-task concurrency limits; None when no task has one.

    Raises:
        ValueError: ``capacity`` is below the number of queues, or a weight below 1.
    """

    def __init__(
        self,
        clock: ClockPort,
        capacity: int,
        weights: Mapping[str, int],
        slots: TaskSlots | None = None,
    ) -> None:
        self._clock = clock
        self._slots = slots
        self.capacity = capacity
        self._room = BufferRoom(capacity, weights)
        self._turns = WeightedTurns(weights)
        # One lock; a message arriving wakes a task thread, room freeing up wakes the
        # receivers of the queues it lets book; neither wakes the other kind for nothing.
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._room_freed = {name: threading.Condition(self._lock) for name in weights}
        self._waiting = dict.fromkeys(weights, 0)
        """Receivers waiting for room, by queue."""
        self._extra = dict.fromkeys(weights, 0)
        """The most any of a queue's receivers may book beyond its share while threads starve."""
        self._ready: dict[str, deque[_Held]] = {name: deque() for name in weights}
        """Buffered messages a task thread may take now, by queue, in the order received."""
        self._ready_count = 0
        self._lone = next(iter(weights)) if len(weights) == 1 else None
        """The only queue, if there is one: no turns to take."""
        self._behind: dict[_Group, deque[_Held]] = {}
        """Buffered FIFO messages behind an earlier one of their group, buffered or running."""
        self._busy_groups: set[_Group] = set()
        """FIFO groups with a message ready or running."""
        self._buffered = 0
        self._ordered_queues: frozenset[str] = frozenset()
        self._running: dict[str, _Held] = {}
        self._idle_takers = 0
        self._closed = False

    def reserve(self, queue: str, timeout: float, *, extra: int = 0) -> int:
        """Wait up to ``timeout`` for room for a receive of ``queue``; book it and return it.

        Returns how many messages the receive may ask for (1 to 10), or 0 if no
        room came (or the buffer closed). Room counts buffered messages and those
        booked by receives still under way, so the buffer never holds more than
        ``capacity``; `BufferRoom.grant` says how much each queue gets. A receiver
        may go ``extra`` beyond it while no message is ready and task threads wait
        for work: tasks are then so quick that more receives must overlap to keep
        them busy.
        """
        with self._lock:
            self._extra[queue] = max(self._extra[queue], extra)
            self._waiting[queue] += 1
            try:
                self._room_freed[queue].wait_for(
                    lambda: self._closed or self._grant(queue, extra) > 0, timeout
                )
            finally:
                self._waiting[queue] -= 1
            granted = 0 if self._closed else self._grant(queue, extra)
            if granted:
                self._room.book(queue, granted)
            return granted

    def keep_group_order(self, queues: Iterable[str]) -> None:
        """Run each message group of these (FIFO) queues one message at a time, in order.

        Call it before messages are added. Group ids on other queues (fair-queue
        tenants on standard queues) order nothing.
        """
        with self._lock:
            self._ordered_queues = frozenset(queues)

    def add(
        self,
        queue: str,
        messages: Sequence[ReceivedMessage],
        visibility_timeout: int,
        reserved: int,
    ) -> bool:
        """Buffer what a receive of ``queue`` that booked ``reserved`` places brought.

        Returns False once closed: nothing is buffered then, and the caller releases
        the messages. An empty receive (or a failed one: add none) makes the queue
        idle (see `BufferRoom`). A FIFO message whose group has one ready or
        running waits behind it.
        """
        now = self._clock.monotonic()
        deadline = now + visibility_timeout
        with self._lock:
            self._room.received(queue, reserved, 0 if self._closed else len(messages))
            if self._closed:
                return False
            ready = 0
            line = self._ready[queue]
            for message in messages:
                held = _Held(message, deadline, now)
                group = self._group(message)
                if group in self._busy_groups:
                    self._behind.setdefault(group, deque()).append(held)
                    continue
                if group is not None:
                    self._busy_groups.add(group)
                line.append(held)
                ready += 1
            self._buffered += len(messages)
            self._ready_count += ready
            self._work.notify(ready)
            # A short receive frees places, and a queue turning idle or busy moves shares.
            self._wake_receivers()
            return True

    def take(self, timeout: float) -> ReceivedMessage | None:
        """Move the next ready message to running and return it; None if none came.

        The queue whose turn it is (see `WeightedTurns`) gives its oldest ready
        message: any but a FIFO message behind an earlier one of its group.
        """
        with self._lock:
            self._idle_takers += 1
            if not self._ready_count:
                self._wake_receivers()  # receivers may now overlap (see `reserve`)
            try:
                self._work.wait_for(lambda: self._closed or self._can_start(), timeout)
            finally:
                self._idle_takers -= 1
            if self._closed or not self._can_start():
                return None
            held = self._next()
            self._ready_count -= 1
            self._buffered -= 1
            self._room.left(held.message.queue)
            self._running[held.message.receipt] = held
            self._wake_receivers()
            return held.message

    def _can_start(self) -> bool:
        """Return whether a ready message can start now."""
        if self._slots is None:
            return self._ready_count > 0
        admits = self._slots.admits
        return any(admits(h.message) for line in self._ready.values() for h in line)

    def _next(self) -> _Held:
        """Remove and return the message whose turn it is; `_can_start` said there is one."""
        if self._slots is None:
            queue = self._lone or self._turns.next([q for q, line in self._ready.items() if line])
            return self._ready[queue].popleft()
        admits = self._slots.admits
        first: dict[str, int] = {}  # the queues with a message that can start: its place
        for queue, line in self._ready.items():
            index = next((i for i, h in enumerate(line) if admits(h.message)), None)
            if index is not None:
                first[queue] = index
        queue = self._turns.next(list(first))
        line = self._ready[queue]
        held = line[first[queue]]
        del line[first[queue]]
        self._slots.started(held.message)
        return held

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
            if self._slots is not None and self._slots.ended(message):
                self._work.notify_all()  # a message that waited for this slot may start
            group = self._group(message)
            released: list[ReceivedMessage] = []
            if held is not None and group is not None:
                behind = self._behind.pop(group, None)
                if behind and succeeded:
                    self._ready[message.queue].append(behind.popleft())
                    self._ready_count += 1
                    if behind:
                        self._behind[group] = behind
                    self._work.notify()
                else:
                    self._busy_groups.discard(group)
                    released = [h.message for h in behind or ()]
                    self._forget(released)
                    if released:
                        self._buffered -= len(released)
                        self._room.left(message.queue, len(released))
                        self._wake_receivers()
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
            held = list(self._buffered_held())
            self._forget(item.message for item in held)
            for item in held:
                self._room.left(item.message.queue)
            for line in self._ready.values():
                line.clear()
            self._behind.clear()
            self._buffered = self._ready_count = 0
            self._work.notify_all()
            for freed in self._room_freed.values():
                freed.notify_all()
            return [item.message for item in held]

    def _grant(self, queue: str, extra: int) -> int:
        # Extra places only while no message is ready and a task thread waits for one;
        # messages behind their group's running one do not feed an idle thread.
        starving = self._idle_takers > 0 and not self._can_start()
        return self._room.grant(queue, extra if starving else 0)

    def _forget(self, messages: Iterable[ReceivedMessage]) -> None:
        if self._slots is not None:
            for message in messages:
                self._slots.forget(message)

    def _wake_receivers(self) -> None:
        """Wake the waiting receivers of every queue that may now book."""
        for queue, waiting in self._waiting.items():
            if waiting and self._grant(queue, self._extra[queue]):
                self._room_freed[queue].notify_all()

    def _group(self, message: ReceivedMessage) -> _Group | None:
        """Return the FIFO group whose order ``message`` keeps; None if it keeps none."""
        if message.group_id is None or message.queue not in self._ordered_queues:
            return None
        return message.queue, message.group_id

    def _buffered_held(self) -> Iterator[_Held]:
        for line in self._ready.values():
            yield from line
        for behind in self._behind.values():
            yield from behind

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

    def held_counts(self) -> dict[str, int]:
        """Return the places each queue holds in the buffer: buffered, and booked by receives."""
        with self._lock:
            return {queue: self._room.used(queue) for queue in self._ready}

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
