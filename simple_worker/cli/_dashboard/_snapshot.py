"""What the dashboard page shows, as plain values: the board makes them, the page renders them.

No I/O here: `Snapshot` is everything `render_page` needs, so the page is a pure
function of it (and easy to test with any content).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from simple_worker.cli._dlq import DeadLetter
    from simple_worker.ports.queue import QueueStats

HISTORY_SECONDS = 3600
"""How far back the sparklines go: the last hour of samples, kept in memory only."""


@attrs.frozen
class Sample:
    """A queue's counts at one moment (``at``: seconds since the epoch)."""

    at: float
    visible: int
    in_flight: int
    delayed: int


@attrs.frozen
class DeadLetters:
    """The dead letters last read from a dead-letter queue, or why there are none to show."""

    letters: tuple[DeadLetter, ...] = ()
    read_at: float | None = None
    """When they were read (seconds since the epoch); None: not read yet."""
    error: str = ""
    """Why the last read failed."""
    note: str = ""
    """What happened since the read (a redrive, a purge), when the letters may be stale."""


@attrs.frozen
class QueueView:
    """One queue (or dead-letter queue) on the page."""

    name: str
    stats: QueueStats | None = None
    error: str = ""
    """Why there are no counts (the queue does not exist, SQS failed)."""
    history: tuple[Sample, ...] = ()
    dead_letters: DeadLetters | None = None
    """Set on a dead-letter queue only."""


@attrs.frozen
class QueueGroup:
    """An app queue and its dead-letter queue (None without a redrive policy)."""

    queue: QueueView
    dead_letter_queue: QueueView | None = None


@attrs.frozen
class Notice:
    """The outcome of an operator's action, shown at the top of the page."""

    at: float
    ok: bool
    text: str


@attrs.frozen
class Snapshot:
    """Everything the page shows, at ``now`` (seconds since the epoch)."""

    app: str
    endpoint: str
    now: float
    sampled_at: float | None
    """When the counts were last read; None before the first read."""
    interval: float
    """Seconds between samples; the page reloads itself at this pace."""
    groups: tuple[QueueGroup, ...] = ()
    notices: tuple[Notice, ...] = ()
    busy: str = ""
    """The action running now, if any (one at a time)."""


__all__ = [
    "HISTORY_SECONDS",
    "DeadLetters",
    "Notice",
    "QueueGroup",
    "QueueView",
    "Sample",
    "Snapshot",
]
