"""A heartbeat file: its modification time is the worker's last sign of life.

An orchestrator checks the file's age (``find PATH -mmin -1``) to restart a
worker that stopped consuming; see docs/operations.md.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)


class HeartbeatFile:
    """Touches ``path`` on every beat, creating it (not its directory) if missing."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._failing = False

    def beat(self) -> None:
        """Set the file's modification time to now; log once if that fails."""
        try:
            self.path.touch()
        except OSError as exc:
            if not self._failing:
                logger.warning(
                    "Cannot touch the heartbeat file %s: %s",
                    self.path,
                    exc,
                    extra={"path": str(self.path), "error_type": type(exc).__name__},
                )
            self._failing = True
        else:
            self._failing = False
