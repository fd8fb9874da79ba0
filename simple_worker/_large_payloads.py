"""Large payloads: tasks over the queue's size limit travel as pointers. Uses the ports only.

Producing: a message over the limit has its body put in the payload store and is
sent as a pointer (see `payload_pointer`); objects of messages the queue did not
take are deleted again. Consuming: a pointer is resolved to the stored body before
decoding, and the object is deleted once the task's message is deleted.

A leftover object is a cost, not a loss: every deletion here is best effort and
a failed one is a WARNING naming the object; the bucket's lifecycle rule is the
backstop. A missing object is never guessed around: its message cannot run.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence

import attrs

from simple_worker._log_fields import message_fields
from simple_worker.domain._errors import (
    MessageDecodeError,
    MessageTooLarge,
    PayloadNotFound,
    PayloadStoreError,
    SimpleWorkerError,
)
from simple_worker.domain._excerpt import ERROR_BYTES, PLACE_BYTES, excerpt
from simple_worker.domain._payload_pointer import (
    MAX_KEY_BYTES,
    PayloadPointer,
    encode_pointer,
    find_pointer,
    pointer_attributes,
)
from simple_worker.domain._registry import Registration
from simple_worker.ports.payload_store import PayloadStorePort
from simple_worker.ports.queue import OutgoingMessage, QueuePort, ReceivedMessage, SendResult

logger = logging.getLogger(__name__)


@attrs.frozen
class Staged:
    """Messages ready to send, and the stored bodies their pointers name, by task id."""

    messages: list[OutgoingMessage]
    stored: dict[str, PayloadPointer]


@attrs.frozen
class PayloadOffload:
    """Sends a producer's messages, those over the size limit through the payload store."""

    store: PayloadStorePort
    queue: QueuePort

    def send(
        self, registration: Registration, messages: Sequence[OutgoingMessage], limit: int
    ) -> SendResult:
        """Offload every message over ``limit``, send them all, and clean up after a refusal.

        Objects of messages the queue refused are deleted; those of messages whose
        fate is unknown are kept, as the message may have been sent.

        Raises:
            PayloadStoreError: the store failed; nothing was sent, and what had
                been stored is deleted.
            MessageTooLarge: even the pointer message is over ``limit``.
            Exception: whatever ``send_batch`` raises; the objects are deleted.
        """
        staged = self.stage(registration.task_name, messages, limit)
        try:
            result = self.queue.send_batch(registration.queue, staged.messages)
        except Exception:
            # What the port raises means nothing was sent. An interrupt (not caught)
            # leaves the objects: a message may have gone out, and leftovers only cost.
            self.discard(staged, [m.id for m in staged.messages])
            raise
        self.discard(staged, result.failed)
        return result

    def stage(self, task_name: str, messages: Sequence[OutgoingMessage], limit: int) -> Staged:
        """Store the body of every message over ``limit``; return the messages to send.

        Raises:
            PayloadStoreError: the store failed; what had been stored is deleted.
            MessageTooLarge: even the pointer message is over ``limit``.
        """
        stored: dict[str, PayloadPointer] = {}
        try:
            outgoing = [self._offload(task_name, message, limit, stored) for message in messages]
        except Exception:
            self._discard(stored.values())
            raise
        return Staged(outgoing, stored)

    def discard(self, staged: Staged, task_ids: Iterable[str]) -> None:
        """Delete the stored bodies of these tasks (those the queue did not take), if any."""
        self._discard(staged.stored[i] for i in task_ids if i in staged.stored)

    def _offload(
        self,
        task_name: str,
        message: OutgoingMessage,
        limit: int,
        stored: dict[str, PayloadPointer],
    ) -> OutgoingMessage:
        if message.size() <= limit:
            return message
        pointer = self.store.put(message.body)
        stored[message.id] = pointer
        offloaded = attrs.evolve(
            message,
            body=encode_pointer(pointer),
            attributes={**message.attributes, **pointer_attributes(len(message.body.encode()))},
        )
        # Only long attributes (or a tiny limit) leave no room for the pointer.
        if offloaded.size() > limit:
            raise MessageTooLarge(task_name, size=offloaded.size(), limit=limit)
        return offloaded

    def _discard(self, pointers: Iterable[PayloadPointer]) -> None:
        for pointer in pointers:
            delete_payload(self.store, pointer)


def resolve_body(message: ReceivedMessage, store: PayloadStorePort | None) -> str:
    """Return the task envelope ``message`` carries: its body, or the body its pointer names.

    Raises:
        MessageDecodeError: a malformed pointer, a pointer without a payload store
            to read it, or an object that is gone: the message cannot run.
        PayloadStoreError: the store failed; the message may run later.
    """
    pointer = find_pointer(message.body)
    if pointer is None:
        return message.body
    if store is None:
        raise MessageDecodeError(
            f"it points to a large payload at {excerpt(str(pointer), PLACE_BYTES)}, and this "
            "worker has no payload store: give its App large_payload_bucket="
        )
    try:
        return store.get(pointer)
    except PayloadNotFound as exc:
        raise MessageDecodeError(
            f"its large payload {excerpt(str(pointer), PLACE_BYTES)} is gone ({exc.reason})"
        ) from exc


def payload_cleanup(
    message: ReceivedMessage, store: PayloadStorePort | None
) -> Callable[[], None] | None:
    """Return what deletes the object ``message`` points to, or None if it points to none.

    Run it only once the message itself is deleted: an object deleted first would
    leave a message that can no longer run.
    """
    if store is None:
        return None
    try:
        pointer = find_pointer(message.body)
    except MessageDecodeError:
        return None
    if pointer is None:
        return None
    return functools.partial(delete_payload, store, pointer)


def delete_payload(store: PayloadStorePort, pointer: PayloadPointer) -> None:
    """Delete a stored body, best effort: a failure is logged, never raised."""
    try:
        store.delete(pointer)
    except SimpleWorkerError as exc:
        logger.warning(
            "Could not delete large payload %s; the bucket's lifecycle rule will: %s",
            excerpt(str(pointer), PLACE_BYTES),
            excerpt(str(exc), ERROR_BYTES),
            extra={"bucket": pointer.bucket, "key": excerpt(pointer.key, MAX_KEY_BYTES)},
        )


def log_unavailable_payload(message: ReceivedMessage, error: PayloadStoreError) -> None:
    """Log a message whose stored body could not be read; it is left to come back."""
    logger.error(
        "Could not read the large payload of message %s from %s; it will be received again: %s",
        message.message_id,
        message.queue,
        excerpt(str(error), ERROR_BYTES),
        extra={
            **message_fields(message),
            "outcome": "failed",
            "error_type": type(error).__name__,
            "bucket": error.bucket,
            "key": excerpt(error.key, MAX_KEY_BYTES),
        },
    )
