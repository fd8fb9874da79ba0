"""The system clock: an adapter of `ClockPort` onto the host's real clocks."""

from __future__ import annotations

import time
from datetime import datetime, timezone


class SystemClock:
    """Real time: UTC wall time, `time.monotonic` for durations, `time.sleep` to wait."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        """Return `time.monotonic()`: seconds from an arbitrary origin, never backwards."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        time.sleep(seconds)
