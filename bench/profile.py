"""Where a worker's CPU goes per task: botocore, simple-worker, or the rest.

Samples a benchmark worker draining a full backlog with py-spy (``pip install
py-spy``), counting only the thread that holds the GIL, so samples are CPU, not
waiting. The emulator runs in its own process and is not sampled: its share is
the wall time the worker spends waiting, which the benchmark reports apart.

    python bench/profile.py --tasks 5000 [--threads 1] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from emulator import KINDS, emulator
from run import Bench

HERE = Path(__file__).parent
_SDK = ("botocore", "boto3", "urllib3", "http/client", "socket.py", "ssl.py", "email/")


def main() -> int:
    """Profile a draining worker and print the CPU split."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--emulator", choices=KINDS, default="localstack")
    parser.add_argument("--top", type=int, default=12, help="simple-worker frames to list")
    parser.add_argument("--log-info", action="store_true", help="log at INFO, as by default")
    parser.add_argument("--rate", type=int, default=1000, help="samples per second")
    parser.add_argument("--raw", help="keep py-spy's raw samples in this file")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 2
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")  # noqa: S106
    with emulator(args.emulator, delay=args.latency_ms / 1000) as server:
        endpoint = server.url
        bench = Bench(endpoint, argparse.Namespace(backlog=0, quick=False))
        prefix = bench._queues("default")
        app, _ = bench._app(prefix)
        for start in range(0, args.tasks, 100):
            chunk = range(start, min(start + 100, args.tasks))
            app.add_tasks("task-default", [{"sent_at": time.time(), "n": n} for n in chunk])
        raw = Path(args.raw) if args.raw else Path(tempfile.mkdtemp()) / "worker.raw"
        command = [
            py_spy,
            "record",
            "--gil",
            "--nonblocking",
            "--rate",
            str(args.rate),
            "--format",
            "raw",
        ]
        command += ["--output", str(raw), "--", sys.executable, str(HERE / "worker_main.py")]
        command += ["--endpoint", endpoint, "--prefix", prefix]
        command += ["--tasks", str(args.tasks), "--threads", str(args.threads)]
        if args.log_info:
            command.append("--log-info")
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603
    _report(raw, args.top)
    return 0


def _report(raw: Path, top: int) -> None:
    areas: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        area = _area(frames)
        areas[area] += int(count)
        mine = [f for f in frames if "simple_worker" in f]
        if mine and area not in ("start-up (imports)",):
            ours[mine[-1].split(" (")[0]] += int(count)
    total = sum(areas.values())
    work = total - areas["start-up (imports)"]
    print(f"{total} CPU samples (GIL held), {work} after start-up; shares of those:")
    for area, count in areas.most_common():
        if area != "start-up (imports)":
            print(f"  {area:<44} {count:6d}  {100 * count / work:5.1f} %")
    print("simple-worker's own functions (innermost of ours in each sample):")
    for name, count in ours.most_common(top):
        print(f"  {name:<44} {count:6d}  {100 * count / work:5.1f} %")


# Areas, the first that matches a sample's stack (outermost frame first) wins.
_CALLS = {
    "receive_batch": "ReceiveMessage: botocore and HTTP",
    "delete_batch": "DeleteMessageBatch: botocore and HTTP",
}
_OURS = (
    (("_logging.py", "_json_log.py", "_log_fields.py", "task_log_fields"), "logging"),
    (("domain/", "_large_payloads.py"), "decode and check (envelope, signature)"),
    (("_deleter.py", "_settler.py", "_settle.py"), "settle, delete batching"),
    (("_buffer.py", "_poller.py", "_room.py", "_turns.py", "_heartbeat.py"), "buffer, hand-offs"),
    (("adapters/sqs",), "SQS adapter (our request, answer)"),
)


def _area(frames: list[str]) -> str:  # noqa: PLR0911 - a return per area, by precedence
    if any("importlib" in frame or frame.startswith("<module>") for frame in frames):
        return "start-up (imports)"
    if any("logging/__init__.py" in frame for frame in frames):
        return "logging"
    if any(part in frame for frame in frames for part in _SDK):
        for call, area in _CALLS.items():
            if any(call in frame for frame in frames):
                return area
        return "other SQS calls: botocore and HTTP"
    if any("worker_main.py" in frame and "task" in frame for frame in frames):
        return "the benchmark's handler"
    mine = [frame for frame in frames if "simple_worker" in frame]
    if not mine:
        return "other (threads, GC)"
    for parts, area in _OURS:
        if any(part in mine[-1] for part in parts):
            return area
    return "dispatch, executor, middleware"


if __name__ == "__main__":
    sys.exit(main())
