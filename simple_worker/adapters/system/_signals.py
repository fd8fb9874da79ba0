"""Process signals: SIGTERM and SIGINT ask a worker to stop; a second one ends it now."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stop_on_signals(request_stop: Callable[[], None]) -> Iterator[None]:
    """Within the block, the first SIGTERM/SIGINT calls ``request_stop``.

    A second one raises ``SystemExit(128 + signal number)`` at once (143 for SIGTERM,
    130 for SIGINT, as shells report a death by signal). The previous handlers come
    back when the block ends. Off the main thread, where Python allows no signal
    handlers, this does nothing: stop the worker with ``worker.stop()``.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handle(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if received:
            logger.warning("Second signal (%s): stopping at once", name)
            raise SystemExit(128 + signum)
        received.append(signum)
        logger.info("Received %s: finishing running tasks, then stopping", name)
        request_stop()

    previous = {signum: signal.signal(signum, handle) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
