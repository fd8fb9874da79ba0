"""``simple-worker check APP``: a preflight for deploy pipelines; exit 1 on a problem.

Reads each queue and its dead-letter queue (``GetQueueUrl``, ``GetQueueAttributes``:
no side effects) and prints every problem with how to fix it. The write actions a
worker needs (``ReceiveMessage``, ``DeleteMessage``, ``ChangeMessageVisibility``,
and ``SendMessage`` for producers) cannot be tried without changing the queue, so
they are listed as not checked.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from simple_worker.adapters.aws_lambda._functions import LambdaFunctions
from simple_worker.adapters.sqs._admin import QueueDetails, SQSAdmin
from simple_worker.cli._check_lambda import (
    function_findings,
    lambda_functions,
    read_function,
    unreadable,
)
from simple_worker.cli._check_limits import has_time_limits, time_limit_findings
from simple_worker.cli._common import (
    EXIT_FAILURE,
    EXIT_OK,
    add_app_argument,
    add_queues_argument,
    add_retry_arguments,
    app_and_queues,
    out,
    retry_policy,
    time_limit,
)
from simple_worker.cli._environment import read_from_environment
from simple_worker.cli._findings import Finding
from simple_worker.cli._schedule_check import schedule_problems
from simple_worker.consumer._retry import RetryIntervals, RetryPolicy
from simple_worker.domain._errors import CredentialsNotFound, QueueServiceError
from simple_worker.domain._queue_rules import is_fifo_queue
from simple_worker.ports.queue import DEFAULT_RECEIVE_VISIBILITY

if TYPE_CHECKING:
    from simple_worker.app import App
    from simple_worker.cli._common import Commands

MIN_VISIBILITY_TIMEOUT = 10
"""Below this, a pause of a few seconds (GC, network) can let a second worker take a task."""
MIN_MAX_RECEIVE_COUNT = 5
"""Below this, worker restarts alone can dead-letter tasks that never failed.

A worker that stops or is killed hands back every message it holds with one more
receive: by default up to max(20, 2 x threads) buffered ones (with async
handlers, at least async_concurrency // 2), and the running ones if killed.
Under repeated restarts bench/receive_counts.py measured tasks that never
failed yet first completed on their 4th receive or later in 14 of 19 runs,
small buffers and quick tasks included, and as late as the 7th (11th under
graceful stops) with the default buffer (docs/operations.md).
"""
UNCHECKED_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:SendMessage",
)


def register(commands: Commands) -> None:
    """Add the ``check`` command."""
    parser = commands.add_parser(
        "check",
        help="check the app's queues before a deploy",
        description="Check that every queue the app needs exists and is set up for the "
        "worker: FIFO-ness, a redrive policy with an existing dead-letter queue, a "
        "sensible visibility timeout, a maxReceiveCount that leaves room for worker "
        "restarts, a retry policy that fits it, and "
        "credentials that can read the queues. Prints each problem with how to fix it.",
        epilog="exit status: 0 when there is no problem (warnings allowed); 1 when there "
        "is one; 2 a usage or configuration error.",
    )
    add_app_argument(parser)
    add_queues_argument(parser, "check")
    add_retry_arguments(parser)
    parser.add_argument(
        "--lambda-function",
        metavar="NAME",
        action="append",
        default=[],
        help="also check this AWS Lambda function's SQS event source mappings (repeatable): "
        "ReportBatchItemFailures set (without it, a batch is deleted whole, failed tasks "
        "included), the mapped queues known to the app, their visibility timeout against "
        "the function's timeout (6x, as AWS recommends), the batch size",
    )
    parser.add_argument(
        "--time-limit",
        type=time_limit,
        metavar="S",
        help="the worker's --time-limit, for tasks registered without their own: warns "
        "where a limit outlasts its queue's visibility timeout or SQS's 12-hour ceiling",
    )
    read_from_environment(parser, ("time_limit",))
    parser.set_defaults(run=run)


def queue_findings(
    queue: QueueDetails, dlq: QueueDetails | None, retry: RetryPolicy | None, fix_command: str
) -> list[Finding]:
    """Return what is wrong with ``queue``; ``dlq`` is its dead-letter queue if it exists.

    Args:
        queue: the queue's settings.
        dlq: its dead-letter queue's, or None when it has none or it does not exist.
        retry: the worker's retry policy, without jitter; None for none.
        fix_command: the ``queues create`` command line that sets the queue up.
    """
    found: list[Finding] = []
    if is_fifo_queue(queue.name) != queue.fifo:
        found.append(
            Finding(
                "problem",
                f"its name {'does not end' if queue.fifo else 'ends'} in .fifo but "
                f"it is {'not ' if not queue.fifo else ''}a FIFO queue",
                "recreate it with a name that matches its type",
            )
        )
    found += _visibility_findings(queue)
    found += _redrive_findings(queue, dlq, fix_command)
    if queue.redrive is not None and queue.redrive.max_receive_count < MIN_MAX_RECEIVE_COUNT:
        found.append(_low_receive_count(queue.redrive.max_receive_count, fix_command))
    if retry is not None and queue.redrive is not None:
        found += _retry_findings(queue, queue.redrive.max_receive_count, retry)
    return found


def _visibility_findings(queue: QueueDetails) -> list[Finding]:
    timeout = queue.visibility_timeout
    fix = "raise VisibilityTimeout above a typical task's duration, e.g. 60 s"
    if timeout == 0:
        return [
            Finding(
                "warning",
                "its visibility timeout is 0: the worker hides each message it receives "
                f"for {DEFAULT_RECEIVE_VISIBILITY} s itself (ReceiveMessage's "
                "VisibilityTimeout) and extends that while it holds the message, but other "
                "consumers of the queue (an AWS Lambda trigger, scripts, other libraries) "
                "leave a message they receive visible at once, so it can be received and "
                "run again while it runs",
                fix,
            )
        ]
    if timeout < MIN_VISIBILITY_TIMEOUT:
        return [
            Finding(
                "warning",
                f"its visibility timeout is {timeout} s: the worker's heartbeat extends it "
                f"every {timeout / 2:g} s, and a pause longer than {timeout} s (GC, network) "
                "lets a second worker run the task",
                fix,
            )
        ]
    return []


def _redrive_findings(
    queue: QueueDetails, dlq: QueueDetails | None, fix_command: str
) -> list[Finding]:
    if queue.redrive is None:
        return [
            Finding(
                "problem",
                "it has no redrive policy: a task that keeps failing is retried until its "
                f"message expires (after {_duration(queue.retention_period)}) and never "
                "reaches a dead-letter queue",
                f"{fix_command} --update",
            )
        ]
    name = queue.redrive.dead_letter_queue
    if dlq is None:
        return [
            Finding(
                "problem",
                f"its dead-letter queue {name} does not exist: SQS cannot move failing "
                "messages there",
                f"create {name}, or run {fix_command} --update",
            )
        ]
    found = []
    if dlq.fifo != queue.fifo:
        found.append(
            Finding(
                "problem",
                f"its dead-letter queue {name} is {'' if dlq.fifo else 'not '}a FIFO queue "
                f"and it is {'' if queue.fifo else 'not '}: SQS needs both of one type",
                f"point the redrive policy at a queue of the same type ({fix_command} --update)",
            )
        )
    if not queue.fifo and dlq.retention_period <= queue.retention_period:
        found.append(
            Finding(
                "warning",
                f"its dead-letter queue {name} keeps messages {_duration(dlq.retention_period)}, "
                f"no longer than this queue ({_duration(queue.retention_period)}): a message "
                "moved there keeps its first enqueue time, so it may expire there at once",
                f"set {name}'s MessageRetentionPeriod to 1209600 (14 days)",
            )
        )
    return found


def _low_receive_count(receives: int, fix_command: str) -> Finding:
    return Finding(
        "warning",
        f"its redrive policy moves a message to the dead-letter queue after {receives} "
        f"receive{'' if receives == 1 else 's'}, and every worker restart (a deploy, "
        "scaling in, a crash, an OOM kill) costs a receive to each message the worker "
        "held but did not finish: by default up to max(20, 2 x threads) buffered ones "
        "(with async handlers, at least half of --async-concurrency), and the running "
        "ones if it was killed, so a few restarts can dead-letter a "
        "task that never failed",
        f"raise maxReceiveCount to {MIN_MAX_RECEIVE_COUNT} or more, 10 where workers may "
        f"be killed repeatedly (e.g. {fix_command} --max-receive-count 10 --update)",
    )


def _retry_findings(queue: QueueDetails, receives: int, retry: RetryPolicy) -> list[Finding]:
    found = []
    if isinstance(retry, RetryIntervals) and len(retry.intervals) > receives:
        found.append(
            Finding(
                "warning",
                f"only the first {receives} of the {len(retry.intervals)} retry intervals are "
                f"used: a message moves to the dead-letter queue after {receives} receives",
                f"give fewer intervals, or set maxReceiveCount to {len(retry.intervals)}",
            )
        )
    to_dlq = sum(retry.delay(count) for count in range(1, receives + 1))
    if to_dlq >= queue.retention_period:
        found.append(
            Finding(
                "problem",
                f"with this retry policy, a task that always fails is retried for "
                f"{_duration(to_dlq)} before reaching the dead-letter queue, but messages "
                f"expire after {_duration(queue.retention_period)}: it is lost instead",
                "shorten the retry schedule, lower maxReceiveCount, or raise "
                "MessageRetentionPeriod",
            )
        )
    return found


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            value = f"{seconds / size:.3g}"
            return f"{value} {unit}{'' if value == '1' else 's'}"
    return f"{seconds} s"


def _summary(queue: QueueDetails) -> str:
    parts = [
        "standard",
        f"visibility timeout {queue.visibility_timeout} s",
        f"max message size {queue.max_message_size} bytes",
    ]
    if queue.fifo:
        parts[0] = (
            "FIFO, content-based deduplication" if queue.content_based_deduplication else "FIFO"
        )
    if queue.redrive is not None:
        parts.append(
            f"dead-letter queue {queue.redrive.dead_letter_queue} after "
            f"{queue.redrive.max_receive_count} receives"
        )
    return "(" + ", ".join(parts) + ")"


def run(args: argparse.Namespace) -> int:
    """Run ``check``; return its exit status."""
    app, queues = app_and_queues(args)
    admin = SQSAdmin.of(app.queue)
    retry = retry_policy(args, jitter=False)  # the longest delays, to compare with retention
    out(f"Checking {len(queues)} queue(s) of {args.app} at {admin.endpoint}")
    width = max(map(len, queues))
    counts = {"problem": 0, "warning": 0}
    registrations = app.registry.registrations()
    for name in queues:
        short = name.removeprefix(app.queue_prefix)
        fix_command = f"simple-worker queues create {args.app} --queues {short}"
        queue, findings = _check_one(admin, name, retry, fix_command)
        summary = _summary(queue) if queue is not None else ""
        if queue is not None and has_time_limits(registrations, name, args.time_limit):
            timeout = queue.visibility_timeout
            found = time_limit_findings(registrations, name, timeout, args.time_limit)
            findings += [Finding(*finding) for finding in found]
        _report(f"{name:<{width}}", summary, findings, counts)
    if app.schedules:  # only then: an app without schedules makes no Scheduler call
        for level, name, text in schedule_problems(app, admin, args.app):
            counts[level] += 1
            out(f"schedule {name}  {level}: {text}.")
    functions: list[str] = args.lambda_function
    if functions:
        reader = lambda_functions(admin)
        for function_name in functions:
            out(f"Checking Lambda function {function_name} at {reader.endpoint}")
            for label, summary, findings in _lambda_rows(reader, admin, function_name, app):
                _report(label, summary, findings, counts)
    out(
        f"Not checked (they cannot be tried without side effects): {', '.join(UNCHECKED_ACTIONS)};"
        " see the IAM policies in docs/operations.md."
    )
    problems, warnings = counts["problem"], counts["warning"]
    checked = f"{len(queues)} queue(s)" + (
        f" and {len(functions)} Lambda function(s)" if functions else ""
    )
    out(f"{checked} checked: {problems} problem(s), {warnings} warning(s).")
    return EXIT_FAILURE if problems else EXIT_OK


def _report(name: str, summary: str, findings: list[Finding], counts: dict[str, int]) -> None:
    levels = {finding.level for finding in findings}
    status = "PROBLEM" if "problem" in levels else "WARNING" if levels else "ok"
    out(f"{name}  {status:<7}  {summary}".rstrip())
    for finding in findings:
        counts[finding.level] += 1
        out(f"  {finding.level}: {finding.text.rstrip('.')}.")
        if finding.fix:
            out(f"    fix: {finding.fix.rstrip('.')}.")


def _lambda_rows(
    reader: LambdaFunctions, admin: SQSAdmin, function_name: str, app: App
) -> list[tuple[str, str, list[Finding]]]:
    try:
        function, mapped = read_function(reader, admin, function_name)
    except QueueServiceError as error:
        return unreadable(function_name, error)
    return function_findings(function_name, function, app.registry.queues(), mapped)


def _check_one(
    admin: SQSAdmin, name: str, retry: RetryPolicy | None, fix_command: str
) -> tuple[QueueDetails | None, list[Finding]]:
    """Return the queue's settings (None where it cannot be read) and what is wrong with it."""
    try:
        queue = admin.find(name)
        if queue is None:
            return None, [Finding("problem", "it does not exist", fix_command)]
        dlq = admin.find(queue.redrive.dead_letter_queue) if queue.redrive else None
    except CredentialsNotFound:
        raise  # the same for every queue: one configuration error, not a finding per queue
    except QueueServiceError as error:
        return None, [
            Finding(
                "problem",
                f"it cannot be read: {' '.join(str(error).split())}",
                "grant these credentials sqs:GetQueueUrl and sqs:GetQueueAttributes on the "
                "queue and its dead-letter queue, or check the region and endpoint",
            )
        ]
    return queue, queue_findings(queue, dlq, retry, fix_command)
