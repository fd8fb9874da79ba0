"""Chaos: workers killed and stopped at random while the proxy injects faults; none lost.

A producer feeds K tasks through the fault proxy (keeping a backlog of at most
`BACKLOG`, as moto slows down with queue depth); `WORKERS` worker processes with
`THREADS` threads each consume them through the same proxy, which injects a fault
into `FAULT_RATE` of all requests (throttling, 5xx, resets before forwarding,
lost and late replies). Every 1 to 2.5 seconds a random ready worker gets SIGKILL
or SIGTERM (the first two: one of each) and a new one starts in its place. One
more worker, beside those, is stopped with SIGTERM once a quarter of the tasks
have run, while the proxy hangs every call it makes (reads the request, never
answers): it must exit within its shutdown budget, giving up its deletes and
releases. Once every task has run, faults stop, the queue drains and the workers
stop with SIGTERM. ``chaos_analysis`` then checks: no task lost, every execution
inside its delivery's visibility window, every duplicate explained by a kill or a
lost reply or failed call.

One task (`EXITING_TASK`) calls ``sys.exit(1)`` in its handler the first time it
runs: that execution must fail alone (its worker goes on, and exits 0 when
stopped) and the task must run again once its visibility timeout has passed.

The short run (250 tasks) is part of the suite. The long run is selected by the
environment, and writes its figures to ``SIMPLE_WORKER_CHAOS_REPORT`` if set::

    SIMPLE_WORKER_CHAOS_TASKS=2000 SIMPLE_WORKER_CHAOS_REPORT=chaos.json \\
        .venv/bin/pytest tests/integration/reliability/test_chaos.py -s

``SIMPLE_WORKER_CHAOS_SEED`` replays a seed (the kills, the fault draws, the task
durations; thread timing still varies).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import boto3

from simple_worker import SendFailed, SimpleWorkerError

TASKS = int(os.environ.get("SIMPLE_WORKER_CHAOS_TASKS", "250"))
SEED = int(os.environ.get("SIMPLE_WORKER_CHAOS_SEED", str(random.randrange(1 << 32))))
REPORT = os.environ.get("SIMPLE_WORKER_CHAOS_REPORT")
WORKERS = 3
THREADS = 3
FAULT_RATE = 0.05
FAULT_KINDS = (
    "throttle",
    "request_throttled",
    "error_500",
    "error_503",
    "reset",
    "drop",
    "drop_after",
    "delay",
)
VISIBILITY_TIMEOUT = 6
READ_TIMEOUT = 3
"""Every client's read timeout: below the proxy's `DELAY`, so a delayed reply is lost."""
DELAY = 4.0
BACKLOG = 60
EXITING_TASK = 7
"""The task whose first execution raises SystemExit (a BaseException) in its handler."""
HANG_BUDGET = 2
"""The shutdown budget of the worker stopped while its calls hang, in seconds."""
HANG_BOUND = HANG_BUDGET + 5
"""A bound on that worker's stop: its budget, then its exit on a busy machine."""
TIME_LIMIT = 60 + TASKS * 0.1
"""A bound on the chaos phase, in seconds; the run fails if tasks are still missing."""


class Feeder:
    """Sends the K tasks through the proxy in batches of 10, keeping a bounded backlog."""

    def __init__(self, producer, record_file, records, rng):
        self._producer = producer
        self._record_file = record_file
        self._records = records
        self.durations = [round(rng.uniform(0.02, 0.3), 3) for _ in range(TASKS)]
        self.sent = 0
        self.resent = []
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(30)

    def _run(self):
        while self.sent < TASKS and not self._stop.is_set():
            done = len({r["n"] for r in self._records(self._record_file, "end")})
            if self.sent - done >= BACKLOG:
                self._stop.wait(0.1)
                continue
            batch = range(self.sent, min(self.sent + 10, TASKS))
            payloads = [{"n": n, "sleep": self.durations[n]} for n in batch]
            for payload in payloads:
                if payload["n"] == EXITING_TASK:
                    payload["exit_first"] = True
            try:
                self._producer.add_tasks("record", payloads)
            except SendFailed as error:
                # Nothing says which id is which task: send the whole batch again.
                self.errors.append(str(error)[:200])
                self.resent += list(batch)
                continue
            except SimpleWorkerError as error:  # the queue's URL could not be read
                self.errors.append(str(error)[:200])
                self._stop.wait(0.5)
                continue
            self.sent = batch.stop


class ChaosRun:
    """Starts workers, kills and stops them at random until every task has run."""

    def __init__(self, start_worker, proxy, record_file, records, rng):
        self._start_worker = start_worker
        self._proxy = proxy
        self._record_file = record_file
        self._records = records
        self._rng = rng
        self.live = []
        self.stopped = []
        self.hung = None
        """The worker stopped while the proxy hangs its calls; not among `live`."""
        self.hung_stop = {}
        """That stop's exit status and duration, once it has exited."""
        self._hung_waiter = None
        self.seconds = 0.0

    def _start(self, **options):
        return self._start_worker(
            self._proxy.url,
            self._record_file,
            threads=THREADS,
            wait_seconds=1,
            read_timeout=READ_TIMEOUT,
            ready=False,
            **options,
        )

    def new_worker(self):
        self.live.append(self._start())

    def _stop_hung_worker(self):
        """Hang every call of the extra worker, SIGTERM it, and time its exit (thread)."""
        self._proxy.plan("hang", times=None, agent=f"sw-pid/{self.hung.pid}")
        signalled = time.monotonic()
        self.hung.send(signal.SIGTERM)

        def time_exit():
            status = self.hung.popen.wait()
            self.hung_stop = {"status": status, "seconds": time.monotonic() - signalled}

        self._hung_waiter = threading.Thread(target=time_exit, daemon=True)
        self._hung_waiter.start()

    def ended(self):
        return {r["n"] for r in self._records(self._record_file, "end")}

    def run(self):
        """Every 1 to 2.5 s, SIGKILL or SIGTERM a ready worker and start another, until
        every task has ended or `TIME_LIMIT` has passed."""
        started_at = time.monotonic()
        self.hung = self._start(shutdown_timeout=HANG_BUDGET)
        for _ in range(WORKERS):
            self.new_worker()
        forced = ["kill", "term"]
        while len(self.ended()) < TASKS and time.monotonic() - started_at < TIME_LIMIT:
            time.sleep(self._rng.uniform(1.0, 2.5))
            if not self.hung.signals and self.hung.ready() and len(self.ended()) >= TASKS // 4:
                self._stop_hung_worker()
            ready = [w for w in self.live if w.running() and w.ready()]
            if not ready:
                continue
            victim = self._rng.choice(ready)
            action = forced.pop(0) if forced else self._rng.choice(["kill", "term"])
            victim.send(signal.SIGKILL if action == "kill" else signal.SIGTERM)
            self.live.remove(victim)
            self.stopped.append(victim)
            self.new_worker()
        self.seconds = time.monotonic() - started_at

    def stop(self):
        """SIGTERM the live workers once ready; return every worker's exit status by pid."""
        for worker in self.live:  # a SIGTERM before its handler is installed would kill it
            worker.wait_ready()
        statuses = {worker.pid: worker.stop() for worker in self.live}
        for worker in [*self.stopped, self.hung]:
            statuses[worker.pid] = worker.popen.wait(20)
        if self._hung_waiter is not None:
            self._hung_waiter.join(20)
        return statuses

    def signals(self):
        """``{pid: {"kill": t} or {"term": t}}`` for every worker the run signalled."""
        return {
            worker.pid: {
                "kill" if signum == signal.SIGKILL else "term": at for at, signum in worker.signals
            }
            for worker in [*self.stopped, *self.live, self.hung]
        }


def test_chaos_loses_no_task_and_explains_every_duplicate(
    atomic_moto,
    make_proxy,
    start_worker,
    prefix,
    producer_for,
    counts,
    records,
    chaos,
    waiter,
    tmp_path,
):
    rng = random.Random(SEED)
    sqs_client = boto3.client("sqs", endpoint_url=atomic_moto)
    queue_url = sqs_client.create_queue(
        QueueName=prefix + "default", Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT)}
    )["QueueUrl"]
    proxy = make_proxy(atomic_moto, delay_seconds=DELAY, keep_exchanges=True)
    proxy.set_rate(FAULT_RATE, FAULT_KINDS, seed=SEED)
    record_file = tmp_path / "records.jsonl"
    producer = producer_for(
        prefix, proxy.url, read_timeout=READ_TIMEOUT, user_agent_extra="sw-producer"
    )
    feeder = Feeder(producer, record_file, records, rng)
    run = ChaosRun(start_worker, proxy, record_file, records, rng)

    feeder.start()
    try:
        run.run()
    finally:
        feeder.stop()
    missing = sorted(set(range(TASKS)) - run.ended())
    assert not missing, f"seed {SEED}: tasks still not run after {TIME_LIMIT} s: {missing[:20]}"
    proxy.clear()  # the rest drains without faults: duplicates waiting out their visibility
    waiter(lambda: counts(sqs_client, queue_url) == (0, 0), 30, "the queue to drain")
    statuses = run.stop()

    chaos.save_exchanges(proxy.exchanges, tmp_path / "exchanges.jsonl")  # to investigate
    signals = run.signals()
    executions = chaos.executions_from(records(record_file))
    report = chaos.analyse(
        TASKS,
        executions,
        signals,
        chaos.trace_from(proxy.exchanges),
        VISIBILITY_TIMEOUT,
    )
    kills = sum("kill" in s for s in signals.values())
    terms = sum("term" in signals[worker.pid] for worker in run.stopped)
    figures = {
        "seed": SEED,
        "tasks": TASKS,
        "workers_at_once": WORKERS,
        "threads_per_worker": THREADS,
        "worker_processes_started": len(run.stopped) + len(run.live),
        "sigkills": kills,
        "sigterms_during_run": terms,
        "visibility_timeout": VISIBILITY_TIMEOUT,
        "fault_rate": FAULT_RATE,
        "requests": sum(proxy.requests.values()),
        "requests_by_action": dict(proxy.requests),
        "faults_by_kind": dict(proxy.injected_by_kind()),
        "faults_by_kind_and_action": {f"{k} {a}": c for (k, a), c in proxy.injected.items()},
        "producer_errors": feeder.errors,
        "chaos_seconds": round(run.seconds, 1),
        "hung_stop": {
            "budget": HANG_BUDGET,
            **{k: round(v, 1) for k, v in run.hung_stop.items()},
            "faults": proxy.injected_by_kind()["hang"],
        },
        **report.summary(),
    }
    sys.stdout.write(json.dumps(figures, indent=2) + "\n" + "\n".join(report.details) + "\n")
    if REPORT:
        Path(REPORT).write_text(json.dumps({**figures, "details": report.details}, indent=2))

    assert report.lost == [], f"seed {SEED}"
    assert report.unexplained == [], f"seed {SEED}"
    assert report.disallowed() == {}, f"seed {SEED}: duplicates not due to a kill or lost reply"
    assert report.window_violations == [], f"seed {SEED}"
    assert kills >= 1, "the run killed workers"
    assert terms >= 1, "the run stopped workers"
    assert sum(proxy.injected.values()) > 0, "the run injected faults"
    failed = [e for e in executions if e.failed]
    # Two only if two copies of the task ran at once (a send done twice).
    assert failed, f"seed {SEED}: the run had a handler calling sys.exit()"
    assert {e.n for e in failed} == {EXITING_TASK}, f"seed {SEED}"
    # The worker stopped while its calls hang runs tasks too, until its stop.
    workers = {w.pid: w for w in [*run.stopped, *run.live, run.hung] if w is not None}
    if "kill" not in signals.get(failed[0].pid, {}):
        assert "Failed to process task record: SystemExit" in workers[failed[0].pid].log()
    for worker in [*run.stopped, *run.live]:
        expected = -signal.SIGKILL if "kill" in signals.get(worker.pid, {}) else 0
        assert statuses[worker.pid] == expected, f"worker {worker.pid}:\n{worker.log()[-2000:]}"
    hung_log = run.hung.log()[-3000:]
    assert run.hung.signals, "the run stopped a worker while its calls hung"
    assert run.hung_stop["seconds"] <= HANG_BOUND, f"the hung stop overran:\n{hung_log}"
    # 124 when it gave up deletes or releases; 0 if it had none under way.
    assert statuses[run.hung.pid] in (0, 124), hung_log
    assert "Worker stopped" in hung_log
