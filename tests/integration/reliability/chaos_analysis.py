"""What a chaos run's records and traffic say: lost tasks, visibility windows, duplicates.

Loaded by path (see conftest.py). Pure: it reads what the run left behind.

Inputs:

- executions, from the record file: task ``n`` started in process ``pid`` at
  ``start`` and, unless the process was killed first, ended at ``end``: returned,
  or ``failed`` (its handler called ``sys.exit()``: an ``exit`` record);
- signals: when each process got SIGKILL or SIGTERM;
- the fault proxy's exchanges: every request with its answer and its fault. From
  them come the *deliveries* (a ReceiveMessage answer carrying task ``n``'s message
  to a process, with its receipt; not delivered if the reply was lost) and the fate
  of each receipt: DeleteMessageBatch and ChangeMessageVisibilityBatch entries,
  done (``ok``) or not, and their faults.

Times: all are ``time.time()`` on one host. moto acts on a request at some moment
between the request reaching the proxy (``start``) and its answer coming back
(``end``); under load that can be a few hundred milliseconds. So a delivery's
visibility deadline is known between two bounds: from receive + the queue's
visibility timeout, moved to ``t + timeout`` by each visibility change of its
receipt done at ``t``; the checks below use whichever bound makes a finding certain.

1. Lost: a task with no ``end`` record (no execution that returned). Must be none:
   a task whose handler failed must run again, not vanish.
2. Window: each execution ran inside the window of the delivery it came from (its
   process's latest delivery of the task before it started): it ended (or its
   process was SIGKILLed) before the latest possible deadline. Outside it, another
   worker could hold the same message, and two executions could overlap. Must be none
   unless a visibility change of that receipt faulted.
3. Duplicates: every execution of a task after its first is explained by what
   happened to the one before it (``e1``, then ``e2``):

   - ``send reply lost``: ``e2`` came from another message with the same task: a
     SendMessageBatch was done twice because its reply was lost and botocore retried;
     ``resent after SendFailed``: the producer sent the task again;
   - ``failed, delivered again``: ``e1``'s handler failed (``sys.exit()``), which
     leaves the message for SQS to deliver again: expected, not a duplicate;
   - ``released by a retried call``: as below, but a release (visibility 0) of an
     earlier receipt of the message, retried by botocore after its reply was lost,
     reached the queue after it had handed the message out again (moto honours the
     earlier receipt);
   - ``queue delivered twice``: the queue handed out the message again before the
     earliest possible deadline of ``e1``'s delivery, without a release (SQS's
     at-least-once; moto's own race, which ``atomic_moto.py`` removes);
   - ``killed while running``: ``e1``'s process was SIGKILLed before ``e1`` ended;
   - ``visibility change failed``: ``e1``'s window ran out after a visibility
     change of its receipt faulted on every attempt;
   - ``deleted after its window``: ``e1`` ended, but its delete came after the queue
     had handed the message out again;
   - ``killed before delete``: ``e1`` ended; its process was SIGKILLed before a
     delete of its receipt was done;
   - ``delete failed``: every attempt to delete ``e1``'s receipt faulted;
   - otherwise ``unexplained``.

   Allowed: a kill, a lost reply or failed call, or a failed handler
   (`ALLOWED_CAUSES`). A duplicate
   is *early* when ``e2`` started less than one visibility timeout after ``e1``
   started (the issue's rule); early ones are counted separately.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

EPSILON = 0.01
"""Seconds: rounding between processes' clock readings, nothing more."""
REPLY_LOST = frozenset({"drop_after", "delay"})
KILL_CAUSES = frozenset({"killed while running", "killed before delete"})
LOST_REPLY_CAUSES = frozenset(
    {
        "send reply lost",
        "resent after SendFailed",
        "delete failed",
        "visibility change failed",
        "released by a retried call",
    }
)
FAILURE_CAUSES = frozenset({"failed, delivered again"})
ALLOWED_CAUSES = KILL_CAUSES | LOST_REPLY_CAUSES | FAILURE_CAUSES
_PID = re.compile(r"sw-pid/(\d+)")


@dataclass(frozen=True)
class Execution:
    n: int
    pid: int
    start: float
    end: float | None
    failed: bool = False
    """The handler raised (``sys.exit()``) at ``end``: the task is still to do."""


@dataclass(frozen=True)
class Delivery:
    n: int
    pid: int | None
    start: float
    end: float
    message_id: str
    receipt: str
    receive_count: int
    delivered: bool


@dataclass(frozen=True)
class ReceiptCall:
    """One entry of one DeleteMessageBatch or ChangeMessageVisibilityBatch attempt."""

    start: float
    end: float
    ok: bool
    """Done by the queue, whether or not the reply reached the worker."""
    fault: str | None
    timeout: int | None = None


@dataclass
class Trace:
    deliveries: list[Delivery] = field(default_factory=list)
    deletes: dict[str, list[ReceiptCall]] = field(default_factory=lambda: defaultdict(list))
    changes: dict[str, list[ReceiptCall]] = field(default_factory=lambda: defaultdict(list))
    sends: dict[int, list[str | None]] = field(default_factory=lambda: defaultdict(list))
    """Task n: the fault of every SendMessageBatch attempt carrying it that was done."""


def save_exchanges(exchanges, path):
    """Write the proxy's exchanges as JSON lines, to investigate a run."""
    with open(path, "w") as out:
        for e in exchanges:
            fields = {**e.__dict__, "request": e.request.decode(errors="replace")}
            fields["response"] = e.response.decode(errors="replace") if e.response else None
            out.write(json.dumps(fields) + "\n")


def executions_from(records):
    """The executions in a record file's lines (``start``, and ``end`` or ``exit``, events)."""
    ends = {
        (r["n"], r["pid"], r["start"]): (r["end"], r["event"] == "exit")
        for r in records
        if r["event"] in ("end", "exit")
    }
    executions = []
    for r in records:
        if r["event"] == "start":
            end, failed = ends.get((r["n"], r["pid"], r["start"]), (None, False))
            executions.append(Execution(r["n"], r["pid"], r["start"], end, failed))
    return executions


def _task_n(body):
    try:
        return int(json.loads(body)["task_payload"]["n"])
    except (ValueError, KeyError, TypeError):
        return None


def trace_from(exchanges):
    """Read deliveries, receipt fates and sends from the proxy's exchanges."""
    trace = Trace()
    for exchange in exchanges:
        if exchange.action == "ReceiveMessage" and exchange.status == 200:
            _read_receive(trace, exchange)
        elif exchange.action in ("DeleteMessageBatch", "ChangeMessageVisibilityBatch"):
            _read_receipt_batch(trace, exchange)
        elif exchange.action == "SendMessageBatch" and exchange.status == 200:
            for entry in exchange.request_json().get("Entries", []):
                n = _task_n(entry["MessageBody"])
                if n is not None:
                    trace.sends[n].append(exchange.fault)
    return trace


def _read_receive(trace, exchange):
    match = _PID.search(exchange.user_agent)
    for message in exchange.response_json().get("Messages", []):
        n = _task_n(message["Body"])
        if n is not None:
            trace.deliveries.append(
                Delivery(
                    n=n,
                    pid=int(match.group(1)) if match else None,
                    start=exchange.start,
                    end=exchange.end,
                    message_id=message["MessageId"],
                    receipt=message["ReceiptHandle"],
                    receive_count=int(message.get("Attributes", {})["ApproximateReceiveCount"]),
                    delivered=exchange.fault not in REPLY_LOST,
                )
            )


def _read_receipt_batch(trace, exchange):
    succeeded = set()
    if exchange.status == 200:
        succeeded = {entry["Id"] for entry in exchange.response_json().get("Successful", [])}
    book = trace.deletes if exchange.action == "DeleteMessageBatch" else trace.changes
    for entry in exchange.request_json().get("Entries", []):
        book[entry["ReceiptHandle"]].append(
            ReceiptCall(
                start=exchange.start,
                end=exchange.end,
                ok=entry["Id"] in succeeded,
                fault=exchange.fault,
                timeout=entry.get("VisibilityTimeout"),
            )
        )


@dataclass
class Report:
    tasks: int
    executions: int
    lost: list[int]
    failures: int = 0
    duplicates: Counter = field(default_factory=Counter)
    early_duplicates: Counter = field(default_factory=Counter)
    window_violations: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    deliveries: int = 0
    lost_receive_replies: int = 0
    max_receive_count: int = 0
    details: list[str] = field(default_factory=list)

    def disallowed(self):
        """Duplicates by cause, for the causes that are neither a kill nor a lost reply."""
        return {c: n for c, n in self.duplicates.items() if c not in ALLOWED_CAUSES}

    def summary(self):
        return {
            "tasks": self.tasks,
            "executions": self.executions,
            "lost": len(self.lost),
            "failed_executions": self.failures,
            "duplicates": sum(self.duplicates.values()),
            "duplicates_by_cause": dict(self.duplicates),
            "early_duplicates_by_cause": dict(self.early_duplicates),
            "window_violations": len(self.window_violations),
            "unexplained": len(self.unexplained),
            "deliveries": self.deliveries,
            "lost_receive_replies": self.lost_receive_replies,
            "max_receive_count": self.max_receive_count,
        }


def analyse(tasks, executions, signals, trace, visibility_timeout):
    """Check a run (see the module docstring); ``signals`` maps pid to ``{"kill": t, ...}``."""
    by_task = defaultdict(list)
    for execution in executions:
        by_task[execution.n].append(execution)
    deliveries = defaultdict(list)
    for delivery in trace.deliveries:
        deliveries[delivery.n].append(delivery)
    report = Report(
        tasks=tasks,
        executions=len(executions),
        lost=[
            n for n in range(tasks) if not any(e.end and not e.failed for e in by_task.get(n, []))
        ],
        failures=sum(e.failed for e in executions),
        deliveries=len(trace.deliveries),
        lost_receive_replies=sum(not d.delivered for d in trace.deliveries),
        max_receive_count=max((d.receive_count for d in trace.deliveries), default=0),
    )
    checker = _Checker(trace, signals, visibility_timeout)
    for n, runs in sorted(by_task.items()):
        runs.sort(key=lambda e: e.start)
        claimed = set()  # a receive hands a message to one execution
        pairs = [(e, checker.source(e, deliveries[n], claimed)) for e in runs]
        for execution, delivery in pairs:
            problem = checker.window_problem(execution, delivery)
            if problem:
                report.window_violations.append(f"task {n}: {problem}")
                if not checker.visibility_faulted(delivery):
                    report.unexplained.append(f"task {n} ran outside its window: {problem}")
        for (e1, d1), (e2, d2) in itertools.pairwise(pairs):
            cause = checker.cause(e1, d1, e2, d2)
            report.duplicates[cause] += 1
            early = e2.start < e1.start + visibility_timeout
            if early:
                report.early_duplicates[cause] += 1
            report.details.append(
                f"task {n}: {'early ' if early else ''}duplicate in process {e2.pid}, "
                f"{e2.start - e1.start:.2f} s after process {e1.pid}'s: {cause}"
            )
            if cause == "unexplained":
                report.unexplained.append(f"task {n}: {e1} then {e2} ({d1} then {d2})")
    return report


class _Checker:
    def __init__(self, trace, signals, visibility_timeout):
        self._trace = trace
        self._signals = signals
        self._timeout = visibility_timeout

    def source(self, execution, deliveries, claimed):
        """The delivery an execution came from: its process's latest before it started.

        One not ``claimed`` by an earlier execution, when there is one: a process
        may receive two copies of a task at once (a send done twice), each of which
        runs once. The delivery chosen is added to ``claimed``.
        """
        mine = [
            d
            for d in deliveries
            if d.pid == execution.pid and d.delivered and d.end <= execution.start + EPSILON
        ]
        unclaimed = [d for d in mine if id(d) not in claimed]
        chosen = max(unclaimed or mine, key=lambda d: d.end, default=None)
        if chosen is not None:
            claimed.add(id(chosen))
        return chosen

    def deadline(self, delivery, *, latest):
        """The latest (or earliest) moment the delivery's message may turn visible again."""
        changes = [
            c
            for c in self._trace.changes.get(delivery.receipt, [])
            if c.ok and c.end >= delivery.start
        ]
        if not changes:
            return (delivery.end if latest else delivery.start) + self._timeout
        last = max(changes, key=lambda c: c.start)
        return (last.end if latest else last.start) + last.timeout

    def killed_at(self, pid):
        return self._signals.get(pid, {}).get("kill")

    def window_problem(self, execution, delivery):
        if delivery is None:
            return f"no delivery to process {execution.pid} before it started"
        finish = execution.end if execution.end is not None else self.killed_at(execution.pid)
        if finish is None:
            return f"it never ended, and process {execution.pid} was not killed"
        overrun = finish - self.deadline(delivery, latest=True)
        return f"it ran {overrun:.2f} s past its window" if overrun > EPSILON else None

    def visibility_faulted(self, delivery):
        calls = self._trace.changes.get(delivery.receipt, []) if delivery else []
        return any(c.fault and not c.ok for c in calls)

    def cause(self, e1, d1, e2, d2):  # noqa: PLR0911 - one return per cause, in order
        if d1 is None or d2 is None:
            return "unexplained"
        if d1.message_id != d2.message_id:
            return self._second_copy(e1.n)
        if d2.end < self.deadline(d1, latest=False) - EPSILON and not self._released(d1, d2):
            if self._released_by_a_retry(d1, d2):
                return "released by a retried call"
            return "queue delivered twice"
        if e1.failed:
            return "failed, delivered again"
        killed = self.killed_at(e1.pid)
        if e1.end is None:
            return "killed while running" if killed is not None else "unexplained"
        done = [c for c in self._trace.deletes.get(d1.receipt, []) if c.ok]
        if d2.start > self.deadline(d1, latest=True) and self.visibility_faulted(d1):
            return "visibility change failed"
        if done and min(c.start for c in done) >= d2.start:
            return "deleted after its window"
        if killed is not None and not any(c.start < killed for c in done):
            return "killed before delete"
        attempts = self._trace.deletes.get(d1.receipt, [])
        if attempts and not done and all(c.fault for c in attempts):
            return "delete failed"
        return "unexplained"

    def _second_copy(self, n):
        """Why task ``n`` has more than one message: its sends that were done."""
        faults = self._trace.sends.get(n, [])
        if any(fault in REPLY_LOST for fault in faults):
            return "send reply lost"
        return "resent after SendFailed" if len(faults) > 1 else "unexplained"

    def _released_by_a_retry(self, d1, d2):
        """Whether a retried release of an earlier receipt of the message made it visible.

        A release whose reply was lost is retried by botocore; if the queue has handed
        the message out again meanwhile, the retry (with the earlier receipt, which
        moto still honours) makes it visible under its new holder.
        """
        for delivery in self._trace.deliveries:
            if delivery.message_id != d1.message_id or delivery.receipt == d1.receipt:
                continue
            calls = self._trace.changes.get(delivery.receipt, [])
            lost = [c for c in calls if c.timeout == 0 and c.fault in REPLY_LOST]
            if lost and any(
                c.ok and c.timeout == 0 and d1.start <= c.start <= d2.end and c not in lost
                for c in calls
            ):
                return True
        return False

    def _released(self, d1, d2):
        return any(
            c.ok and c.timeout == 0 and d1.start <= c.start <= d2.end
            for c in self._trace.changes.get(d1.receipt, [])
        )
