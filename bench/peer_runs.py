"""simple-worker and other Python SQS task libraries through the same workload, side by side.

For each library: N no-op tasks enqueued the library's fastest way (timed), one
worker process with the library's default settings draining them (its tasks per
second and CPU per task over the span from the first task to the last), and
``--single-sends`` tasks enqueued one call each (timed). Repetitions are
interleaved (simple-worker, then each peer, three times) so that a change in the
machine's load falls on all of them; figures are medians of the three.

Each peer is installed in a virtualenv of its own under ``bench/.venvs/`` (made
once) and driven by a script of ours in ``bench/peers/`` through its public API.
Calls are counted by the emulator's proxy, so every library is counted the same
way; calls per task are all the calls from the worker's start to its exit, and
the producer's, over N.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
from emulator import Emulator
from venvs import VenvError, ensure_venv

import simple_worker

HERE = Path(__file__).parent
PEER_SCRIPTS = HERE / "peers"
REPETITIONS = 3
_FIGURES = "figures: "
"""What starts the line of figures a peer script prints (a library may print to stdout too)."""


@dataclasses.dataclass(frozen=True)
class Peer:
    """A library in the comparison: its script in ``bench/peers/`` and what to install for it."""

    script: str
    requirements: tuple[str, ...]
    creates_its_queue: bool
    """Whether the library creates its queue itself (with attributes of its own)."""


PEERS = {
    # sqs-workers 0.7.3 imports typing_extensions without declaring it.
    "sqs-workers": Peer(
        "sqs_workers_peer.py", ("sqs-workers==0.7.3", "typing_extensions"), creates_its_queue=False
    ),
    "dramatiq": Peer(
        "dramatiq_peer.py", ("dramatiq==2.2.1", "dramatiq-sqs==0.4.4"), creates_its_queue=True
    ),
    # kombu's SQS transport receives through pycurl (the `sqs` extra installs it).
    "celery": Peer("celery_peer.py", ("celery[sqs]==5.7.0",), creates_its_queue=True),
}
_OURS = "simple-worker"


def compare_peers(server: Emulator, args: argparse.Namespace) -> dict[str, Any]:
    """Run the workload through simple-worker and ``args.peers``, interleaved; return figures."""
    pythons = {_OURS: Path(sys.executable)}
    unavailable: dict[str, str] = {}
    for name in args.peers:
        peer = PEERS[name]
        try:
            pythons[name] = ensure_venv(name, Path(sys.executable), list(peer.requirements))
        except VenvError as error:
            unavailable[name] = str(error)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in pythons}
    failures: dict[str, str] = {}
    for repetition in range(REPETITIONS):
        for name, python in pythons.items():
            if name in failures:
                continue
            print(f"peers: {name}, run {repetition + 1} of {REPETITIONS}", file=sys.stderr)
            try:
                runs[name].append(_Run(server, args, name, python).measure())
            except RuntimeError as error:
                failures[name] = str(error)
    results: dict[str, Any] = {
        "tasks": args.peer_tasks,
        "single_sends": _single_sends(args),
        "latency_ms": args.latency_ms,
        "emulator": server.kind,
        "libraries": {},
    }
    for name, python in pythons.items():
        if name in failures:
            results["libraries"][name] = {"unavailable": failures[name]}
            continue
        results["libraries"][name] = {
            "version": _version(name, python),
            "runs": runs[name],
            "median": {
                key: statistics.median(run[key] for run in runs[name])
                for key in runs[name][0]
                if isinstance(runs[name][0][key], float)
            },
            "api": {key: runs[name][0][key] for key in runs[name][0] if key.endswith("_api")},
        }
    for name, reason in unavailable.items():
        results["libraries"][name] = {"unavailable": reason}
    return results


def _single_sends(args: argparse.Namespace) -> int:
    # One call per task costs a round trip: at +20 ms, 100 take about 2 s per library and run.
    return min(int(args.single_sends), 100 if args.latency_ms else 300)


class _Run:
    """One library's produce, drain and single-send measurement, on fresh queues."""

    def __init__(self, server: Emulator, args: argparse.Namespace, name: str, python: Path) -> None:
        self.server = server
        self.args = args
        self.name = name
        self.python = python
        self.script = PEER_SCRIPTS / (
            "simple_worker_peer.py" if name == _OURS else PEERS[name].script
        )
        self.sqs = boto3.client("sqs", endpoint_url=server.url, region_name="us-east-1")
        self.creates_its_queue = name != _OURS and PEERS[name].creates_its_queue

    def measure(self) -> dict[str, Any]:
        n = self.args.peer_tasks
        queue = self._queue()
        before = self.server.calls()
        produced = self._script(queue, "produce", n)
        after_produce = self.server.calls()
        worker = self._start(queue, "work", n)
        drained = self._finish(worker)
        after_drain = self.server.calls()
        depth = self._depth(queue)
        single_queue = self._queue()
        single = self._script(single_queue, "single", _single_sends(self.args))
        after_single = self.server.calls()
        for name in (queue, single_queue):
            self._delete(name)
        if drained["tasks"] != n:
            raise RuntimeError(f"{self.name}'s worker ran {drained['tasks']} of {n} tasks")
        produce_calls = _minus(after_produce, before)
        drain_calls = _minus(after_drain, after_produce)
        single_calls = _minus(after_single, after_drain)
        return {
            "batched_tasks_per_second": n / produced["seconds"],
            "batched_calls_per_task": _sends(produce_calls) / n,
            "drain_tasks_per_second": n / drained["busy_seconds"],
            "worker_cpu_ms_per_task": drained["busy_cpu_seconds"] * 1000 / n,
            "worker_max_rss_mib": float(drained["max_rss_mib"]),
            "drain_calls_per_task": sum(drain_calls.values()) / n,
            "calls_per_task": (_sends(produce_calls) + sum(drain_calls.values())) / n,
            "single_tasks_per_second": _single_sends(self.args) / single["seconds"],
            "single_calls_per_task": _sends(single_calls) / _single_sends(self.args),
            "left_on_queue": float(depth),
            "produce_calls": dict(produce_calls),
            "drain_calls": dict(drain_calls),
            "produce_api": produced["api"],
            "single_api": single["api"],
            "worker_api": drained["api"],
        }

    def _queue(self) -> str:
        name = f"bench_{uuid.uuid4().hex[:10]}"
        if not self.creates_its_queue:
            self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})
        return name

    def _command(self, queue: str, mode: str, tasks: int) -> list[str]:
        command = [str(self.python), str(self.script), "--endpoint", self.server.url]
        command += ["--queue", queue, "--mode", mode, "--tasks", str(tasks)]
        if mode == "work" and self.args.pin:
            command += ["--cpu", "0"]
        return command

    def _env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.server.url,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        if self.name == _OURS:
            # This tree's simple-worker, as the other scenarios measure it.
            env["PYTHONPATH"] = str(Path(simple_worker.__file__).parents[1])
        return env

    def _script(self, queue: str, mode: str, tasks: int) -> dict[str, Any]:
        return self._finish(self._start(queue, mode, tasks, wait_ready=False))

    def _start(
        self, queue: str, mode: str, tasks: int, *, wait_ready: bool = True
    ) -> subprocess.Popen[str]:
        process = subprocess.Popen(  # noqa: S603 - our own script, in a venv of ours
            self._command(queue, mode, tasks),
            env=self._env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if wait_ready:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            if line != "ready":
                _, errors = process.communicate(timeout=60)
                raise RuntimeError(f"{self.name}'s worker did not start: {line}{errors[-2000:]}")
        return process

    def _finish(self, process: subprocess.Popen[str]) -> dict[str, Any]:
        try:
            output, errors = process.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            process.kill()
            output, errors = process.communicate()
            raise RuntimeError(f"{self.name} did not finish in 900 s: {errors[-2000:]}") from None
        if process.returncode != 0 or not output.strip():
            raise RuntimeError(
                f"{self.name} exited with {process.returncode}: {errors.strip()[-2000:]}"
            )
        # Celery's worker sends print() to its log, on stderr, after a prefix of its own.
        lines = [
            line.partition(_FIGURES)[2]
            for line in (output + "\n" + errors).splitlines()
            if _FIGURES in line
        ]
        if not lines:
            raise RuntimeError(f"{self.name} printed no figures: {output[-1000:]}{errors[-1000:]}")
        return dict(json.loads(lines[-1]))

    def _depth(self, queue: str) -> int:
        url = self.sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def _delete(self, queue: str) -> None:
        self.sqs.delete_queue(QueueUrl=self.sqs.get_queue_url(QueueName=queue)["QueueUrl"])


def _minus(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def _sends(calls: dict[str, int]) -> int:
    return calls.get("SendMessage", 0) + calls.get("SendMessageBatch", 0)


def _version(name: str, python: Path) -> str:
    distribution = _OURS if name == _OURS else name
    try:
        return subprocess.run(  # noqa: S603 - an interpreter of ours
            [
                str(python),
                "-c",
                f"import importlib.metadata as m; print(m.version({distribution!r}))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
    except subprocess.SubprocessError:
        return "this tree"


_ROWS = (
    ("drain, tasks/s", "drain_tasks_per_second", "{:,.0f}", True),
    ("worker CPU per task, ms", "worker_cpu_ms_per_task", "{:.2f}", False),
    ("calls per task, batched produce + drain", "calls_per_task", "{:.3f}", False),
    ("drain calls per task", "drain_calls_per_task", "{:.3f}", False),
    (
        "produce N (batched where the library can), tasks/s",
        "batched_tasks_per_second",
        "{:,.0f}",
        True,
    ),
    ("add one at a time, tasks/s", "single_tasks_per_second", "{:,.0f}", True),
    ("worker peak RSS, MiB", "worker_max_rss_mib", "{:.0f}", False),
)


def print_peer_table(results: dict[str, Any], args: argparse.Namespace) -> None:
    """Print each library's medians beside simple-worker's, with simple-worker's ratio to each."""
    libraries = results["libraries"]
    ours = libraries[_OURS]
    peers = [name for name in libraries if name != _OURS]
    print(
        f"\nside by side ({results['emulator']}, +{args.latency_ms:g} ms per call, "
        f"N={results['tasks']:,}, medians of {REPETITIONS} interleaved runs; "
        "ratio: simple-worker's advantage, >1 is better)"
    )
    for name in [_OURS, *peers]:
        library = libraries[name]
        if "unavailable" in library:
            print(f"  {name}: could not run: {library['unavailable']}")
        else:
            apis = "; ".join(f"{key[:-4]}: {value}" for key, value in library["api"].items())
            print(f"  {name} {library['version']}: {apis}")
    header = ["figure", _OURS, *[f"{name} (ratio)" for name in peers]]
    rows = [header]
    for label, key, fmt, higher_is_better in _ROWS:
        mine = ours.get("median", {}).get(key) if "median" in ours else None
        row = [label, fmt.format(mine) if mine is not None else "-"]
        for name in peers:
            theirs = libraries[name].get("median", {}).get(key)
            if theirs is None:
                row.append("could not run")
                continue
            ratio = ""
            if mine and theirs:
                ratio = f" ({(mine / theirs if higher_is_better else theirs / mine):.2f}×)"  # noqa: RUF001
            row.append(fmt.format(theirs) + ratio)
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
