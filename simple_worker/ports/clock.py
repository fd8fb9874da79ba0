"""The clock port: wall time for timestamps, monotonic time for durations."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["ClockPort"]


class ClockPort(Protocol):
    """A source of time, so tests can move it instead of sleeping."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""

    def monotonic(self) -> float:
        """Return seconds from an arbitrary origin that never goes backwards."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a fake clock advances instead)."""
