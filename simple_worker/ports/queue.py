"""The queue port: what simple-worker needs from a message queue.

Queues are named by their full name (prefix included). Values here are domain
types, never a client library's dicts, so any queue service can sit behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

MAX_BATCH_SIZE = 10
"""Most messages one receive returns, as in SQS."""
MAX_WAIT_SECONDS = 20
"""Longest long poll, as in SQS."""
MAX_VISIBILITY_TIMEOUT = 43_200
"""Longest visibility timeout, as in SQS: 12 hours."""
MAX_MESSAGE_SIZE = 1_048_576
"""Largest message, as in SQS since 2025: 1 MiB (a queue may set it lower)."""


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


@attrs.frozen
class OutgoingMessage:
    """A message to send; ``id`` names it in the result (the task id)."""

    id: str
    body: str


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

        Raises:
            QueueNotFound: the queue does not exist.
            ValueError: two messages share an id.
        """

    def receive_batch(
        self, queue: str, *, max_messages: int = MAX_BATCH_SIZE, wait_seconds: int = 0
    ) -> list[ReceivedMessage]:
        """Receive up to ``max_messages`` (1 to 10), waiting up to ``wait_seconds`` for one.

        Returns as soon as any message is available; an empty list after the wait.
        Each message returned is invisible to other receivers for the queue's
        visibility timeout, and its ``receive_count`` has gone up by one.

        Raises:
            QueueNotFound: the queue does not exist.
            ValueError: ``max_messages`` is not 1 to 10 or ``wait_seconds`` not 0 to 20.
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
