"""Process signals: SIGTERM and SIGINT ask a worker to stop; a second one ends it now.

Light on purpose: the command imports it first, before the app and boto3 (see `EarlyStop`).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

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


class EarlyStop:
    """Catches SIGTERM/SIGINT from a command's first line, until a worker takes them over.

    Until then Python's defaults apply: SIGTERM ends the process at once (status
    -15, nothing stopped gracefully) and SIGINT raises `KeyboardInterrupt`
    wherever the main thread is, mid-import included. Installed before the app
    and boto3 are imported, this notes the first signal instead, so that the
    command does not start consuming, or stops at once (`forward_to`); a second
    one raises ``SystemExit(128 + signal number)``.

    `install` also unblocks both signals: a launcher may start the process with
    them blocked (the supervisor does), which closes the gap before the
    interpreter runs any code; a signal sent in that gap waits, and arrives here.
    Off the main thread this does nothing.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        """The first stop signal received, if any."""
        self._forward: Callable[[int], None] | None = None
        self._previous: dict[int, Any] = {}
        self._previous_mask: set[int] | None = None

    def install(self) -> None:
        """Handle SIGTERM and SIGINT from now on, and unblock them."""
        if threading.current_thread() is not threading.main_thread() or self._previous:
            return
        self._previous = {signum: signal.signal(signum, self._handle) for signum in STOP_SIGNALS}
        if hasattr(signal, "pthread_sigmask"):  # POSIX only
            self._previous_mask = set(signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS))

    def forward_to(self, stop: Callable[[int], None]) -> None:
        """Call ``stop(signum)`` for a signal received already, and for the next ones."""
        self._forward = stop
        if self.signum is not None:
            stop(self.signum)

    def restore(self) -> None:
        """Put back the handlers and the signal mask found by `install`."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        if self._previous_mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self._previous_mask)
            self._previous_mask = None

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.signum is not None:
            logger.warning("Second signal (%s) while starting: stopping at once", name)
            raise SystemExit(128 + signum)
        self.signum = signum
        logger.info("Received %s while starting: stopping", name)
        if self._forward is not None:
            self._forward(signum)
