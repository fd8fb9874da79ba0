"""``simple-worker schedules sync|list|role-policy APP``: the app's EventBridge Scheduler schedules.

AWS runs the schedules; this command only makes the stored ones match the app's
declarations (``app.schedule(...)``), in one schedule group of the app's. Every
check (role ARN, group name, target queues) passes before anything is created.
A failed Scheduler call exits 1; bad input exits 2.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from simple_worker.adapters.sqs._admin import SQSAdmin
from simple_worker.cli._common import EXIT_FAILURE, EXIT_OK, add_app_argument, err, one_line, out
from simple_worker.cli._schedule_targets import (
    check_dead_letter_arn,
    check_group,
    check_role_arn,
    default_group,
    load_with_schedules,
    role_policy,
    scheduler_of,
    target_queues,
    trust_policy,
)
from simple_worker.domain._errors import SchedulerServiceError
from simple_worker.domain._schedule_plan import (
    DEFAULT_MAX_EVENT_AGE,
    DEFAULT_MAX_RETRIES,
    Action,
    Change,
    ScheduleSpec,
)
from simple_worker.domain._schedule_times import next_fire
from simple_worker.producer._schedule_sync import ScheduleSync, Target, wanted_spec

if TYPE_CHECKING:
    from simple_worker.cli._common import Commands

_Run = Callable[[argparse.Namespace], int]


def register(commands: Commands) -> None:
    """Add the ``schedules`` command and its ``sync``, ``list`` and ``role-policy`` subcommands."""
    schedules = commands.add_parser(
        "schedules",
        help="sync the app's periodic tasks to EventBridge Scheduler",
        description="Manage the app's schedules (app.schedule(...)) on EventBridge Scheduler. "
        "The Scheduler endpoint is the standard AWS configuration's "
        "(AWS_ENDPOINT_URL_SCHEDULER), in the SQS client's region.",
    )
    actions = schedules.add_subparsers(title="commands", required=True, metavar="COMMAND")
    sync = actions.add_parser(
        "sync",
        help="create, update (and with --prune delete) the schedules",
        description="Make the schedule group hold one schedule per declaration, each "
        "sending its task's envelope to the task's queue. Creates the group if missing.",
        epilog="exit status: 0 done (or, with --dry-run, nothing would change); 1 with "
        "--dry-run when something would change, or a failed AWS call; 2 bad input "
        "(nothing is created).",
    )
    add_app_argument(sync)
    sync.add_argument(
        "--role-arn", required=True, metavar="ARN", help="the IAM role Scheduler assumes to send"
    )
    _add_group_argument(sync)
    sync.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    sync.add_argument(
        "--prune",
        action="store_true",
        help="delete the group's schedules the app no longer declares",
    )
    sync.add_argument(
        "--dead-letter-arn",
        metavar="ARN",
        help="a standard SQS queue for firings Scheduler could not deliver (default: the task "
        "queue's dead-letter queue; none for FIFO queues, which Scheduler cannot use)",
    )
    sync.add_argument(
        "--max-retries",
        metavar="N",
        type=functools.partial(_whole, low=0, high=DEFAULT_MAX_RETRIES),
        default=DEFAULT_MAX_RETRIES,
        help=f"retries of a firing the queue refused (0 to 185; default {DEFAULT_MAX_RETRIES})",
    )
    sync.add_argument(
        "--max-event-age",
        metavar="SECONDS",
        type=functools.partial(_whole, low=60, high=DEFAULT_MAX_EVENT_AGE),
        default=DEFAULT_MAX_EVENT_AGE,
        help=f"seconds a firing is retried for (60 to 86400; default {DEFAULT_MAX_EVENT_AGE})",
    )
    sync.set_defaults(run=_service_errors(run_sync))
    listing = actions.add_parser(
        "list", help="list the group's schedules", description="List the group's schedules."
    )
    add_app_argument(listing)
    _add_group_argument(listing)
    listing.set_defaults(run=_service_errors(run_list))
    policy = actions.add_parser(
        "role-policy",
        help="print the IAM policy of the role the schedules need",
        description="Print the permissions policy (JSON) of the role Scheduler assumes: "
        "sqs:SendMessage on the target queues and their dead-letter queues, and KMS for "
        "encrypted queues. --trust prints the role's trust policy instead.",
    )
    add_app_argument(policy)
    policy.add_argument("--trust", action="store_true", help="print the trust policy instead")
    policy.set_defaults(run=run_role_policy)


def _add_group_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--group",
        metavar="NAME",
        help="the schedule group (default: the queue prefix + 'schedules')",
    )


def _whole(text: str, *, low: int, high: int) -> int:
    if not text.isdecimal() or not low <= int(text) <= high:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from {low} to {high}, got {text!r}"
        )
    return int(text)


def _service_errors(run: _Run) -> _Run:
    @functools.wraps(run)
    def guarded(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except SchedulerServiceError as error:
            err(f"simple-worker: {one_line(error)}")
            return EXIT_FAILURE

    return guarded


def run_sync(args: argparse.Namespace) -> int:
    """Run ``schedules sync``; return its exit status."""
    role = check_role_arn(args.role_arn)
    if args.dead_letter_arn is not None:
        check_dead_letter_arn(args.dead_letter_arn)
    app = load_with_schedules(args, allow_none=args.prune)
    group = check_group(args.group or default_group(app.queue_prefix))
    admin = SQSAdmin.of(app.queue)
    queues = target_queues(app, admin)
    wanted = []
    for schedule in app.schedules.values():
        queue = queues[schedule.queue]
        dead_letter = args.dead_letter_arn
        if dead_letter is None and queue.redrive is not None and not queue.fifo:
            dead_letter = queue.redrive.dead_letter_arn
        target = Target(queue.arn, role, dead_letter, args.max_retries, args.max_event_age)
        wanted.append(wanted_spec(schedule, target))
    scheduler = scheduler_of(admin)
    sync = ScheduleSync(scheduler, group)
    changes = sync.plan(wanted, prune=args.prune)
    out(
        f"Schedules of {args.app} in group {group} (EventBridge Scheduler at {scheduler.endpoint}):"
    )
    _print_plan(changes)
    counts = collections.Counter(change.action for change in changes)
    pending = sum(change.changes_anything for change in changes)
    if args.dry_run:
        out(
            f"Dry run: {pending} change(s) would be made (create {counts[Action.CREATE]}, "
            f"update {counts[Action.UPDATE]}, delete {counts[Action.DELETE]}; "
            f"{counts[Action.UNCHANGED]} unchanged); nothing was changed."
        )
        return EXIT_FAILURE if pending else EXIT_OK
    if sync.apply(changes):
        out(f"Created schedule group {group}.")
    out(
        f"{counts[Action.CREATE]} created, {counts[Action.UPDATE]} updated, "
        f"{counts[Action.UNCHANGED]} unchanged, {counts[Action.DELETE]} deleted"
        + (
            f", {counts[Action.KEEP]} not declared and kept (--prune deletes them)."
            if counts[Action.KEEP]
            else "."
        )
    )
    return EXIT_OK


def _print_plan(changes: list[Change]) -> None:
    width = max((len(change.spec.name) for change in changes), default=0)
    for change in changes:
        spec = change.spec
        line = (
            f"{change.action.value:<12} {spec.name:<{width}}  {_when(spec)} -> {spec.target_queue}"
        )
        if change.differences:
            line += f"  ({'; '.join(change.differences)})"
        out(line)


def _when(spec: ScheduleSpec) -> str:
    return f"{spec.expression} {spec.timezone}"


def run_list(args: argparse.Namespace) -> int:
    """Run ``schedules list``; return its exit status."""
    app = load_with_schedules(args, allow_none=True)
    group = check_group(args.group or default_group(app.queue_prefix))
    stored = scheduler_of(SQSAdmin.of(app.queue)).list_schedules(group)
    now = datetime.now(timezone.utc)
    rows = [("NAME", "EXPRESSION", "TIMEZONE", "NEXT FIRE", "STATE", "TARGET QUEUE")]
    for spec in stored:
        fire = next_fire(
            spec.expression, spec.timezone, now, anchor=spec.created, start=spec.start, end=spec.end
        )
        shown = fire.strftime("%Y-%m-%d %H:%M %Z") if fire else "-"
        rows.append(
            (spec.name, spec.expression, spec.timezone, shown, spec.state, spec.target_queue)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    missing = sorted(set(app.schedules) - {spec.name for spec in stored})
    out(f"{len(stored)} schedule(s) in group {group}.")
    if missing:
        out(
            f"Declared but not in the group: {', '.join(missing)}; run simple-worker "
            f"schedules sync {args.app} --role-arn ARN."
        )
    return EXIT_OK


def run_role_policy(args: argparse.Namespace) -> int:
    """Run ``schedules role-policy``; return its exit status."""
    app = load_with_schedules(args)
    queues = list(target_queues(app, SQSAdmin.of(app.queue)).values())
    if args.trust:
        out(json.dumps(trust_policy(queues[0].arn.split(":")[4]), indent=2))
    else:
        out(json.dumps(role_policy(queues), indent=2))
    return EXIT_OK
