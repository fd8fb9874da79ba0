"""Receive counts burnt by killed workers, by buffer size.

Every message a worker holds when it is killed, buffered or running, comes back
after its visibility timeout with one more receive, though it did not run to the
end. A redrive policy moves a message to the dead-letter queue once it has been
received ``maxReceiveCount`` times, so restarts alone can dead-letter a task that
never failed. This script measures, under a number of SIGKILLs, the receive count
of each task at its first completion, for several buffer sizes::

    python bench/receive_counts.py                             # about 4 minutes
    python bench/receive_counts.py --buffer-sizes default,1 --signal TERM --kills 20

How: an emulator (``emulator.py``: LocalStack, or ``--emulator moto``) in its own
process; per buffer size, a queue with no redrive policy (so every count is seen)
and ``--visibility`` seconds of visibility timeout; a producer keeping at least
``--backlog`` messages visible, so the workers always have more than they can run
(buffers full, the regime in which a kill costs the most); ``--workers`` worker
processes (this script, ``--worker``) of ``--threads`` threads, whose tasks sleep
``--task-seconds`` and then append their receive count
(``current_task().delivery.receive_count``) to a file. Every ``--kill-every``
seconds (0.5 to 1.5 times that, seeded) one of the workers that have been up for
``--min-age`` seconds gets ``--signal`` and a new worker starts. After ``--kills``
kills the producer stops, the queue drains, the workers stop.

Printed per buffer size: tasks, receives burnt per kill (the sum over tasks of
their first completion's receive count minus one, divided by the kills), the
distribution of first-completion receive counts, and the share of tasks that a
redrive policy with ``maxReceiveCount`` 3, 5 and 10 would have dead-lettered
before they ever completed (first completion on a later receive). JSON goes to
``--json``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import boto3

from simple_worker import App, current_task
from simple_worker.adapters import SQSQueue

sys.path.insert(0, str(Path(__file__).parent))
from emulator import KINDS, emulator

HERE = Path(__file__).parent
QUEUE = "default"
MAX_RECEIVE_COUNTS = (3, 5, 10)
_TICK = 0.05
_STALL = 120.0
"""Seconds without a task completing after which a run is abandoned as stuck."""


def main() -> int:
    """Run the measurement (or, with ``--worker``, one worker process)."""
    args = _arguments()
    os.environ.update(  # the emulator's dummy credentials, for this process and its workers
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106
        AWS_DEFAULT_REGION="us-east-1",
    )
    if args.worker:
        return _worker(args)
    rng = random.Random(args.seed)  # noqa: S311 - a seeded schedule, not cryptography
    results: dict[str, Any] = {"options": vars(args), "runs": []}
    with emulator(args.emulator) as server, tempfile.TemporaryDirectory() as directory:
        for buffer_size in args.buffer_sizes.split(","):
            run = Run(server.url, Path(directory), args, buffer_size, rng)
            results["runs"].append(run.measure())
            _print_run(results["runs"][-1])
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nJSON written to {out}")
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", choices=KINDS, default="localstack")
    parser.add_argument("--buffer-sizes", default="default,8,4,1", help="comma-separated")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--task-seconds", type=float, default=0.2)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--kill-every", type=float, default=1.5, help="mean seconds")
    parser.add_argument("--min-age", type=float, default=2.0, help="seconds a victim has run")
    parser.add_argument("--signal", choices=("KILL", "TERM"), default="KILL")
    parser.add_argument("--backlog", type=int, default=50, help="visible messages kept")
    parser.add_argument("--visibility", type=int, default=5, help="the queue's, in seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", default=str(HERE / "results" / "receive_counts.json"))
    # One worker process, as the measurement starts it:
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--record", help=argparse.SUPPRESS)
    parser.add_argument("--buffer-size", type=int, help=argparse.SUPPRESS)
    return parser.parse_args()


def _worker(args: argparse.Namespace) -> int:
    """Consume the queue until SIGTERM; each task appends ``n receive_count`` to the record."""
    app = App(queue_prefix=args.prefix, queue=SQSQueue(endpoint_url=args.endpoint))

    @app.register_task_handler("task")
    def task(n: int) -> None:
        time.sleep(args.task_seconds)
        line = f"{n} {current_task().delivery.receive_count}\n".encode()
        fd = os.open(args.record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write in append mode: lines of processes never mix
        finally:
            os.close(fd)

    app.worker(threads=args.threads, buffer_size=args.buffer_size).start()
    return 0


class Run:
    """One measurement: a fresh queue, workers of one buffer size, the kills."""

    def __init__(
        self,
        endpoint: str,
        directory: Path,
        args: argparse.Namespace,
        buffer_size: str,
        rng: random.Random,
    ) -> None:
        self.endpoint = endpoint
        self.args = args
        self.buffer_size = None if buffer_size == "default" else int(buffer_size)
        self.rng = rng
        self.prefix = f"rc-{uuid.uuid4().hex[:8]}-"
        self.record = directory / f"{self.prefix}record"
        self.logs = directory
        self.sqs = boto3.client("sqs", endpoint_url=endpoint)
        self.url = self.sqs.create_queue(
            QueueName=self.prefix + QUEUE, Attributes={"VisibilityTimeout": str(args.visibility)}
        )["QueueUrl"]
        self.producer = App(queue_prefix=self.prefix, queue=SQSQueue(endpoint_url=endpoint))
        self.producer.register_task_handler("task")(_task_signature)
        self.workers: list[tuple[subprocess.Popen[bytes], float]] = []
        self.stopping: list[subprocess.Popen[bytes]] = []
        self.started = 0
        self.first: dict[int, int] = {}
        self.runs = 0
        self._offset = 0

    def measure(self) -> dict[str, Any]:
        """Feed, kill and drain; return the figures."""
        args = self.args
        began = time.monotonic()
        self.workers = [(self._start_worker(), time.monotonic()) for _ in range(args.workers)]
        sent = kills = 0
        next_kill = time.monotonic() + self._interval()
        last_progress, done = time.monotonic(), 0
        try:
            while kills < args.kills or len(self.first) < sent:
                time.sleep(_TICK)
                self._read_records()
                now = time.monotonic()
                if len(self.first) > done:
                    last_progress, done = now, len(self.first)
                elif now - last_progress > _STALL:
                    raise RuntimeError(f"no task completed for {_STALL} s: {done} of {sent}")
                if kills < args.kills:
                    sent += self._feed(sent)
                    if now >= next_kill and self._kill_one():
                        kills += 1
                        next_kill = now + self._interval()
                self.stopping = [p for p in self.stopping if p.poll() is None]
        finally:
            self._stop_all()
        return self._figures(kills, time.monotonic() - began)

    def _interval(self) -> float:
        return self.args.kill_every * self.rng.uniform(0.5, 1.5)

    def _feed(self, sent: int) -> int:
        visible = int(
            self.sqs.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        wanted = max(0, self.args.backlog - visible)
        if wanted:
            self.producer.add_tasks("task", [{"n": n} for n in range(sent, sent + wanted)])
        return wanted

    def _kill_one(self) -> bool:
        now = time.monotonic()
        old = [i for i, (_, born) in enumerate(self.workers) if now - born >= self.args.min_age]
        if not old:
            return False
        index = self.rng.choice(old)
        victim, _ = self.workers[index]
        if self.args.signal == "KILL":
            victim.kill()
            victim.wait()
        else:
            victim.send_signal(signal.SIGTERM)
            self.stopping.append(victim)  # it finishes its running tasks meanwhile
        self.workers[index] = (self._start_worker(), time.monotonic())
        return True

    def _start_worker(self) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            *("--endpoint", self.endpoint, "--prefix", self.prefix, "--record", str(self.record)),
            *("--threads", str(self.args.threads), "--task-seconds", str(self.args.task_seconds)),
        ]
        if self.buffer_size is not None:
            command += ["--buffer-size", str(self.buffer_size)]
        self.started += 1
        log = self.logs / f"{self.prefix}worker-{self.started}.log"
        with log.open("wb") as stderr:
            return subprocess.Popen(  # noqa: S603 - this script, this interpreter
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
            )

    def _stop_all(self) -> None:
        processes = [p for p, _ in self.workers] + self.stopping
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _read_records(self) -> None:
        with contextlib.suppress(FileNotFoundError), self.record.open("rb") as file:
            file.seek(self._offset)
            data = file.read()
            complete = data[: data.rfind(b"\n") + 1]
            self._offset += len(complete)
            for line in complete.decode().splitlines():
                n, count = map(int, line.split())
                self.runs += 1
                self.first.setdefault(n, count)

    def _figures(self, kills: int, seconds: float) -> dict[str, Any]:
        counts = collections.Counter(self.first.values())
        tasks = len(self.first)
        burnt = sum((count - 1) * number for count, number in counts.items())
        return {
            "buffer_size": self.buffer_size,
            "capacity": self.buffer_size or max(20, 2 * self.args.threads),
            "signal": self.args.signal,
            "kills": kills,
            "tasks": tasks,
            "runs": self.runs,
            "seconds": round(seconds, 1),
            "receives_burnt_per_kill": round(burnt / kills, 2) if kills else 0.0,
            "first_completion_receive_counts": dict(sorted(counts.items())),
            "max_receive_count": max(counts, default=0),
            "dead_lettered_with_max_receive_count": {
                str(limit): sum(n for count, n in counts.items() if count > limit)
                for limit in MAX_RECEIVE_COUNTS
            },
        }


def _task_signature(n: int) -> None:
    """Stand for the workers' ``task`` in the producer, which validates payloads with it."""


def _print_run(run: dict[str, Any]) -> None:
    size = "default" if run["buffer_size"] is None else str(run["buffer_size"])
    lost = run["dead_lettered_with_max_receive_count"]
    print(
        f"buffer {size:>7} (capacity {run['capacity']:>2}), SIG{run['signal']} x {run['kills']}: "
        f"{run['tasks']} tasks in {run['seconds']} s, {run['receives_burnt_per_kill']} receives "
        f"burnt per kill, max receive count {run['max_receive_count']}; dead-lettered with "
        + ", ".join(f"maxReceiveCount {limit}: {n}" for limit, n in lost.items())
    )
    print("  first completion on receive:", run["first_completion_receive_counts"])


if __name__ == "__main__":
    sys.exit(main())
