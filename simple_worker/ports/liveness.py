"""The liveness port: how a worker tells an orchestrator that it is consuming."""

from __future__ import annotations

from typing import Protocol

__all__ = ["LivenessPort"]


class LivenessPort(Protocol):
    """Receives a beat while the worker consumes normally, and none otherwise."""

    def beat(self) -> None:
        """Record that the worker is alive now; must not raise (log instead)."""
