"""Per-task time limits: interrupt a task at its limit, give up on it past the hard limit.

Every running task with a limit is *watched* (`TimeLimits.start` before its
handler, `TimeLimits.finish` after). A watchdog thread (`TimeLimits.run`) looks
every `TICK` seconds and, once a task has run past its limit, sends its
interrupt once: a sync handler's thread gets `TaskTimeLimitExceeded` raised in
it (see `ThreadInterrupt`); an async runner passes an interrupt that cancels its
coroutine. Whatever the handler does then, a task that ran past its limit
counts as failed: `finish` turns its outcome into `TaskTimeLimitExceeded` even
if the handler returned, so its message is never deleted (its visibility may
have lapsed already: see `GRACE`).

Past the limit plus `GRACE` the visibility heartbeat lets the message go
(`lets_go`), so a handler that cannot be interrupted (blocked in C) no longer
holds its message; past the hard limit, `on_stuck` is told once, and the worker
stops its process (see ``Worker``). Without an interrupt factory (the testing
worker) nothing is interrupted: a task is only judged by its duration when it
returns. Uses the ports only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

import attrs

from simple_worker.domain._interrupts import TaskTimeLimitExceeded
from simple_worker.ports.clock import ClockPort

logger = logging.getLogger(__name__)

GRACE = 5.0
"""Seconds past a task's limit during which the heartbeat still keeps its message hidden.

Time for an interrupted handler to unwind (its ``finally`` blocks, its executor's
hooks) and its failure to be settled, so that the retry policy, not a lapsed
visibility, decides when the message comes back.
"""
HARD_LIMIT_FACTOR = 2.0
"""With ``--processes``, the default hard limit: twice the app's longest time limit."""
TICK = 0.25
"""Seconds between the watchdog's looks: a task is interrupted at most this late."""


class Interrupt(Protocol):
    """Stops one running task: a thread (`ThreadInterrupt`), or a coroutine's task."""

    def send(self, error: type[TaskTimeLimitExceeded]) -> None:
        """Make the task raise ``error`` (or, for a coroutine, cancel it) soon."""

    def withdraw(self) -> None:
        """Drop what `send` asked if the task has not acted on it yet (it has ended)."""


InterruptFactory = Callable[[], Interrupt]
"""Returns the interrupt of the task about to run on the calling thread."""


@attrs.define(eq=False)
class Watch:
    """One running task, watched: made by `TimeLimits.start`."""

    task_name: str
    receipt: str
    limit: float | None
    started: float
    hard_limit: float | None
    """Seconds after `started` past which the task is stuck; None: never."""
    interrupt: Interrupt | None
    interrupted: bool = False
    stuck: bool = False
    ended: bool = False

    def overran(self, now: float) -> bool:
        """Return whether the task has run past its limit at ``now``."""
        return self.limit is not None and now - self.started > self.limit


class TimeLimits:
    """The running tasks' limits, and the watchdog that enforces them. Thread-safe.

    Args:
        clock: the source of monotonic time.
        default: the limit of a task registered without one; None for none.
        hard_limit: seconds after which a task still running makes `on_stuck`
            fire; at least the task's own limit plus `GRACE`. None: never.
        interrupts: makes a running task's interrupt (on its own thread); None:
            judge tasks by their duration only, interrupt none.
    """

    def __init__(
        self,
        clock: ClockPort,
        *,
        default: float | None = None,
        hard_limit: float | None = None,
        interrupts: InterruptFactory | None = None,
    ) -> None:
        self.default = default
        self.hard_limit = hard_limit
        self.on_stuck: Callable[[Watch], None] | None = None
        """Called once, from the watchdog, for each task that passes the hard limit."""
        self._clock = clock
        self._interrupts = interrupts
        self._lock = threading.Lock()
        self._watches: dict[int, Watch] = {}
        self._by_receipt: dict[str, Watch] = {}
        self._stopped = threading.Event()

    @property
    def interrupts(self) -> bool:
        """Whether tasks past their limit are interrupted (the worker), not only judged."""
        return self._interrupts is not None

    def limit_of(self, own: float | None) -> float | None:
        """Return a task's limit: its own, else the default."""
        return own if own is not None else self.default

    def start(
        self,
        task_name: str,
        receipt: str,
        limit: float | None,
        interrupt: Interrupt | None = None,
    ) -> Watch:
        """Watch a task about to run; ``interrupt`` defaults to the calling thread's."""
        if interrupt is None and self._interrupts is not None and limit is not None:
            interrupt = self._interrupts()
        now = self._clock.monotonic()
        hard = None
        if self.hard_limit is not None:
            hard = max(self.hard_limit, (limit or 0.0) + GRACE)
        watch = Watch(task_name, receipt, limit, now, hard, interrupt)
        with self._lock:
            self._watches[id(watch)] = watch
            self._by_receipt[receipt] = watch
        return watch

    def finish(self, watch: Watch, error: BaseException | None) -> BaseException | None:
        """Stop watching; return the task's error: `TaskTimeLimitExceeded` if it overran.

        Call it until it returns: an interrupt sent just before it may be raised
        inside it (the caller catches `TaskTimeLimitExceeded` and calls again).
        """
        with self._lock:
            if not watch.ended:
                watch.ended = True
                self._watches.pop(id(watch), None)
                if self._by_receipt.get(watch.receipt) is watch:
                    del self._by_receipt[watch.receipt]
                if watch.interrupted and watch.interrupt is not None:
                    watch.interrupt.withdraw()  # not raised yet: it must not hit the worker
        if watch.limit is None or not (watch.interrupted or watch.overran(self._clock.monotonic())):
            return error
        if isinstance(error, TaskTimeLimitExceeded):
            return error
        logger.warning(
            "Task %s %s after its time limit of %g s: counted as failed, its message is "
            "not deleted",
            watch.task_name,
            "failed" if error is not None else "returned",
            watch.limit,
            extra={"task_name": watch.task_name, "time_limit": watch.limit},
        )
        return TaskTimeLimitExceeded(watch.task_name, watch.limit)

    def lets_go(self, receipt: str) -> bool:
        """Return whether the heartbeat should stop extending this message: past limit + grace."""
        with self._lock:
            watch = self._by_receipt.get(receipt)
        if watch is None or watch.limit is None:
            return False
        return self._clock.monotonic() - watch.started > watch.limit + GRACE

    def check(self) -> None:
        """Interrupt the tasks past their limit, and report those past the hard limit; once each."""
        now = self._clock.monotonic()
        with self._lock:
            for watch in self._watches.values():
                limit, interrupt = watch.limit, watch.interrupt
                if watch.interrupted or limit is None or interrupt is None:
                    continue
                if now - watch.started > limit:
                    watch.interrupted = True
                    interrupt.send(TaskTimeLimitExceeded.raised_for(watch.task_name, limit))
                    logger.warning(
                        "Task %s passed its time limit of %g s: interrupting it",
                        watch.task_name,
                        limit,
                        extra={"task_name": watch.task_name, "time_limit": limit},
                    )
            stuck = [
                w
                for w in self._watches.values()
                if not w.stuck and w.hard_limit is not None and now - w.started > w.hard_limit
            ]
            for watch in stuck:
                watch.stuck = True
        for watch in stuck:
            if self.on_stuck is not None:
                self.on_stuck(watch)

    def run(self) -> None:
        """Check every `TICK` seconds until `stop`; the watchdog thread's loop."""
        while not self._stopped.wait(TICK):
            try:
                self.check()
            except Exception:  # the watchdog must outlive a bug, or limits go unenforced
                logger.exception("Internal error in the time-limit watchdog")

    def stop(self) -> None:
        """Make `run` return."""
        self._stopped.set()

    def enforced(self, limits: list[float | None]) -> bool:
        """Return whether a watchdog is needed for tasks with these own limits."""
        if self._interrupts is None:
            return False
        return (
            self.hard_limit is not None
            or self.default is not None
            or any(limit is not None for limit in limits)
        )
