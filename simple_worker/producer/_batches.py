"""Which message groups a producer's batch must keep in order. Pure: no I/O.

The producer splits its messages before it sends (`split_batches`, the port's
rule), so that each batch is one call the queue adapter makes and several of
them can be in flight at once; on a FIFO queue, batches sharing a group must not.
"""

from __future__ import annotations

from collections.abc import Sequence

from simple_worker.ports.queue import OutgoingMessage


def ordered_groups(batch: Sequence[OutgoingMessage], *, ordered: bool) -> set[str]:
    """Return the message groups whose order ``batch`` must keep (none on a standard queue).

    On a FIFO queue a group's messages are delivered in the order sent, so two
    batches holding one group must not be in flight at once. On a standard queue
    a group id is only a fair-queue tenant key: it orders nothing.
    """
    if not ordered:
        return set()
    return {message.group_id for message in batch if message.group_id is not None}
