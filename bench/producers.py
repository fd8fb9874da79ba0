"""Producer scenarios: batches in flight, the send window, the async producer.

Each scenario is a function of its own, given an SQS endpoint; ``main`` runs them
all against an emulator (see ``emulator.py``), with ``--latency-ms`` added by its
proxy, which runs in a process of its own, so that the proxy's work does not
count against the producer measured here.

    python bench/producers.py --latency-ms 20      # as from a host to real SQS
    python bench/producers.py --quick              # small N
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3

from simple_worker import App
from simple_worker.adapters import SQSQueue

sys.path.insert(0, str(Path(__file__).parent))
from emulator import KINDS, emulator

HERE = Path(__file__).parent


def _app(endpoint: str, **options: Any) -> tuple[App, collections.Counter[str], str]:  # noqa: ANN401
    """Return an app on a new queue, the counter of its SQS calls, and the queue's name."""
    prefix = _name() + "-"
    client = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    client.create_queue(QueueName=prefix + "default")
    calls: collections.Counter[str] = collections.Counter()
    client.meta.events.register("before-call.sqs.*", lambda model, **_: calls.update([model.name]))
    app = App(queue_prefix=prefix, queue=SQSQueue(client=client), **options)
    app.register_task_handler("noop")(lambda n: None)
    app.add_task("noop", n=-1)  # resolves the queue: its lookups are not counted below
    calls.clear()
    return app, calls, prefix + "default"


def _figures(
    tasks: int, seconds: float, cpu: float, calls: collections.Counter[str]
) -> dict[str, Any]:
    return {
        "tasks": tasks,
        "tasks_per_second": round(tasks / seconds),
        "calls_per_task": round(sum(calls.values()) / tasks, 3),
        "cpu_ms_per_task": round(cpu / tasks * 1000, 3),
    }


def one_thread_calling_add_task(endpoint: str, tasks: int) -> dict[str, Any]:
    """One thread calling ``add_task`` in a loop, no window: each task its own call."""
    app, calls, _ = _app(endpoint)
    started, cpu = time.perf_counter(), time.process_time()
    for n in range(tasks):
        app.add_task("noop", n=n)
    return _figures(tasks, time.perf_counter() - started, time.process_time() - cpu, calls)


def async_clients(endpoint: str, python: str) -> dict[str, Any]:
    """Run ``async_clients.py`` with ``python`` (one with aiobotocore); return its figures."""
    done = subprocess.run(  # noqa: S603 - our own script
        [python, str(HERE / "async_clients.py"), "--endpoint", endpoint, "--queue", _name()],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout))


def _name() -> str:
    return f"bench-{uuid.uuid4().hex[:8]}"


def add_tasks_in_flight(endpoint: str, tasks: int, concurrency: int) -> dict[str, Any]:
    """One ``add_tasks`` of ``tasks`` payloads, ``concurrency`` calls in flight."""
    app, calls, _ = _app(endpoint, send_concurrency=concurrency)
    payloads = [{"n": n} for n in range(tasks)]
    started, cpu = time.perf_counter(), time.process_time()
    app.add_tasks("noop", payloads)
    return {"concurrency": concurrency} | _figures(
        tasks, time.perf_counter() - started, time.process_time() - cpu, calls
    )


def threads_calling_add_task(
    endpoint: str, threads: int, tasks_each: int, window: float | None, concurrency: int = 16
) -> dict[str, Any]:
    """``threads`` threads, each calling ``add_task`` ``tasks_each`` times in a loop."""
    app, calls, _ = _app(endpoint, send_window=window, send_concurrency=concurrency)
    start = threading.Barrier(threads + 1)

    def loop() -> None:
        start.wait()
        for n in range(tasks_each):
            app.add_task("noop", n=n)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    started, cpu = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.join()
    figures = _figures(
        threads * tasks_each, time.perf_counter() - started, time.process_time() - cpu, calls
    )
    app.close()
    return {"threads": threads, "send_window": window, "concurrency": concurrency} | figures


def coroutines_calling_add_task_async(
    endpoint: str, coroutines: int, tasks_each: int, window: float | None
) -> dict[str, Any]:
    """``coroutines`` coroutines on one loop, each awaiting ``add_task_async`` in a loop.

    A probe coroutine sleeps 1 ms at a time and records how late it wakes: the
    longest lateness is the longest the producer blocked the event loop.
    """
    app, calls, _ = _app(endpoint, send_window=window)
    latencies: list[float] = []
    lags: list[float] = []

    async def one(done: asyncio.Event) -> None:
        for n in range(tasks_each):
            began = time.perf_counter()
            await app.add_task_async("noop", n=n)
            latencies.append(time.perf_counter() - began)

    async def probe(done: asyncio.Event) -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - before - 0.001)

    async def run() -> float:
        done = asyncio.Event()
        watcher = asyncio.create_task(probe(done))
        started = time.perf_counter()
        await asyncio.gather(*(one(done) for _ in range(coroutines)))
        seconds = time.perf_counter() - started
        done.set()
        await watcher
        return seconds

    cpu = time.process_time()
    seconds = asyncio.run(run())
    figures = _figures(coroutines * tasks_each, seconds, time.process_time() - cpu, calls)
    app.close()
    return {
        "coroutines": coroutines,
        "send_window": window,
        **figures,
        "latency_ms_p50": round(statistics.median(latencies) * 1000, 1),
        "latency_ms_p99": round(_percentile(latencies, 99) * 1000, 1),
        "loop_lag_ms_max": round(max(lags) * 1000, 1),
        "loop_lag_ms_p99": round(_percentile(lags, 99) * 1000, 1),
        "idle_loop_lag_ms_max": round(idle_loop_lag(1.0) * 1000, 1),
    }


def idle_loop_lag(seconds: float) -> float:
    """Return the longest lateness of a 1 ms sleep on an idle loop: what the machine adds."""

    async def probe() -> float:
        worst, until = 0.0, time.perf_counter() + seconds
        while time.perf_counter() < until:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - before - 0.001)
        return worst

    return asyncio.run(probe())


def _percentile(values: list[float], percent: int) -> float:
    """Return the nearest-rank percentile (never beyond the largest value)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, len(ordered) * percent // 100)]


def run_all(endpoint: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run every producer scenario; return the figures."""
    n = args.tasks
    results: dict[str, Any] = {
        "latency_ms": args.latency_ms,
        "load_average": os.getloadavg()[0],
    }
    results["add_task_one_thread"] = [one_thread_calling_add_task(endpoint, min(n, 200))]
    results["add_tasks"] = [
        add_tasks_in_flight(endpoint, n, concurrency) for concurrency in args.concurrency
    ]
    each = max(1, n // 64 // 2)
    results["threads"] = [
        threads_calling_add_task(endpoint, 64, each, window) for window in (None, 0.0, 0.005)
    ]
    each = max(1, n // 100 // 2)
    results["async"] = [
        coroutines_calling_add_task_async(endpoint, 100, each, window) for window in (None, 0.005)
    ]
    if args.async_clients_python:
        results["async_clients"] = [async_clients(endpoint, args.async_clients_python)]
    return results


def main() -> None:
    """Run the producer scenarios against an emulator and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--emulator", choices=KINDS, default="localstack", help="as in run.py (default: localstack)"
    )
    parser.add_argument("--latency-ms", type=float, default=0, help="delay added to every call")
    parser.add_argument("--tasks", type=int, default=5000, help="tasks per scenario")
    parser.add_argument(
        "--concurrency", type=lambda s: [int(c) for c in s.split(",")], default=[1, 2, 4, 8, 16]
    )
    parser.add_argument(
        "--async-clients-python",
        help="a Python with aiobotocore: also compare it with boto3 on threads (async_clients.py)",
    )
    parser.add_argument("--quick", action="store_true", help="small N")
    parser.add_argument("--json", default=str(HERE / "results" / "producers.json"))
    args = parser.parse_args()
    if args.quick:
        args.tasks = 1000
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")  # noqa: S106
    with emulator(args.emulator, delay=args.latency_ms / 1000) as server:
        results = run_all(server.url, args)
    for name, rows in results.items():
        if isinstance(rows, list):
            print(f"\n{name}")
            for row in rows:
                print("  " + "  ".join(f"{k}={v}" for k, v in row.items()))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
