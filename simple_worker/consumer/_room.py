"""How the queues of one worker share the places of its buffer. Pure: no lock, no clock.

Every receive books places for what it asks before it is sent (`grant`, `book`),
so the buffer never holds more than its capacity. The places are shared so that
no queue locks another out, whatever the number of queues and the capacity:

- a queue that holds nothing (no message buffered, no receive under way) is owed
  one place, which no other queue may book: its lead receiver can always start a
  long poll, so every queue is polled;
- a queue is *idle* until a receive brings it a message, and again after an
  empty one. An idle queue asks for one message at a time, so its empty long
  polls hold one place each, never a batch's worth;
- the queues that are not idle (*busy*) share the rest by weight: each may hold
  up to its weighted part, and asks for up to ten at a time within it. A busy
  queue among idle ones therefore receives full batches, as a lone queue does.

A lone queue has nothing to share: it is never idle, and asks for ten at once.

The caller (`HeldMessages`) holds the lock around every call.
"""

from __future__ import annotations

from collections.abc import Mapping

from simple_worker.ports.queue import MAX_BATCH_SIZE


class BufferRoom:
    """The places each queue holds (buffered or booked by a receive under way), and its share.

    Args:
        capacity: the buffer's places; at least one per queue.
        weights: every queue's weight (a positive int), by name.

    Raises:
        ValueError: fewer places than queues, or a weight below 1.
    """

    def __init__(self, capacity: int, weights: Mapping[str, int]) -> None:
        if capacity < len(weights):
            raise ValueError(f"a buffer of {capacity} cannot give {len(weights)} queues a place")
        if any(weight < 1 for weight in weights.values()):
            raise ValueError(f"weights must be at least 1: {dict(weights)}")
        self.capacity = capacity
        self._weights = dict(weights)
        self._used = dict.fromkeys(weights, 0)
        self._total = 0
        self._empty = len(weights)
        """How many queues hold nothing: each is owed a place."""
        self._lone = len(weights) == 1
        self._busy = dict.fromkeys(weights, self._lone)
        self._busy_count = int(self._lone)
        self._busy_weight = sum(self._weights.values()) if self._lone else 0

    def used(self, queue: str) -> int:
        """Return the places ``queue`` holds: its buffered messages and its bookings."""
        return self._used[queue]

    def total(self) -> int:
        """Return the places all queues hold."""
        return self._total

    def share(self, queue: str) -> int:
        """Return how many places ``queue`` may hold: 1 while idle, else its weighted part."""
        if not self._busy[queue]:
            return 1
        # Idle queues keep one place each; busy ones divide the rest by weight.
        rest = self.capacity - (len(self._weights) - self._busy_count)
        return max(1, rest * self._weights[queue] // self._busy_weight)

    def grant(self, queue: str, extra: int = 0) -> int:
        """Return how many messages a receive of ``queue`` may ask for now; 0: wait.

        A receive asks for up to ten within its queue's `share`, and waits until
        that many fit, so that a busy queue keeps receiving full batches. But a
        queue that holds nothing is granted what is free at once (at least one
        place, which it is owed), so its lead receiver never waits for room that
        another queue holds.

        ``extra`` places beyond the capacity, and beyond the queue's share, are
        granted to the caller's receivers while task threads starve (see
        `HeldMessages.reserve`); they do not count for the place owed to others.
        """
        used = self._used[queue]
        share = self.share(queue)
        wanted = min(MAX_BATCH_SIZE, share)
        owed = self._empty - (used == 0)
        free = self.capacity + extra - self._total - owed
        if wanted <= free and used + wanted <= share + extra:
            return wanted
        if used == 0:
            return max(1, min(wanted, free))
        return 0

    def book(self, queue: str, count: int) -> None:
        """Book ``count`` places for a receive of ``queue`` about to be sent."""
        self._change(queue, count)

    def received(self, queue: str, booked: int, count: int) -> None:
        """Settle a receive that booked ``booked`` places and brought ``count`` messages.

        The queue is busy from a receive that brought something, idle from an empty
        one (a failed receive counts as empty).
        """
        self._change(queue, count - booked)
        busy = count > 0 or self._lone
        if busy != self._busy[queue]:
            self._busy[queue] = busy
            sign = 1 if busy else -1
            self._busy_count += sign
            self._busy_weight += sign * self._weights[queue]

    def left(self, queue: str, count: int = 1) -> None:
        """Free the places of ``count`` messages of ``queue`` that left the buffer."""
        self._change(queue, -count)

    def _change(self, queue: str, count: int) -> None:
        before = self._used[queue]
        after = before + count
        if after < 0:
            raise ValueError(f"queue {queue} would hold {after} places")
        self._used[queue] = after
        self._total += count
        self._empty += (after == 0) - (before == 0)
