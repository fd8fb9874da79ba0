"""The health endpoint: ``GET /healthz`` says whether the worker consumes, for an HTTP probe.

`HealthEndpoint` is a `LivenessPort`: the worker beats it every 5 seconds while
it consumes normally (see `Worker`), so the answer is 200 while the last beat is
recent and 503 once the beats stopped (receives failing for over a minute), before
the first beat, and from the moment the worker is asked to stop. `ProcessesHealth`
answers for the worker processes of a supervisor, from each one's heartbeat file.
Served by `simple_worker.adapters.observability._http_server`; standard library only.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from simple_worker.adapters.observability._http_server import HttpAnswer
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.middleware import Middleware

HEALTH_PATH = "/healthz"
DEFAULT_STALE_AFTER = 15.0
"""Seconds without a beat before the answer turns 503: three missed 5-second beats."""

OK, STARTING, STALE, STOPPING, NOT_RUNNING = "ok", "starting", "stale", "stopping", "not running"


@runtime_checkable
class _Stoppable(Protocol):
    @property
    def stopping(self) -> bool: ...


class HealthEndpoint(Middleware):
    """A `LivenessPort` that answers ``GET /healthz`` from the time of its last beat.

    Also a middleware (``worker_started``/``worker_stopped``), through which it
    learns that the worker is stopping. Thread-safe.

    Args:
        clock: the worker's clock (its monotonic time dates the beats).
        stale_after: seconds without a beat after which the worker is not healthy.
    """

    def __init__(self, clock: ClockPort, *, stale_after: float = DEFAULT_STALE_AFTER) -> None:
        self._clock = clock
        self._stale_after = stale_after
        self._lock = threading.Lock()
        self._last_beat: float | None = None
        self._worker: _Stoppable | None = None
        self._stopped = False

    def beat(self) -> None:
        """Record that the worker consumes normally now."""
        now = self._clock.monotonic()
        with self._lock:
            self._last_beat = now

    def worker_started(self, worker: object) -> None:
        """Watch ``worker`` for a stop request."""
        with self._lock:
            self._worker = worker if isinstance(worker, _Stoppable) else None
            self._stopped = False

    def worker_stopped(self, worker: object) -> None:
        """Answer 503 from now on (until a worker starts again)."""
        with self._lock:
            self._stopped = True

    def answer(self, headers: Mapping[str, str] | None = None) -> HttpAnswer:
        """Return 200 while the last beat is recent, else 503; the body says why, in JSON."""
        with self._lock:
            last_beat, worker, stopped = self._last_beat, self._worker, self._stopped
        age = None if last_beat is None else max(self._clock.monotonic() - last_beat, 0.0)
        if stopped or (worker is not None and worker.stopping):
            status = STOPPING
        else:
            status = _beat_status(age, self._stale_after)
        return _json_answer(
            status == OK,
            {"status": status, "consuming": status == OK, "seconds_since_beat": _round(age)},
        )


class ProcessesHealth:
    """The health of a supervisor's worker processes: 200 only if every one consumes.

    A process consumes when it runs and its heartbeat file (touched every 5 seconds
    while it consumes) is at most ``stale_after`` seconds old.

    Args:
        processes: returns ``(index, pid)`` of each process slot, pid None while
            the slot has no running process (it is being restarted).
        beat_file: the heartbeat file of the process with the given index.
        stopping: returns True once the supervisor is stopping its processes.
        stale_after: seconds without a beat after which a process is not healthy.
    """

    def __init__(
        self,
        processes: Callable[[], Sequence[tuple[int, int | None]]],
        beat_file: Callable[[int], Path],
        stopping: Callable[[], bool],
        *,
        stale_after: float = DEFAULT_STALE_AFTER,
    ) -> None:
        self._processes = processes
        self._beat_file = beat_file
        self._stopping = stopping
        self._stale_after = stale_after

    def answer(self, headers: Mapping[str, str] | None = None) -> HttpAnswer:
        """Return 200 when every process consumes, else 503; the body details each one."""
        details: list[dict[str, object]] = []
        ages: list[float | None] = []
        for index, pid in self._processes():
            age = None if pid is None else _file_age(self._beat_file(index))
            status = NOT_RUNNING if pid is None else _beat_status(age, self._stale_after)
            ages.append(age)
            details.append(
                {
                    "index": index,
                    "pid": pid,
                    "status": status,
                    "consuming": status == OK,
                    "seconds_since_beat": _round(age),
                }
            )
        consuming = bool(details) and all(d["consuming"] for d in details)
        status = STOPPING if self._stopping() else (OK if consuming else "degraded")
        known = [age for age in ages if age is not None]
        oldest = max(known) if known and len(known) == len(ages) else None
        return _json_answer(
            status == OK,
            {
                "status": status,
                "consuming": status == OK,
                "seconds_since_beat": _round(oldest),
                "processes": details,
            },
        )


def _beat_status(age: float | None, stale_after: float) -> str:
    if age is None:
        return STARTING
    return OK if age <= stale_after else STALE


def _file_age(path: Path) -> float | None:
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    return max(time.time() - mtime, 0.0)


def _round(age: float | None) -> float | None:
    return None if age is None else round(age, 3)


def _json_answer(healthy: bool, body: dict[str, object]) -> HttpAnswer:
    return HttpAnswer(200 if healthy else 503, (json.dumps(body) + "\n").encode())
