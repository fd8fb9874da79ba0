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
        raw = Path(tempfile.mkdtemp()) / "worker.raw"
        command = [py_spy, "record", "--gil", "--rate", "250", "--format", "raw"]
        command += ["--output", str(raw), "--", sys.executable, str(HERE / "worker_main.py")]
        command += ["--endpoint", endpoint, "--prefix", prefix]
        command += ["--tasks", str(args.tasks), "--threads", str(args.threads)]
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603
    _report(raw, args.top)
    return 0


def _report(raw: Path, top: int) -> None:
    kinds: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        kind = _kind(frames)
        kinds[kind] += int(count)
        if kind == "simple-worker, per task":
            innermost = [f for f in frames if "simple_worker" in f][-1]
            ours[innermost.split(" (")[0]] += int(count)
    total = sum(kinds.values())
    print(f"{total} CPU samples (GIL held) at 250 Hz")
    for kind, count in kinds.most_common():
        print(f"  {kind:<28} {count:6d}  {100 * count / total:5.1f} %")
    print("simple-worker's own functions (innermost of ours in each sample):")
    for name, count in ours.most_common(top):
        print(f"  {name:<48} {count:6d}  {100 * count / total:5.1f} %")


def _kind(frames: list[str]) -> str:
    if any(part in frame for frame in frames for part in _SDK):
        return "botocore and HTTP"
    if any("importlib" in frame or frame.startswith("<module>") for frame in frames):
        return "start-up (imports)"
    if any("worker_main.py" in frame and "task" in frame for frame in frames):
        return "the benchmark's handler"
    if any("simple_worker" in frame for frame in frames):
        return "simple-worker, per task"
    return "other (threads, GC)"


if __name__ == "__main__":
    sys.exit(main())
