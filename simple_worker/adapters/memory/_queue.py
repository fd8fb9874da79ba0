"""The in-memory queue: an adapter of `QueuePort` that keeps messages in this process.

It behaves like SQS where tests care: visibility timeouts, delays and receive counts
driven by a `ClockPort`, a new receipt per receive, redrive to a dead-letter queue,
size limits, message attributes and group ids, long polling, and FIFO queues (a
name ending in ``.fifo``): group order, group locking, deduplication. Thread-safe:
one lock guards all of an instance's queues, and two instances share nothing.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Mapping, Sequence

import attrs

from simple_worker.adapters._send_rules import check_receive, refusal
from simple_worker.adapters.system._clock import SystemClock
from simple_worker.domain._errors import QueueNotFound
from simple_worker.domain._queue_rules import is_fifo_queue
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.queue import (
    MAX_BATCH_SIZE,
    MAX_MESSAGE_SIZE,
    MAX_VISIBILITY_TIMEOUT,
    OutgoingMessage,
    QueueInfo,
    QueueStats,
    ReceivedMessage,
    SendResult,
    VisibilityChange,
)

MAX_RECEIVE_COUNT = 1000  # SQS's limit for a redrive policy
DEDUPLICATION_INTERVAL = 300
"""Seconds a FIFO queue remembers a deduplication id, as in SQS."""
_POLL_INTERVAL = 0.1  # real seconds between looks at the clock while invisible messages wait


@attrs.define
class _Message:
    id: str
    body: str
    visible_at: float
    group_id: str | None = None
    attributes: Mapping[str, str] = attrs.field(factory=dict)
    receive_count: int = 0
    receipt: str | None = None
    """The receipt of the latest receive: the only one that may act on the message."""


@attrs.define
class _Queue:
    name: str
    info: QueueInfo
    dead_letter: _Queue | None = None
    messages: dict[str, _Message] = attrs.field(factory=dict)
    """By message id, oldest first (a dict keeps insertion order)."""
    deduplication_ids: dict[str, float] = attrs.field(factory=dict)
    """FIFO: deduplication id to when it is forgotten, oldest first."""

    def is_duplicate(self, deduplication_id: str, now: float) -> bool:
        """Remember a FIFO message's id; True if it was sent in the last five minutes."""
        ids = self.deduplication_ids
        # Ids expire in the order they came (one interval, a monotonic clock).
        while ids and next(iter(ids.values())) <= now:
            del ids[next(iter(ids))]
        if deduplication_id in ids:
            return True
        ids[deduplication_id] = now + DEDUPLICATION_INTERVAL
        return False


class InMemoryQueue:
    """A `QueuePort` whose queues live in memory, for tests and testing mode.

    Beyond the port: `create_queue` and `purge`, and `bodies` and `queue_names` for tests. A
    queue whose name ends in ``.fifo`` is a FIFO queue, however it was created.

    Args:
        clock: Drives visibility timeouts; a `SystemClock` unless given. With a
            `FakeClock`, a message turns visible again only when the test advances it.
        auto_create: Create an unknown queue on first use, with the defaults below,
            instead of raising `QueueNotFound`.
        max_message_size: Default body limit, in bytes, of the queues created here.
        visibility_timeout: Default visibility timeout, in seconds, of the queues created here.

    Raises:
        ValueError: a default is out of range.
    """

    def __init__(
        self,
        clock: ClockPort | None = None,
        *,
        auto_create: bool = False,
        max_message_size: int = MAX_MESSAGE_SIZE,
        visibility_timeout: int = 30,
    ) -> None:
        self._clock = clock if clock is not None else SystemClock()
        self._auto_create = auto_create
        self._defaults = _checked(QueueInfo("memory://", max_message_size, visibility_timeout))
        self._queues: dict[str, _Queue] = {}
        self._changed = threading.Condition(threading.Lock())

    def create_queue(
        self,
        name: str,
        *,
        visibility_timeout: int | None = None,
        max_message_size: int | None = None,
        dead_letter_queue: str | None = None,
        max_receive_count: int | None = None,
        content_based_deduplication: bool = False,
    ) -> None:
        """Create queue ``name``; creating it again with the same settings does nothing.

        A name ending in ``.fifo`` makes a FIFO queue, as in SQS.

        Args:
            name: The queue's full name.
            visibility_timeout: Seconds, 0 to 43,200; the instance's default if None.
            max_message_size: Largest body in bytes; the instance's default if None.
            dead_letter_queue: An existing queue that takes a message in place of a
                receiver once it has been received ``max_receive_count`` times.
            max_receive_count: 1 to 1,000; given with ``dead_letter_queue`` or not at all.
            content_based_deduplication: FIFO queues only: a message sent without a
                deduplication id is deduplicated by its body's SHA-256 hash.

        Raises:
            QueueNotFound: ``dead_letter_queue`` does not exist.
            ValueError: a setting is out of range, the dead-letter queue is not of the
                queue's type (FIFO or standard), or the queue exists with other settings.
        """
        if visibility_timeout is None:
            visibility_timeout = self._defaults.visibility_timeout
        if max_message_size is None:
            max_message_size = self._defaults.max_message_size
        info = _checked(
            QueueInfo(
                f"memory://{name}",
                max_message_size,
                visibility_timeout,
                dead_letter_queue,
                max_receive_count,
                fifo=is_fifo_queue(name),
                content_based_deduplication=content_based_deduplication,
            )
        )
        with self._changed:
            dead_letter = None
            if dead_letter_queue is not None:
                dead_letter = self._queues.get(dead_letter_queue)
                if dead_letter is None:
                    raise QueueNotFound([dead_letter_queue])
                if dead_letter.info.fifo != info.fifo:
                    raise ValueError(
                        f"queue {name!r} and its dead-letter queue {dead_letter_queue!r} must "
                        "both be FIFO queues or both standard, as in SQS"
                    )
            existing = self._queues.setdefault(name, _Queue(name, info, dead_letter))
            if existing.info != info:
                raise ValueError(f"queue {name!r} exists with other settings: {existing.info}")

    def describe(self, queue: str) -> QueueInfo:
        """Return the queue's URL (``memory://<name>``), limits, redrive settings and type.

        Raises:
            QueueNotFound: the queue does not exist (and ``auto_create`` is off).
        """
        with self._changed:
            return self._queue(queue).info

    def send_batch(self, queue: str, messages: Sequence[OutgoingMessage]) -> SendResult:
        """Send any number of messages; each is visible at once, or after its delay.

        A message SQS would refuse (over the size limit, counting the body and
        attributes in UTF-8 bytes; a FIFO message without a group id; see
        `send_rules`) is reported in ``failed`` with the reason; every other message
        is ``sent``. On a FIFO queue, one whose deduplication id (or body, with
        content-based deduplication) came in the last five minutes by the clock is
        reported sent but not enqueued.

        Raises:
            QueueNotFound: the queue does not exist (and ``auto_create`` is off).
            ValueError: two messages share an ``id``.
        """
        if len({message.id for message in messages}) != len(messages):
            raise ValueError("the messages of one send need distinct ids")
        sent: list[str] = []
        failed: dict[str, str] = {}
        with self._changed:
            target = self._queue(queue)
            now = self._clock.monotonic()
            for message in messages:
                reason = refusal(message, target.info)
                if reason is not None:
                    failed[message.id] = reason
                    continue
                sent.append(message.id)
                if target.info.fifo and target.is_duplicate(_deduplication_id(message), now):
                    continue
                message_id = str(uuid.uuid4())
                target.messages[message_id] = _Message(
                    message_id,
                    message.body,
                    visible_at=now + message.delay_seconds,
                    group_id=message.group_id,
                    attributes={name: str(value) for name, value in message.attributes.items()},
                )
            self._changed.notify_all()
        return SendResult(sent=tuple(sent), failed=failed)

    def receive_batch(
        self,
        queue: str,
        *,
        max_messages: int = MAX_BATCH_SIZE,
        wait_seconds: int = 0,
        visibility_timeout: int | None = None,
    ) -> list[ReceivedMessage]:
        """Receive up to ``max_messages`` visible messages, oldest first.

        Each one turns invisible for ``visibility_timeout`` seconds by the clock (the
        queue's visibility timeout if None; 0 leaves it visible), its receive count
        goes up by one and it gets a new receipt. A message already received
        ``max_receive_count`` times moves to the dead-letter queue instead. With
        ``wait_seconds``, waits up to that many real seconds for a message. On a
        FIFO queue, no message comes of a group that had one in flight.

        Raises:
            QueueNotFound: the queue does not exist (and ``auto_create`` is off).
            ValueError: ``max_messages`` is not 1 to 10, ``wait_seconds`` not 0 to 20,
                or ``visibility_timeout`` not None or 0 to 43,200.
        """
        check_receive(max_messages, wait_seconds, visibility_timeout)
        deadline = time.monotonic() + wait_seconds
        with self._changed:
            source = self._queue(queue)
            visibility = (
                source.info.visibility_timeout if visibility_timeout is None else visibility_timeout
            )
            while True:
                received = self._take(source, max_messages, visibility)
                remaining = deadline - time.monotonic()
                if received or remaining <= 0:
                    return received
                # Invisible messages turn visible as the clock moves, which notifies no one.
                self._changed.wait(min(remaining, _POLL_INTERVAL) if source.messages else remaining)

    def delete_batch(self, queue: str, receipts: Sequence[str]) -> dict[str, str]:
        """Delete messages by the receipt of their latest receive, while still in flight.

        Returns:
            Every receipt that deleted nothing (stale, expired, unknown, already
            used), with the reason; an empty dict when all were deleted.

        Raises:
            QueueNotFound: the queue does not exist (and ``auto_create`` is off).
        """
        failed: dict[str, str] = {}
        with self._changed:
            source = self._queue(queue)
            for receipt in receipts:
                message = self._in_flight(source, receipt, failed)
                if message is not None:
                    del source.messages[message.id]
            self._changed.notify_all()
        return failed

    def change_visibility_batch(
        self, queue: str, changes: Sequence[VisibilityChange]
    ) -> dict[str, str]:
        """Make in-flight messages visible ``timeout`` seconds from now (0: at once).

        Returns:
            Every receipt whose change failed, with the reason: not the latest
            receipt of a message in flight, or a timeout outside 0 to 43,200.

        Raises:
            QueueNotFound: the queue does not exist (and ``auto_create`` is off).
        """
        failed: dict[str, str] = {}
        with self._changed:
            source = self._queue(queue)
            now = self._clock.monotonic()
            for change in changes:
                if not 0 <= change.timeout <= MAX_VISIBILITY_TIMEOUT:
                    failed[change.receipt] = (
                        f"timeout {change.timeout} is not 0 to {MAX_VISIBILITY_TIMEOUT} seconds"
                    )
                    continue
                message = self._in_flight(source, change.receipt, failed)
                if message is not None:
                    message.visible_at = now + change.timeout
            self._changed.notify_all()
        return failed

    def stats(self, queue: str) -> QueueStats:
        """Return exact counts of visible, in-flight and delayed messages.

        Raises:
            QueueNotFound: the queue does not exist (and ``auto_create`` is off).
        """
        with self._changed:
            now = self._clock.monotonic()
            messages = self._queue(queue).messages.values()
            hidden = [message for message in messages if message.visible_at > now]
            delayed = sum(1 for message in hidden if message.receive_count == 0)
            return QueueStats(
                visible=len(messages) - len(hidden),
                in_flight=len(hidden) - delayed,
                delayed=delayed,
            )

    def bodies(self, queue: str) -> list[str]:
        """Return the body of every message still in ``queue``, visible or not, oldest first.

        A helper for tests; not part of `QueuePort`.

        Raises:
            QueueNotFound: the queue does not exist (and ``auto_create`` is off).
        """
        with self._changed:
            return [message.body for message in self._queue(queue).messages.values()]

    def purge(self, queue: str) -> int:
        """Delete every message of ``queue``, in flight or not; return how many there were.

        Like SQS's PurgeQueue, but at once. The deduplication window is forgotten
        too, so that a test may send the same FIFO message again.

        Raises:
            QueueNotFound: the queue does not exist (and ``auto_create`` is off).
        """
        with self._changed:
            found = self._queue(queue)
            count = len(found.messages)
            found.messages.clear()
            found.deduplication_ids.clear()
            self._changed.notify_all()
            return count

    def queue_names(self) -> list[str]:
        """Return the names of every queue, sorted. A helper for tests; not part of `QueuePort`."""
        with self._changed:
            return sorted(self._queues)

    def _queue(self, name: str) -> _Queue:
        """Return the queue, created first if ``auto_create``; the caller holds the lock."""
        found = self._queues.get(name)
        if found is not None:
            return found
        if not self._auto_create:
            raise QueueNotFound([name])
        info = attrs.evolve(self._defaults, url=f"memory://{name}", fifo=is_fifo_queue(name))
        created = self._queues[name] = _Queue(name, info)
        return created

    def _take(self, source: _Queue, max_messages: int, visibility: int) -> list[ReceivedMessage]:
        now = self._clock.monotonic()
        received: list[ReceivedMessage] = []
        # FIFO: a group with a message in flight is locked; one receive may still take
        # several messages of an unlocked group, in order, as SQS does.
        locked = (
            {m.group_id for m in source.messages.values() if m.visible_at > now}
            if source.info.fifo
            else set()
        )
        for message in list(source.messages.values()):
            if len(received) == max_messages:
                break
            if message.visible_at > now or message.group_id in locked:
                continue
            # Redrive as SQS does: on the receive after the last one allowed.
            dead_letter = source.dead_letter
            if dead_letter is not None and message.receive_count >= (
                source.info.max_receive_count or 0
            ):
                del source.messages[message.id]
                message.receipt = None
                dead_letter.messages[message.id] = message
                self._changed.notify_all()
                continue
            message.receive_count += 1
            message.receipt = f"{message.id}/{uuid.uuid4().hex}"
            message.visible_at = now + visibility
            received.append(
                ReceivedMessage(
                    source.name,
                    message.id,
                    message.receipt,
                    message.body,
                    message.receive_count,
                    group_id=message.group_id,
                    attributes=message.attributes,
                )
            )
        return received

    def _in_flight(self, source: _Queue, receipt: str, failed: dict[str, str]) -> _Message | None:
        """Return the message ``receipt`` may act on, or record in ``failed`` why none."""
        message = source.messages.get(receipt.partition("/")[0])
        if message is None:
            failed[receipt] = "unknown receipt, or its message was already deleted"
        elif message.receipt != receipt:
            failed[receipt] = "stale receipt: the message was received again since"
        elif message.visible_at <= self._clock.monotonic():
            failed[receipt] = "expired receipt: the message is visible again"
        else:
            return message
        return None


def _deduplication_id(message: OutgoingMessage) -> str:
    if message.deduplication_id is not None:
        return message.deduplication_id
    # Content-based deduplication, as SQS: the SHA-256 of the body alone.
    return hashlib.sha256(message.body.encode()).hexdigest()


def _checked(info: QueueInfo) -> QueueInfo:
    """Return ``info`` if its settings are in SQS's ranges (any positive size, for tests)."""
    if not 0 <= info.visibility_timeout <= MAX_VISIBILITY_TIMEOUT:
        raise ValueError(f"visibility_timeout must be 0 to {MAX_VISIBILITY_TIMEOUT} seconds")
    if info.max_message_size < 1:
        raise ValueError("max_message_size must be at least 1 byte")
    if (info.dead_letter_queue is None) != (info.max_receive_count is None):
        raise ValueError("give dead_letter_queue and max_receive_count together, or neither")
    if info.max_receive_count is not None and not 1 <= info.max_receive_count <= MAX_RECEIVE_COUNT:
        raise ValueError(f"max_receive_count must be 1 to {MAX_RECEIVE_COUNT}")
    if info.content_based_deduplication and not info.fifo:
        raise ValueError("content_based_deduplication is for FIFO queues (named .fifo) only")
    return info
