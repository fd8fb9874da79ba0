"""The visibility heartbeat: keeps every held message invisible while a worker holds it.

Held means buffered or running. A message is extended to its queue's visibility
timeout once half of it has passed, so it never turns visible (and goes to
another worker) while this one still means to run it or is running it. An
extension that fails is due again at the next look, not half a timeout later.
A running task past its time limit and grace (``lets_go``) is extended no more:
its message turns visible when its current visibility runs out, even if its
handler cannot be interrupted. Uses the ports only.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Mapping

from simple_worker.consumer._buffer import HeldMessages
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.queue import QueueInfo, VisibilityChange

logger = logging.getLogger(__name__)

ChangeVisibility = Callable[[str, list[VisibilityChange]], Mapping[str, str]]
"""Changes visibilities on a queue; returns the failed receipts with reasons."""


class VisibilityHeartbeat:
    """Extends held messages' visibility, from `run` on the caller's thread, until `stop`."""

    def __init__(
        self,
        held: HeldMessages,
        infos: Mapping[str, QueueInfo],
        change_visibility: ChangeVisibility,
        clock: ClockPort,
        lets_go: Callable[[str], bool] | None = None,
    ) -> None:
        self._held = held
        self._lets_go = lets_go
        self._change_visibility = change_visibility
        self._clock = clock
        self._timeouts = {name: max(info.visibility_timeout, 1) for name, info in infos.items()}
        self._stopped = threading.Event()

    def stop(self) -> None:
        """Make `run` return (the last running task has ended)."""
        self._stopped.set()

    def run(self) -> None:
        """Extend due messages every tick until `stop`."""
        # A quarter of the shortest timeout: a due message waits at most that long.
        tick = min(max(min(self._timeouts.values()) / 4, 0.1), 1.0)
        while not self._stopped.wait(tick):
            try:
                self.extend_due()
            except Exception:  # the heartbeat must outlive a bug, or tasks run twice
                logger.exception("Internal error in the visibility heartbeat")

    def extend_due(self) -> None:
        """Extend every held message past half its queue's timeout, once."""
        due = self._held.due_for_extension(self._timeouts)
        by_queue: dict[str, list[VisibilityChange]] = collections.defaultdict(list)
        for message, timeout in due:
            if self._lets_go is not None and self._lets_go(message.receipt):
                continue
            by_queue[message.queue].append(VisibilityChange(message.receipt, timeout))
        for queue_name, changes in by_queue.items():
            self._extend(queue_name, changes)

    def _extend(self, queue_name: str, changes: list[VisibilityChange]) -> None:
        since = self._clock.monotonic()
        logger.debug(
            "Extending the visibility of %d message(s) on %s",
            len(changes),
            queue_name,
            extra={"queue": queue_name, "count": len(changes)},
        )
        failed = self._change_visibility(queue_name, changes)
        self._held.extended(
            [c.receipt for c in changes if c.receipt not in failed],
            changes[0].timeout,  # one queue, one timeout
            since,
        )
