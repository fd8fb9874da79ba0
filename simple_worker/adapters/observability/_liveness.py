"""Several liveness ports as one: a heartbeat file and the health endpoint at once."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from simple_worker.ports.liveness import LivenessPort

logger = logging.getLogger(__name__)


class LivenessFanOut:
    """Beats every port it holds; one that raises is logged and the others still beat."""

    def __init__(self, ports: Iterable[LivenessPort]) -> None:
        self.ports = tuple(ports)

    def beat(self) -> None:
        """Beat each port in turn."""
        for port in self.ports:
            try:
                port.beat()
            except Exception:  # the contract says ports log instead; a third party's may not
                logger.exception("Liveness port %s raised", type(port).__qualname__)


def one_liveness(ports: Iterable[LivenessPort]) -> LivenessPort | None:
    """Return None for no port, the port itself for one, else a `LivenessFanOut`."""
    found = tuple(ports)
    if not found:
        return None
    return found[0] if len(found) == 1 else LivenessFanOut(found)
