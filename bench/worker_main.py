"""A worker process for the benchmark, printing what it measured as one JSON line.

It runs until it has handled ``--tasks`` tasks (or for ``--seconds``).

Measured inside the worker: the SQS API calls it made, by action (the adapter's
call listener, so each call counts once whatever botocore retried), the
time spent waiting on those calls, its own CPU time and peak RSS, the time from
the first task's start to the last one's end, and each task's latency from the
``sent_at`` its producer stamped to its handler's start.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import logging
import os
import resource
import threading
import time

from simple_worker import App
from simple_worker.adapters import SQSQueue
from simple_worker.ports.queue import QueueCall


def main() -> None:
    """Run the worker and print its figures."""
    args = _arguments()
    _prepare_process(args)

    calls: collections.Counter[str] = collections.Counter()
    receives: dict[str, list[float]] = collections.defaultdict(list)

    def counting(call: QueueCall) -> None:
        calls[call.action] += 1
        if call.action == "ReceiveMessage":
            receives[call.queue or ""].append(time.monotonic())

    # The adapter builds its client, as `App` does: the worker's calls take its direct way.
    queue = SQSQueue(endpoint_url=args.endpoint, region="us-east-1")
    queue.add_call_listener(counting)
    app = App(queue_prefix=args.prefix, queue=queue)
    queue_names = args.queues.split(",")

    lock = threading.Lock()
    latencies: list[float] = []
    span = {"first_start": 0.0, "last_end": 0.0, "first_cpu": 0.0, "last_cpu": 0.0}
    worker_box: list[object] = []

    def task(sent_at: float, n: int) -> None:
        started = time.time()
        if args.sleep:
            time.sleep(args.sleep)
        record(sent_at, started)

    async def async_task(sent_at: float, n: int) -> None:
        started = time.time()
        if args.sleep:
            await asyncio.sleep(args.sleep)
        record(sent_at, started)

    def record(sent_at: float, started: float) -> None:
        with lock:
            latencies.append(started - sent_at)
            if not span["first_start"]:
                span["first_start"], span["first_cpu"] = started, _cpu()
            span["last_end"] = time.time()
            if len(latencies) == args.tasks:
                span["last_cpu"] = _cpu()
            if args.tasks and len(latencies) == args.tasks:
                worker_box[0].stop()  # type: ignore[attr-defined]

    handler = async_task if args.async_concurrency else task
    for queue_name in queue_names:
        app.register_task_handler(f"task-{queue_name}", queue=queue_name)(handler)
    worker = app.worker(threads=args.threads, async_concurrency=args.async_concurrency or 100)
    worker_box.append(worker)
    if args.seconds:
        threading.Timer(args.seconds, worker.stop).start()
    print("ready", flush=True)
    started = time.time()
    worker.start()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    latencies.sort()
    print(
        json.dumps(
            {
                "tasks": len(latencies),
                "seconds": time.time() - started,
                "busy_seconds": span["last_end"] - span["first_start"],
                "calls": dict(calls),
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "busy_cpu_seconds": span["last_cpu"] - span["first_cpu"],
                "max_rss_mib": usage.ru_maxrss / 1024,
                "latency_p50": latencies[len(latencies) // 2] if latencies else None,
                "latency_p99": latencies[int(len(latencies) * 0.99)] if latencies else None,
                "receive_intervals": _intervals(receives),
            }
        ),
        flush=True,
    )


def _prepare_process(args: argparse.Namespace) -> None:
    if not args.log_info:
        # Without the INFO line of each task, which `app.worker()` would otherwise
        # write to stderr (its cost is its own, and depends on where the log goes).
        # Warnings still show.
        logging.basicConfig(level=logging.WARNING)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--queues", default="default")
    parser.add_argument("--tasks", type=int, default=0, help="stop after this many; 0: never")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long; 0: never")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sleep", type=float, default=0.0, help="each task's sleep, seconds")
    parser.add_argument(
        "--async-concurrency",
        type=int,
        default=0,
        help="with N > 0, tasks are async def (awaiting asyncio.sleep), N at once",
    )
    parser.add_argument("--cpu", type=int, help="pin this process to one CPU (Linux)")
    parser.add_argument(
        "--log-info",
        action="store_true",
        help="log as `app.worker()` does by default (INFO, text, stderr): each task's line",
    )
    return parser.parse_args()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _intervals(receives: dict[str, list[float]]) -> list[float]:
    """Seconds between consecutive receives on the same queue."""
    return [b - a for times in receives.values() for a, b in itertools.pairwise(times)]


if __name__ == "__main__":
    main()
