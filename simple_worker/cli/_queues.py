"""``simple-worker queues create APP``: each queue with its dead-letter queue, idempotently.

An explicit operator step, like ``aws sqs create-queue``: the library never creates
queues at run time. A queue that exists as asked is left alone; one that exists
with other settings is reported and left alone unless ``--update`` is given
(FIFO-ness can never change: SQS fixes it at creation).
"""

from __future__ import annotations

import argparse
import collections
import json
from typing import TYPE_CHECKING

import attrs

from simple_worker.adapters.sqs._admin import QueueDetails, SQSAdmin
from simple_worker.cli._common import (
    EXIT_FAILURE,
    EXIT_OK,
    add_app_argument,
    add_queues_argument,
    app_and_queues,
    out,
    positive_int,
    visibility_seconds,
)
from simple_worker.domain._queue_rules import FIFO_SUFFIX, check_queue_name, is_fifo_queue

if TYPE_CHECKING:
    from simple_worker.cli._common import Commands

DLQ_RETENTION = 1_209_600
"""14 days, SQS's longest: a dead-letter queue should keep messages longer than its source."""
_DAY = 86_400


def register(commands: Commands) -> None:
    """Add the ``queues`` command and its ``create`` subcommand."""
    queues = commands.add_parser(
        "queues", help="create the app's queues", description="Manage the app's SQS queues."
    )
    actions = queues.add_subparsers(title="commands", required=True, metavar="COMMAND")
    create = actions.add_parser(
        "create",
        help="create each queue with a dead-letter queue and a redrive policy",
        description="Create each of the app's queues (prefix + name) and its dead-letter "
        "queue (name + suffix; FIFO queues get name-dlq.fifo) with a redrive policy. "
        "Idempotent: queues that exist as asked are left alone; ones that differ are "
        "reported and left alone unless --update is given.",
        epilog="exit status: 0 when every queue exists as asked; 1 when one differs and "
        "was not updated, or SQS failed; 2 a usage or configuration error.",
    )
    add_app_argument(create)
    add_queues_argument(create, "create")
    create.add_argument(
        "--max-receive-count",
        type=positive_int,
        default=10,
        help="receives before a message moves to the dead-letter queue (default: 10, "
        "as the SQS console's: worker restarts cost receives too; see docs/operations.md)",
    )
    create.add_argument(
        "--visibility-timeout",
        type=visibility_seconds,
        default=60,
        help="seconds a received message stays hidden (default: 60)",
    )
    create.add_argument(
        "--dlq-suffix",
        default="-dlq",
        help="appended to a queue's name (before .fifo) for its dead-letter queue (default: -dlq)",
    )
    create.add_argument(
        "--update",
        action="store_true",
        help="change existing queues whose settings differ (default: report them only)",
    )
    create.set_defaults(run=run_create)


def dead_letter_name(queue: str, suffix: str) -> str:
    """Return the dead-letter queue's name: ``queue + suffix``, before ``.fifo`` if any.

    Raises:
        InvalidQueueName: the result is not a valid SQS queue name (too long).
    """
    if is_fifo_queue(queue):
        return check_queue_name(queue[: -len(FIFO_SUFFIX)] + suffix + FIFO_SUFFIX)
    return check_queue_name(queue + suffix)


@attrs.frozen
class Wanted:
    """The settings asked of a queue; None where nothing is asked."""

    fifo: bool
    visibility_timeout: int | None = None
    retention_period: int | None = None
    dead_letter_arn: str | None = None
    max_receive_count: int | None = None

    def attributes(self, *, creating: bool) -> dict[str, str]:
        """Return the SQS attributes to create the queue with, or to set on it."""
        attributes: dict[str, str] = {}
        if self.fifo and creating:
            attributes["FifoQueue"] = "true"
        if self.visibility_timeout is not None:
            attributes["VisibilityTimeout"] = str(self.visibility_timeout)
        if self.retention_period is not None:
            attributes["MessageRetentionPeriod"] = str(self.retention_period)
        if self.dead_letter_arn is not None:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": self.dead_letter_arn,
                    "maxReceiveCount": str(self.max_receive_count),
                }
            )
        return attributes

    def differences(self, queue: QueueDetails) -> list[str]:
        """Return how ``queue`` differs from what is asked, one phrase each; empty if not."""
        found: list[str] = []
        if queue.fifo != self.fifo:
            found.append(f"it is {'' if queue.fifo else 'not '}a FIFO queue")
        if self.visibility_timeout not in (None, queue.visibility_timeout):
            found.append(
                f"VisibilityTimeout is {queue.visibility_timeout}, wanted {self.visibility_timeout}"
            )
        if self.retention_period not in (None, queue.retention_period):
            found.append(
                f"MessageRetentionPeriod is {queue.retention_period}, "
                f"wanted {self.retention_period}"
            )
        if self.dead_letter_arn is not None:
            wanted = (
                f"{self.dead_letter_arn.rsplit(':', 1)[-1]} after {self.max_receive_count} receives"
            )
            policy = queue.redrive
            if policy is None:
                found.append(f"it has no redrive policy, wanted {wanted}")
            elif (policy.dead_letter_arn, policy.max_receive_count) != (
                self.dead_letter_arn,
                self.max_receive_count,
            ):
                found.append(
                    f"its redrive policy is {policy.dead_letter_queue} after "
                    f"{policy.max_receive_count} receives, wanted {wanted}"
                )
        return found


def run_create(args: argparse.Namespace) -> int:
    """Run ``queues create``; return its exit status."""
    app, queues = app_and_queues(args)
    admin = SQSAdmin.of(app.queue)
    plan = [(queue, dead_letter_name(queue, args.dlq_suffix)) for queue in queues]
    width = max(len(name) for pair in plan for name in pair)
    actions: collections.Counter[str] = collections.Counter()

    def ensure(name: str, wanted: Wanted) -> QueueDetails:
        action, details, note = _ensure(admin, name, wanted, update=args.update)
        actions[action] += 1
        out(f"{action:<10} {name:<{width}}  {note}".rstrip())
        return details

    for queue, dlq_name in plan:
        fifo = is_fifo_queue(queue)
        dlq = ensure(dlq_name, Wanted(fifo, retention_period=DLQ_RETENTION))
        wanted = Wanted(
            fifo,
            visibility_timeout=args.visibility_timeout,
            dead_letter_arn=dlq.arn,
            max_receive_count=args.max_receive_count,
        )
        ensure(queue, wanted)
    if actions["differs"]:
        out(
            f"{actions['differs']} queue(s) differ from what was asked and were left as they "
            "are: run again with --update to change them (FIFO-ness cannot change: delete "
            "and recreate such a queue)."
        )
        return EXIT_FAILURE
    if not actions["created"] and not actions["updated"]:
        out("Nothing to do: every queue already exists as asked.")
    return EXIT_OK


def _ensure(
    admin: SQSAdmin, name: str, wanted: Wanted, *, update: bool
) -> tuple[str, QueueDetails, str]:
    """Create, update or leave the queue; return (action, its details, a note)."""
    existing = admin.find(name)
    if existing is None:
        created = admin.create(name, wanted.attributes(creating=True))
        return "created", created, _describe(created)
    differences = wanted.differences(existing)
    if not differences:
        return "unchanged", existing, ""
    if not update or existing.fifo != wanted.fifo:
        return "differs", existing, "; ".join(differences)
    updated = admin.update(existing, wanted.attributes(creating=False))
    return "updated", updated, "; ".join(differences) + " (now as asked)"


def _describe(queue: QueueDetails) -> str:
    parts = ["FIFO"] if queue.fifo else []
    parts.append(f"visibility timeout {queue.visibility_timeout} s")
    if queue.redrive is None:
        parts.append(f"retention {queue.retention_period // _DAY} days")
    else:
        parts.append(
            f"dead-letter queue {queue.redrive.dead_letter_queue} after "
            f"{queue.redrive.max_receive_count} receives"
        )
    return "(" + ", ".join(parts) + ")"
