"""simple-worker's benchmark: throughput, SQS calls per task, idle cost, latency, CPU.

Starts an SQS emulator on 127.0.0.1 (LocalStack, or moto at small N) behind a
proxy that counts every call and, with ``--latency-ms``, delays it; runs each
scenario, prints a table and writes JSON. Worker figures come from a separate
worker process (``worker_main.py``); API calls are counted where they are made,
with botocore's event hooks, for every action. ``--peers`` runs the same
workload through other SQS task libraries too (``peer_runs.py``), interleaved.

    python bench/run.py                  # the full run (several minutes)
    python bench/run.py --latency-ms 20  # as from a host to real SQS
    python bench/run.py --quick --check  # CI's smoke run: small N, moto, call budgets enforced
    python bench/run.py --peers sqs-workers,dramatiq,celery --only-peers
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

from simple_worker import App
from simple_worker.adapters import SQSQueue

sys.path.insert(0, str(Path(__file__).parent))
from emulator import KINDS, emulator
from peer_runs import PEERS, compare_peers, print_peer_table
from venvs import VenvError

HERE = Path(__file__).parent
CONSUMER_TAIL_CALLS = 10
"""Calls a worker may spend on a backlog beyond 0.2 a task: the last receives come back short."""
BUDGETS = {
    "consumer calls per task": 0.21,  # at 1,000 tasks: 0.2 + CONSUMER_TAIL_CALLS / tasks
    "batched producer calls per task": 0.11,
    "idle receives per minute per queue": 3.1,
}


def main() -> int:
    """Run the benchmark; return 1 if ``--check`` found a budget exceeded."""
    args = _arguments()
    # The emulator's dummy credentials, for this process and the workers it starts.
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")  # noqa: S106
    try:
        with emulator(args.emulator, delay=args.latency_ms / 1000) as server:
            if args.pin:
                # The worker gets CPU 0 to itself; this process, the emulator and proxy share CPU 1.
                os.sched_setaffinity(0, {1})
                for pid in server.pids:
                    os.sched_setaffinity(pid, {1})
            results: dict[str, Any] = {}
            if not args.only_peers:
                results = Bench(server.url, args).run_all()
            if args.peers:
                results["peers"] = compare_peers(server, args)
    except VenvError as error:
        print(f"cannot run the benchmark: {error}", file=sys.stderr)
        return 2
    if not args.only_peers:
        _print_table(results, args)
    if args.peers:
        print_peer_table(results["peers"], args)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nJSON written to {out}")
    if args.check:
        return _check(results)
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--emulator",
        choices=KINDS,
        help="SQS emulator (default: localstack; moto with --quick)",
    )
    parser.add_argument("--latency-ms", type=float, default=0, help="delay added to every call")
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks per drain run")
    parser.add_argument(
        "--backlog",
        type=int,
        help="most tasks queued at once (default: all with localstack, 300 with moto)",
    )
    parser.add_argument("--single-sends", type=int, default=1000, help="add_task calls to time")
    parser.add_argument("--idle-seconds", type=float, default=125, help="idle worker run length")
    parser.add_argument("--quick", action="store_true", help="small N, short idle run (CI)")
    parser.add_argument(
        "--pin", action="store_true", help="give the worker a CPU of its own (Linux, 2+ CPUs)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a call budget is exceeded")
    parser.add_argument(
        "--peers",
        type=_peer_list,
        default=[],
        help=f"also run the same workload through these, comma-separated: {', '.join(PEERS)}",
    )
    parser.add_argument(
        "--peer-tasks", type=int, default=1000, help="tasks per run in the peer comparison"
    )
    parser.add_argument(
        "--only-peers", action="store_true", help="with --peers: skip the other scenarios"
    )
    parser.add_argument("--json", default=str(HERE / "results" / "latest.json"))
    args = parser.parse_args()
    if args.emulator is None:
        args.emulator = "moto" if args.quick else "localstack"
    if args.backlog is None:
        # moto's cost per call grows with the queue's depth; LocalStack's does not.
        args.backlog = 300 if args.emulator == "moto" else 0
    if args.quick:
        args.tasks, args.single_sends, args.idle_seconds = 1000, 100, 45
        if args.emulator == "moto":
            # moto's calls slow down as its queue fills: fewer tasks, fewer queued at once.
            args.tasks, args.backlog = 300, min(args.backlog, 100)
        args.peer_tasks = min(args.peer_tasks, 100)
    return args


def _peer_list(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in PEERS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown peer(s) {', '.join(unknown)}: choose among {', '.join(PEERS)}"
        )
    return names


class Bench:
    """The scenarios, against one emulator endpoint."""

    def __init__(self, endpoint: str, args: argparse.Namespace) -> None:
        self.endpoint = endpoint
        self.args = args
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")

    def run_all(self) -> dict[str, Any]:
        """Run every scenario; return the figures by scenario."""
        n = self.args.tasks
        results: dict[str, Any] = {"machine": _machine(), "options": vars(self.args)}
        # The idle worker waits on its own empty queues while the other scenarios run.
        idle_prefix = self._queues("default", "other")
        idle = self._start_worker(
            idle_prefix, seconds=self.args.idle_seconds, queues="default,other"
        )
        results["enqueue"] = self.enqueue()
        results["saturation"] = self.saturation(tasks=min(n, 1000))
        results["drain"] = [
            self.drain(threads=1, sleep=0.0, tasks=n),
            self.drain(threads=8, sleep=0.0, tasks=n),
            self.drain(threads=16, sleep=0.01, tasks=max(n // 5, 100)),
            self.drain(threads=64, sleep=0.01, tasks=max(n // 2, 100)),
        ]
        results["async"] = self.async_drains(n)
        results["latency"] = self.latency(tasks=200 if not self.args.quick else 50)
        results["idle"] = self.idle(idle)
        results["testing_worker"] = testing_worker_cost(20_000 if not self.args.quick else 2000)
        return results

    # -- scenarios ----------------------------------------------------------------------

    def enqueue(self) -> dict[str, Any]:
        """``add_task`` one at a time, then ``add_tasks`` in chunks of 100."""
        prefix = self._queues("default")
        app, calls = self._app(prefix)
        single = self.args.single_sends
        started = time.perf_counter()
        for n in range(single):
            app.add_task("task-default", sent_at=0.0, n=n)
        single_seconds = time.perf_counter() - started
        single_calls = sum(calls.values())
        self._delete(prefix + "default")
        prefix = self._queues("default")
        app, calls = self._app(prefix)
        batched = min(self.args.tasks, 5000)
        started = time.perf_counter()
        for chunk in range(0, batched, 100):
            app.add_tasks(
                "task-default", [{"sent_at": 0.0, "n": n} for n in range(chunk, chunk + 100)]
            )
        batched_seconds = time.perf_counter() - started
        self._delete(prefix + "default")
        return {
            "single_tasks_per_second": single / single_seconds,
            "single_calls_per_task": single_calls / single,
            "batched_tasks_per_second": batched / batched_seconds,
            "batched_calls_per_task": (calls["SendMessageBatch"]) / batched,
            "batched_calls": dict(calls),
        }

    def saturation(self, tasks: int) -> dict[str, Any]:
        """Measure a worker on a full backlog: its calls per task, start-up lookups excluded."""
        prefix = self._queues("default")
        app, _ = self._app(prefix)
        app.add_tasks("task-default", [{"sent_at": time.time(), "n": n} for n in range(tasks)])
        figures = self._run_worker(prefix, tasks=tasks, threads=1)
        steady = {
            k: v
            for k, v in figures["calls"].items()
            if k not in ("GetQueueUrl", "GetQueueAttributes")
        }
        figures["calls_per_task"] = sum(steady.values()) / tasks
        return figures

    def async_drains(self, tasks: int) -> list[dict[str, Any]]:
        """``async def`` tasks on the worker's event loop: no-op, and awaiting 50 ms."""
        return [
            self.drain(threads=1, sleep=0.0, tasks=tasks, async_concurrency=100),
            self.drain(threads=1, sleep=0.05, tasks=max(tasks // 2, 100), async_concurrency=100),
        ]

    def drain(
        self, *, threads: int, sleep: float, tasks: int, async_concurrency: int = 0
    ) -> dict[str, Any]:
        """Measure a worker draining ``tasks``, at most ``backlog`` of them queued at a time.

        The first ``backlog`` are queued before the worker starts; four producer
        threads then keep the queue topped up, so that the producer is not what
        limits the worker.
        """
        prefix = self._queues("default")
        app, _ = self._app(prefix)
        url = self.sqs.get_queue_url(QueueName=prefix + "default")["QueueUrl"]
        backlog = self.args.backlog or tasks
        chunks = [range(start, min(start + 100, tasks)) for start in range(0, tasks, 100)]

        def send(chunk: range) -> None:
            app.add_tasks("task-default", [{"sent_at": time.time(), "n": n} for n in chunk])

        prefilled = backlog // 100
        with ThreadPoolExecutor(4) as producers:
            list(producers.map(send, chunks[:prefilled]))
            options = {"async-concurrency": async_concurrency} if async_concurrency else {}
            worker = self._start_worker(
                prefix, tasks=tasks, threads=threads, sleep=sleep, **options
            )
            for chunk in chunks[prefilled:]:
                while self._depth(url) >= backlog:
                    time.sleep(0.01)
                producers.submit(send, chunk)
        figures = self._finish_worker(worker)
        figures.update(threads=threads, sleep_ms=sleep * 1000, async_concurrency=async_concurrency)
        figures["tasks_per_second"] = figures["tasks"] / figures["busy_seconds"]
        # CPU while tasks ran: start-up (imports, queue lookups) is not per-task work.
        figures["cpu_ms_per_task"] = figures["busy_cpu_seconds"] * 1000 / figures["tasks"]
        return figures

    def latency(self, tasks: int) -> dict[str, Any]:
        """Enqueue-to-start latency at low load: one task every 20 ms."""
        prefix = self._queues("default")
        app, _ = self._app(prefix)
        worker = self._start_worker(prefix, tasks=tasks, threads=4, sleep=0.0)
        for n in range(tasks):
            app.add_task("task-default", sent_at=time.time(), n=n)
            time.sleep(0.02)
        return self._finish_worker(worker)

    def idle(self, worker: subprocess.Popen[str]) -> dict[str, Any]:
        """Measure a worker on two empty queues: receive calls per minute per queue."""
        figures = self._finish_worker(worker)
        # Steady state: the mean gap between one queue's receives, not a count over a window
        # whose edges add a poll.
        figures["receives_per_minute_per_queue"] = 60 / statistics.mean(
            figures["receive_intervals"]
        )
        return figures

    # -- helpers ------------------------------------------------------------------------

    def _queues(self, *names: str) -> str:
        prefix = f"bench-{uuid.uuid4().hex[:8]}-"
        for name in names:
            self.sqs.create_queue(QueueName=prefix + name, Attributes={"VisibilityTimeout": "30"})
        return prefix

    def _app(self, prefix: str) -> tuple[App, collections.Counter[str]]:
        calls: collections.Counter[str] = collections.Counter()
        client = boto3.client("sqs", endpoint_url=self.endpoint, region_name="us-east-1")
        client.meta.events.register(
            "before-call.sqs.*", lambda model, **_: calls.update([model.name])
        )
        app = App(queue_prefix=prefix, queue=SQSQueue(client=client))
        for name in ("default", "other"):
            app.register_task_handler(f"task-{name}", queue=name)(lambda sent_at, n: None)
        return app, calls

    def _start_worker(self, prefix: str, **options: object) -> subprocess.Popen[str]:
        command = [
            sys.executable,
            str(HERE / "worker_main.py"),
            "--endpoint",
            self.endpoint,
            "--prefix",
            prefix,
        ]
        if self.args.pin:
            options = {**options, "cpu": 0}
        for key, value in options.items():
            command += [f"--{key}", str(value)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the benchmark worker did not start")
        return process

    def _finish_worker(self, process: subprocess.Popen[str]) -> dict[str, Any]:
        output, _ = process.communicate(timeout=600)
        if process.returncode != 0:
            raise RuntimeError(f"the benchmark worker exited with {process.returncode}")
        return dict(json.loads(output.strip().splitlines()[-1]))

    def _run_worker(self, prefix: str, **options: object) -> dict[str, Any]:
        return self._finish_worker(self._start_worker(prefix, **options))

    def _depth(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def _delete(self, queue: str) -> None:
        self.sqs.delete_queue(QueueUrl=self.sqs.get_queue_url(QueueName=queue)["QueueUrl"])


def testing_worker_cost(tasks: int) -> dict[str, Any]:
    """Microseconds per task of ``testing_worker().run_all()`` in memory, median of 3."""
    runs = []
    for _ in range(3):
        app = App(testing_mode=True)
        app.register_task_handler("noop")(lambda n: None)
        app.add_tasks("noop", [{"n": n} for n in range(tasks)])
        started = time.perf_counter()
        app.testing_worker().run_all(max_tasks=tasks)
        runs.append((time.perf_counter() - started) * 1e6 / tasks)
    return {"tasks": tasks, "microseconds_per_task": statistics.median(runs)}


def _machine() -> dict[str, Any]:
    import platform  # noqa: PLC0415

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def _print_table(results: dict[str, Any], args: argparse.Namespace) -> None:
    rows: list[tuple[str, str]] = []
    add: Callable[[str, str], None] = lambda name, value: rows.append((name, value))  # noqa: E731
    enqueue = results["enqueue"]
    add(
        "add_task, one at a time",
        f"{enqueue['single_tasks_per_second']:.0f} tasks/s, "
        f"{enqueue['single_calls_per_task']:.3f} calls/task",
    )
    add(
        "add_tasks, batched",
        f"{enqueue['batched_tasks_per_second']:.0f} tasks/s, "
        f"{enqueue['batched_calls_per_task']:.3f} calls/task",
    )
    saturation = results["saturation"]
    add(
        "worker at saturation (1 thread)",
        f"{saturation['calls_per_task']:.3f} calls/task {_calls(saturation['calls'])}",
    )
    for run in results["drain"]:
        add(
            f"drain, {run['threads']} thread(s), {run['sleep_ms']:.0f} ms tasks",
            f"{run['tasks_per_second']:.0f} tasks/s, "
            f"{run['cpu_ms_per_task'] * 1000:.0f} µs CPU/task, "
            f"{run['max_rss_mib']:.0f} MiB RSS, {_per_task(run)}",
        )
    for run in results.get("async", ()):
        add(
            f"async drain, {run['async_concurrency']} at once, {run['sleep_ms']:.0f} ms tasks",
            f"{run['tasks_per_second']:.0f} tasks/s, "
            f"{run['cpu_ms_per_task'] * 1000:.0f} µs CPU/task, "
            f"{run['max_rss_mib']:.0f} MiB RSS, {_per_task(run)}",
        )
    latency = results["latency"]
    add(
        "latency, enqueue to start",
        f"p50 {latency['latency_p50'] * 1000:.1f} ms, p99 {latency['latency_p99'] * 1000:.1f} ms",
    )
    idle = results["idle"]
    add(
        "idle worker, 2 queues",
        f"{idle['receives_per_minute_per_queue']:.2f} receives/min/queue "
        f"over {idle['seconds']:.0f} s",
    )
    add(
        "testing_worker().run_all()",
        f"{results['testing_worker']['microseconds_per_task']:.0f} µs/task",
    )
    width = max(len(name) for name, _ in rows)
    print(f"\nsimple-worker benchmark ({args.emulator} emulator, +{args.latency_ms:g} ms per call)")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def _calls(calls: dict[str, int]) -> str:
    return "(" + ", ".join(f"{k} {v}" for k, v in sorted(calls.items())) + ")"


def _per_task(run: dict[str, Any]) -> str:
    per_task = sum(
        v for k, v in run["calls"].items() if k not in ("GetQueueUrl", "GetQueueAttributes")
    )
    return f"{per_task / run['tasks']:.3f} calls/task"


def _budgets(saturation_tasks: int) -> dict[str, float]:
    """Return the budgets, the consumer's for a backlog of ``saturation_tasks`` (fewer on moto)."""
    return {**BUDGETS, "consumer calls per task": 0.2 + CONSUMER_TAIL_CALLS / saturation_tasks}


def _check(results: dict[str, Any]) -> int:
    seen = {
        "consumer calls per task": results["saturation"]["calls_per_task"],
        "batched producer calls per task": results["enqueue"]["batched_calls_per_task"],
        "idle receives per minute per queue": results["idle"]["receives_per_minute_per_queue"],
    }
    failed = [
        f"{name}: {seen[name]:.3f} > {budget}"
        for name, budget in _budgets(results["saturation"]["tasks"]).items()
        if seen[name] > budget
    ]
    for line in failed:
        print(f"BUDGET EXCEEDED {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
