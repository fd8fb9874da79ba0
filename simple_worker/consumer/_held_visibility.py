"""A queue port whose visibility changes wait to go out together. Uses the ports only.

The Lambda runner settles a batch's records one by one, and each that did not
succeed may change its visibility (a retry delay, a release). Held here until
the batch is done, they go out in one call per queue (per ten changes) instead
of one call per record; everything else passes straight through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from simple_worker.ports.queue import (
    MAX_BATCH_SIZE,
    OutgoingMessage,
    QueueInfo,
    QueuePort,
    QueueStats,
    ReceivedMessage,
    SendResult,
    VisibilityChange,
)


class HeldVisibilityChanges:
    """The queue port, with its visibility changes held until `flush`; the rest passes through."""

    def __init__(self, queue: QueuePort) -> None:
        self._queue = queue
        self._held: dict[str, list[VisibilityChange]] = {}

    def change_visibility_batch(
        self, queue: str, changes: Sequence[VisibilityChange]
    ) -> dict[str, str]:
        self._held.setdefault(queue, []).extend(changes)
        return {}  # failures are logged by `flush`'s caller

    def flush(self, change: Callable[[str, list[VisibilityChange]], object]) -> None:
        """Make the held changes with ``change`` (which logs failures), per queue."""
        for queue, changes in self._held.items():
            change(queue, changes)
        self._held.clear()

    def describe(self, queue: str) -> QueueInfo:
        return self._queue.describe(queue)

    def send_batch(self, queue: str, messages: Sequence[OutgoingMessage]) -> SendResult:
        return self._queue.send_batch(queue, messages)

    def receive_batch(
        self,
        queue: str,
        *,
        max_messages: int = MAX_BATCH_SIZE,
        wait_seconds: int = 0,
        visibility_timeout: int | None = None,
    ) -> list[ReceivedMessage]:
        return self._queue.receive_batch(
            queue,
            max_messages=max_messages,
            wait_seconds=wait_seconds,
            visibility_timeout=visibility_timeout,
        )

    def delete_batch(self, queue: str, receipts: Sequence[str]) -> dict[str, str]:
        return self._queue.delete_batch(queue, receipts)

    def stats(self, queue: str) -> QueueStats:
        return self._queue.stats(queue)
