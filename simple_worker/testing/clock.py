"""A fake `ClockPort` for tests: time moves only when the test moves it."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

__all__ = ["FakeClock"]

DEFAULT_START = datetime(2026, 1, 1, tzinfo=timezone.utc)


class FakeClock:
    """A clock that stands still until `advance` (or `sleep`) moves it; thread-safe.

    Wall time starts at ``start`` (2026-01-01T00:00:00Z unless given), monotonic
    time at 0.0, and both move together.
    """

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start, e.g. tzinfo=timezone.utc")
        self._start = start.astimezone(timezone.utc)
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the current fake time, timezone-aware, in UTC."""
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        """Return the seconds the clock has been advanced since it was made."""
        with self._lock:
            return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``.

        Raises:
            ValueError: ``seconds`` is negative; time never goes backwards.
        """
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (advance by {seconds})")
        with self._lock:
            self._elapsed += seconds

    def sleep(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` at once instead of waiting.

        Raises:
            ValueError: ``seconds`` is negative, as `time.sleep` refuses too.
        """
        self.advance(seconds)
