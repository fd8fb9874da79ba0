"""Worker CPU per task: a one-thread worker draining no-op tasks, several runs.

Each run fills a fresh queue on the emulator (LocalStack by default), then starts a worker process
(``worker_main.py``) that drains it; the figure is the worker's own CPU time
(``getrusage``: user + system) from its first task's start to its last one's
end, divided by the tasks. CPU time, not wall time: it hardly moves when other
processes share the machine, where throughput does.

    python bench/cpu.py [--tasks 5000] [--runs 5] [--log-info] [--latency-ms 0] [--pin]

``--log-info`` lets the worker log as ``app.worker()`` does by default (INFO,
text, stderr; written to a file here), the way a production worker runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from emulator import KINDS, emulator
from run import HERE, Bench


def main() -> int:
    """Run the worker ``--runs`` times and print its CPU per task."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--log-info", action="store_true", help="log at INFO, as by default")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay added to every call")
    parser.add_argument("--verbose", action="store_true", help="print each run's figures")
    parser.add_argument("--emulator", choices=KINDS, default="localstack")
    parser.add_argument(
        "--pin", action="store_true", help="give the worker a CPU of its own, as run.py --pin"
    )
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")  # noqa: S106
    figures: list[float] = []
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(emulator(args.emulator, delay=args.latency_ms / 1000))
        endpoint = server.url
        if args.pin:  # the worker gets CPU 0; this process, the emulator and proxy CPU 1
            for pid in (0, *server.pids):
                os.sched_setaffinity(pid, {1})
        bench = Bench(endpoint, argparse.Namespace(backlog=0, quick=False, pin=args.pin))
        for run in range(args.runs):
            figure, lines = _run(bench, endpoint, args)
            figures.append(figure)
            print(f"run {run + 1}: {figure:.0f} µs CPU/task ({lines} log lines)", flush=True)
    low, high = min(figures), max(figures)
    print(f"median {statistics.median(figures):.0f} µs CPU/task, range {low:.0f}-{high:.0f}")
    return 0


def _run(bench: Bench, endpoint: str, args: argparse.Namespace) -> tuple[float, int]:
    """Drain ``args.tasks`` once; return µs of CPU per task and the log lines written."""
    prefix = bench._queues("default")
    app, _ = bench._app(prefix)
    for start in range(0, args.tasks, 100):
        chunk = range(start, min(start + 100, args.tasks))
        app.add_tasks("task-default", [{"sent_at": time.time(), "n": n} for n in chunk])
    command = [sys.executable, str(HERE / "worker_main.py"), "--endpoint", endpoint]
    command += ["--prefix", prefix, "--tasks", str(args.tasks), "--threads", "1"]
    if args.log_info:
        command.append("--log-info")
    if args.pin:
        command += ["--cpu", "0"]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        done = subprocess.run(  # noqa: S603 - the benchmark's own worker
            command, stdout=subprocess.PIPE, stderr=log, text=True, check=True
        )
        log.seek(0)
        lines = sum(1 for _ in log)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if args.verbose:
        print(json.dumps({k: v for k, v in result.items() if k != "receive_intervals"}))
    return result["busy_cpu_seconds"] * 1e6 / result["tasks"], lines


if __name__ == "__main__":
    sys.exit(main())
