"""The queue port: what simple-worker needs from a message queue.

Queues are named by their full name (prefix included). Values here are domain
types, never a client library's dicts, so any queue service can sit behind it.

Two kinds of queue, as in SQS. A standard queue delivers in roughly the order
sent; a message may carry a delay, and a group id there is only a fair-queue
tenant key (it orders nothing). A FIFO queue (its name ends in ``.fifo``)
delivers each message group's messages in the order sent, and none of a group's
while one of its messages is in flight; it deduplicates messages by
deduplication id over five minutes, and takes no per-message delay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

import attrs

from simple_worker.domain._options import MAX_DELAY_SECONDS
from simple_worker.domain._queue_arn import QueueArn

__all__ = [
    "DEFAULT_RECEIVE_VISIBILITY",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_SIZE",
    "MAX_DELAY_SECONDS",
    "MAX_MESSAGE_ATTRIBUTES",
    "MAX_MESSAGE_SIZE",
    "MAX_VISIBILITY_TIMEOUT",
    "MAX_WAIT_SECONDS",
    "AttributeValue",
    "ObservableQueue",
    "OutgoingMessage",
    "QueueArn",
    "QueueByArn",
    "QueueCall",
    "QueueInfo",
    "QueuePort",
    "QueueStats",
    "ReceivedMessage",
    "SendResult",
    "VisibilityChange",
    "split_batches",
]

MAX_BATCH_SIZE = 10
"""Most messages one batch call takes or one receive returns, as in SQS."""
MAX_BATCH_BYTES = 1_048_576
"""Most bytes (bodies and attributes) of one SendMessageBatch call, as in SQS: 1 MiB."""
MAX_WAIT_SECONDS = 20
"""Longest long poll, as in SQS."""
MAX_VISIBILITY_TIMEOUT = 43_200
"""Longest visibility timeout, as in SQS: 12 hours."""
MAX_MESSAGE_SIZE = 1_048_576
"""Largest message, as in SQS since 2025: 1 MiB (a queue may set it lower)."""
MAX_MESSAGE_ATTRIBUTES = 10
"""Most message attributes one message may carry, as in SQS."""
DEFAULT_RECEIVE_VISIBILITY = 30
"""Seconds the worker hides what it receives from a queue whose visibility timeout is 0.

Such a queue would make a received message visible again at once, so the worker
asks for this visibility on each receive (``receive_batch(visibility_timeout=...)``)
and then keeps the message invisible with its heartbeat, as on any other queue.
SQS's own default visibility timeout, 30 s. Other consumers of the queue (an AWS
Lambda event source mapping, other tools) do not do this.
"""

AttributeValue = str | int
"""A message attribute's value: a str is sent as a String attribute, an int as a Number."""


@attrs.frozen
class QueueInfo:
    """What a queue is configured with, read once per queue."""

    url: str
    max_message_size: int
    """Largest message body the queue accepts, in bytes."""
    visibility_timeout: int
    """Seconds a received message stays invisible unless changed."""
    dead_letter_queue: str | None = None
    """The name (not the ARN) of the queue the redrive policy moves a message to."""
    max_receive_count: int | None = None
    fifo: bool = False
    """A FIFO queue: every message needs a group id; a group's messages come in order."""
    content_based_deduplication: bool = False
    """A FIFO queue that dedupes a message sent without a deduplication id by its body's hash."""


@attrs.frozen
class OutgoingMessage:
    """A message to send; ``id`` names it in the result (the task id).

    ``group_id`` is SQS's ``MessageGroupId``: required on a FIFO queue (a group's
    messages are delivered in order), a fair-queue tenant key on a standard one.
    ``deduplication_id`` is for FIFO queues only, and required there unless the
    queue has content-based deduplication; ``delay_seconds`` (0 to 900) is for
    standard queues only. Both ids are 1 to 128 printable ASCII characters, no
    spaces. ``attributes`` are message attributes: at most 10, names of letters,
    digits, ``-``, ``_`` and ``.`` (not first or last, not twice in a row, no
    ``AWS.``/``Amazon.`` prefix), values a non-empty str or an int (not a bool).
    A message breaking one of these rules is failed alone by `QueuePort.send_batch`.
    """

    id: str
    body: str
    delay_seconds: int = 0
    group_id: str | None = None
    deduplication_id: str | None = None
    attributes: Mapping[str, AttributeValue] = attrs.field(factory=dict)
    _size: int | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def size(self) -> int:
        """Return the bytes SQS counts against its size limit: body and attributes.

        Computed once per message: the producer, the large-payload offload and the
        adapter's send rules all ask.
        """
        if self._size is not None:
            return self._size
        size = len(self.body.encode())
        for name, value in self.attributes.items():
            data_type = "Number" if isinstance(value, int) else "String"
            size += len(name.encode()) + len(data_type) + len(str(value).encode())
        object.__setattr__(self, "_size", size)  # frozen: a cache, not a change
        return size


@attrs.frozen
class SendResult:
    """Which messages of a send were accepted, which refused (with why), which unknown."""

    sent: tuple[str, ...] = ()
    failed: dict[str, str] = attrs.field(factory=dict)
    unknown: tuple[str, ...] = ()
    """Ids whose fate is not known: the call failed before the queue answered."""


@attrs.frozen
class ReceivedMessage:
    """A message as received; ``receipt`` identifies this receive of it."""

    queue: str
    message_id: str
    receipt: str
    body: str
    receive_count: int
    """How many times the message has been received, this time included."""
    group_id: str | None = None
    """The message's ``MessageGroupId``, if it was sent with one."""
    attributes: Mapping[str, str] = attrs.field(factory=dict)
    """Its String and Number message attributes (numbers as their text)."""


@attrs.frozen
class VisibilityChange:
    """Make a received message visible again in ``timeout`` seconds (0: at once)."""

    receipt: str
    timeout: int


@attrs.frozen
class QueueStats:
    """Approximate message counts, as SQS reports them."""

    visible: int
    in_flight: int
    delayed: int


class QueuePort(Protocol):
    """A message queue with SQS semantics: at-least-once, visibility timeouts, receipts."""

    def describe(self, queue: str) -> QueueInfo:
        """Return the queue's configuration; adapters may cache it for the process's life.

        Raises:
            QueueNotFound: the queue does not exist.
        """

    def send_batch(self, queue: str, messages: Sequence[OutgoingMessage]) -> SendResult:
        """Send any number of messages; the adapter splits them into calls its service takes.

        Every message ends up in exactly one of the result's ``sent``, ``failed`` or
        ``unknown``; nothing is dropped silently. Entry failures the service calls
        retryable are retried before they are reported. The messages' ids must be
        distinct: the result is keyed by them.

        A message the queue cannot take is failed alone, with SQS's error code first
        in the reason (``"MissingParameter: ..."``), never failing the others: over
        the size limit (body and attributes, see `OutgoingMessage.size`); a delay
        outside 0 to 900 s, or any delay on a FIFO queue; on a FIFO queue, no group
        id, or no deduplication id where the queue does not dedupe by content; a
        deduplication id on a standard queue; attributes breaking SQS's rules.

        A message with ``delay_seconds`` is not received before that many seconds
        (it counts as delayed in `stats` meanwhile). On a FIFO queue, a message whose
        deduplication id (or, with content-based deduplication, body) was sent in the
        last five minutes is reported ``sent`` but not enqueued again.

        Raises:
            QueueNotFound: the queue does not exist.
            ValueError: two messages share an id.
        """

    def receive_batch(
        self,
        queue: str,
        *,
        max_messages: int = MAX_BATCH_SIZE,
        wait_seconds: int = 0,
        visibility_timeout: int | None = None,
    ) -> list[ReceivedMessage]:
        """Receive up to ``max_messages`` (1 to 10), waiting up to ``wait_seconds`` for one.

        Returns as soon as any message is available; an empty list after the wait.
        Each message returned is invisible to other receivers for
        ``visibility_timeout`` seconds (0 to 43,200; 0 leaves it visible at once),
        or for the queue's visibility timeout when that is None, as SQS's
        ReceiveMessage ``VisibilityTimeout`` does; its ``receive_count`` has gone up
        by one. It comes with the group id and attributes it was sent with.

        On a FIFO queue, a group's messages come in the order sent (several of them
        may come in one receive, in order), and none of a group's come while one of
        its messages is in flight: a message made visible again, or redelivered
        after its visibility timeout, comes again before the rest of its group.

        Raises:
            QueueNotFound: the queue does not exist.
            ValueError: ``max_messages`` is not 1 to 10, ``wait_seconds`` not 0 to 20,
                or ``visibility_timeout`` not None or 0 to 43,200.
        """

    def delete_batch(self, queue: str, receipts: Sequence[str]) -> dict[str, str]:
        """Delete received messages by receipt; any number of them.

        Returns the receipts that could not be deleted, each with the reason; an
        empty dict otherwise. SQS may accept a stale receipt (from before the
        message was received again) without deleting anything, so an empty dict
        does not prove the message is gone.

        Raises:
            QueueNotFound: the queue does not exist.
        """

    def change_visibility_batch(
        self, queue: str, changes: Sequence[VisibilityChange]
    ) -> dict[str, str]:
        """Change the visibility timeout of received messages; any number of them.

        Returns the receipts whose change failed, each with the reason.

        Raises:
            QueueNotFound: the queue does not exist.
        """

    def stats(self, queue: str) -> QueueStats:
        """Return approximate counts of visible, in-flight and delayed messages.

        Raises:
            QueueNotFound: the queue does not exist.
        """


@attrs.frozen
class QueueCall:
    """One call a queue adapter made to its service, as metrics count it."""

    action: str
    """The service's name for the call, e.g. ``ReceiveMessage``."""
    queue: str | None = None
    """The name of the queue the call was about, where it names one."""
    error: str | None = None
    """None if the call succeeded; else the service's error code or the exception's class."""
    received: int | None = None
    """For a receive that succeeded, how many messages it returned."""


@runtime_checkable
class ObservableQueue(Protocol):
    """A queue adapter that reports the calls it makes to its service (for metrics)."""

    def add_call_listener(self, listener: Callable[[QueueCall], None]) -> None:
        """Call ``listener`` after every call to the service, answered or failed.

        It runs on the thread that made the call, once per call (retries within a
        call not counted). A listener that raises is logged; the call is unaffected.
        """


@runtime_checkable
class QueueByArn(Protocol):
    """A queue adapter that can address a queue by its ARN, without a lookup by name.

    An AWS Lambda event source mapping names each record's queue by ARN, possibly
    of another account than the caller's, where a lookup by name would not find it.
    """

    def describe_arn(self, arn: QueueArn) -> QueueInfo:
        """Return the configuration of the queue ``arn`` names, as `QueuePort.describe` does.

        Its URL comes from the ARN's account and name, not from a lookup; the result is
        cached under ``arn.name``, so later calls naming the queue by name use it.

        Raises:
            QueueNotFound: the queue does not exist.
        """


def split_batches(messages: Iterable[OutgoingMessage]) -> Iterator[list[OutgoingMessage]]:
    """Yield the messages, in order, in batches of at most 10 and `MAX_BATCH_BYTES`.

    The one rule for cutting sends into SendMessageBatch calls: the producer cuts
    before it sends (to keep several calls in flight), and the SQS adapter cuts
    again what it is given in one `QueuePort.send_batch`.
    """
    batch: list[OutgoingMessage] = []
    size = 0
    for message in messages:
        message_size = message.size()
        if batch and (len(batch) == MAX_BATCH_SIZE or size + message_size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += message_size
    if batch:
        yield batch
