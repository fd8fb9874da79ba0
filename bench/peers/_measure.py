"""What every peer script shares: its command line, and the drain measurement.

Standard library only: each peer script runs in its own library's virtualenv.
A script is run three ways (``--mode``): ``produce`` enqueues ``--tasks`` no-op
tasks with the library's way of sending many at once, ``single`` enqueues them
one call each, and ``work`` runs one worker process with the library's default
settings until it has run ``--tasks`` tasks. Each prints its figures as one
line: ``figures: {JSON}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Callable


def arguments() -> argparse.Namespace:
    """Parse the command line every peer script takes; pin to ``--cpu`` if given."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True, help="the SQS endpoint URL")
    parser.add_argument("--queue", required=True, help="the queue's name")
    parser.add_argument("--mode", choices=("produce", "single", "work"), required=True)
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--cpu", type=int, help="pin this process to one CPU (Linux)")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    # Every library at WARNING: a log line per task costs what its handler costs.
    logging.basicConfig(level=logging.WARNING)
    return args


def timed(send: Callable[[], object], note: str) -> None:
    """Run ``send`` and print how long it took."""
    started = time.perf_counter()
    send()
    report({"seconds": time.perf_counter() - started, "api": note})


def report(figures: dict[str, object]) -> None:
    """Print the figures as the last line of output."""
    print("figures: " + json.dumps(figures), flush=True)


def ready() -> None:
    """Tell the benchmark that start-up is over."""
    print("ready", flush=True)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mib() -> float:
    """Return the peak resident memory of this process, MiB.

    On Linux ``ru_maxrss`` survives ``exec``: a child reports its parent's peak
    if that was higher. ``VmHWM`` belongs to this program's own address space.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Drain:
    """Counts the tasks a worker runs; times the span from the first to the last.

    CPU is the whole process's (every thread) over that span, so start-up and
    shutdown are not counted as per-task work.
    """

    def __init__(self, tasks: int) -> None:
        self.tasks = tasks
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._count = 0
        self._first = (0.0, 0.0)
        self._last = (0.0, 0.0)

    def record(self) -> bool:
        """Call from the task's body; True for the task that completes the count."""
        now = time.perf_counter()
        with self._lock:
            self._count += 1
            if self._count == 1:
                self._first = (now, _cpu())
            if self._count == self.tasks:
                self._last = (now, _cpu())
                self.done.set()
                return True
        return False

    def report(self, api: str) -> None:
        """Print the drain's figures."""
        report(
            {
                "tasks": self._count,
                "busy_seconds": self._last[0] - self._first[0],
                "busy_cpu_seconds": self._last[1] - self._first[1],
                "max_rss_mib": _peak_rss_mib(),
                "api": api,
            }
        )
        sys.stdout.flush()
