"""Splitting a producer's messages into SendMessageBatch-sized batches. Pure: no I/O.

The producer splits before it sends, so that each batch is one call the queue
adapter makes and several of them can be in flight at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from simple_worker.ports.queue import MAX_BATCH_SIZE, OutgoingMessage

BATCH_BYTES = 1_048_576
"""Most bytes (bodies and attributes) of one SendMessageBatch call, as SQS allows: 1 MiB."""


def split_batches(messages: Iterable[OutgoingMessage]) -> Iterator[list[OutgoingMessage]]:
    """Yield the messages, in order, in batches of at most 10 and `BATCH_BYTES`."""
    batch: list[OutgoingMessage] = []
    size = 0
    for message in messages:
        message_size = message.size()
        if batch and (len(batch) == MAX_BATCH_SIZE or size + message_size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += message_size
    if batch:
        yield batch


def ordered_groups(batch: Sequence[OutgoingMessage], *, ordered: bool) -> set[str]:
    """Return the message groups whose order ``batch`` must keep (none on a standard queue).

    On a FIFO queue a group's messages are delivered in the order sent, so two
    batches holding one group must not be in flight at once. On a standard queue
    a group id is only a fair-queue tenant key: it orders nothing.
    """
    if not ordered:
        return set()
    return {message.group_id for message in batch if message.group_id is not None}
