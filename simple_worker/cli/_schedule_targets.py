"""What the ``schedules`` commands share: the app's schedules, their group, queues and role.

Everything here is checked before anything is created: the role ARN's shape, the
group's name, and that every target queue exists and can take Scheduler's messages.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from simple_worker.adapters.scheduler._scheduler import EventBridgeScheduler
from simple_worker.adapters.sqs._admin import QueueDetails, SQSAdmin
from simple_worker.cli._loading import load_app
from simple_worker.domain._errors import ConfigurationError, QueueNotFound

if TYPE_CHECKING:
    import argparse

    from simple_worker.app import App

_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
_STANDARD_QUEUE_ARN = re.compile(r"arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}")
_GROUP = re.compile(r"[0-9A-Za-z._-]{1,64}")
GROUP_SUFFIX = "schedules"


def default_group(prefix: str) -> str:
    """Return the app's schedule group: its queue prefix + ``schedules`` (``shop-schedules``)."""
    return prefix + GROUP_SUFFIX


def check_group(name: str) -> str:
    """Return ``name`` if Scheduler takes it as a group name.

    Raises:
        ConfigurationError: it is not 1 to 64 letters, digits, '.', '-' or '_'.
    """
    if not _GROUP.fullmatch(name):
        raise ConfigurationError(
            f"Schedule group {name!r} is not 1 to 64 letters, digits, '.', '-' or '_': "
            "give another with --group."
        )
    return name


def check_role_arn(arn: str) -> str:
    """Return ``arn`` if it is an IAM role's ARN.

    Raises:
        ConfigurationError: it is not ``arn:aws:iam::<12-digit account>:role/<name>``.
    """
    if not _ROLE_ARN.fullmatch(arn):
        raise ConfigurationError(
            f"--role-arn {arn!r} is not an IAM role's ARN (arn:aws:iam::123456789012:role/NAME): "
            "give the role EventBridge Scheduler assumes to send to the queues "
            "(simple-worker schedules role-policy APP prints its policy)."
        )
    return arn


def check_dead_letter_arn(arn: str) -> str:
    """Return ``arn`` if it is a standard SQS queue's ARN, as Scheduler's dead-letter queue must be.

    Raises:
        ConfigurationError: it is not ``arn:aws:sqs:<region>:<account>:<name>`` (no ``.fifo``).
    """
    if not _STANDARD_QUEUE_ARN.fullmatch(arn):
        raise ConfigurationError(
            f"--dead-letter-arn {arn!r} is not a standard SQS queue's ARN "
            "(arn:aws:sqs:eu-west-1:123456789012:NAME): EventBridge Scheduler's dead-letter "
            "queue must be a standard queue."
        )
    return arn


def load_with_schedules(args: argparse.Namespace, *, allow_none: bool = False) -> App:
    """Load ``args.app``; it must declare schedules unless ``allow_none``.

    Raises:
        ConfigurationError: the app does not load, or declares no schedule.
    """
    app = load_app(args.app)
    if not app.schedules and not allow_none:
        raise ConfigurationError(
            f"{args.app} declares no schedule: declare one with "
            "app.schedule('task_name', cron='0 2 * * ? *') in code the worker imports too."
        )
    return app


def scheduler_of(admin: SQSAdmin) -> EventBridgeScheduler:
    """Return a Scheduler client in the SQS client's region (AWS_ENDPOINT_URL_SCHEDULER's)."""
    return EventBridgeScheduler.build(admin.region)


def target_queues(app: App, admin: SQSAdmin) -> dict[str, QueueDetails]:
    """Return the details of every queue the app's schedules send to, by name.

    Raises:
        QueueNotFound: a queue does not exist (all missing ones named).
        ConfigurationError: a FIFO queue has no content-based deduplication, which
            Scheduler's messages need (it sends no deduplication id).
    """
    names = list(dict.fromkeys(schedule.queue for schedule in app.schedules.values()))
    found = {name: admin.find(name) for name in names}
    missing = [name for name, details in found.items() if details is None]
    if missing:
        raise QueueNotFound(missing)
    queues = {name: details for name, details in found.items() if details is not None}
    for queue in queues.values():
        if queue.fifo and not queue.content_based_deduplication:
            raise ConfigurationError(
                f"FIFO queue {queue.name} has no content-based deduplication, and EventBridge "
                "Scheduler sends no deduplication id: set its ContentBasedDeduplication "
                "attribute to true (each firing's body differs, so none is dropped)."
            )
    return queues


def role_policy(queues: list[QueueDetails]) -> dict[str, Any]:
    """Return the IAM policy the schedules' role needs to send to ``queues`` and their DLQs."""
    arns = [queue.arn for queue in queues]
    arns += [q.redrive.dead_letter_arn for q in queues if q.redrive and not q.fifo]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "SendScheduledTasks",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": sorted(set(arns)),
        }
    ]
    keys = sorted({_key_arn(queue) for queue in queues if queue.kms_key})
    if keys:
        statements.append(
            {
                "Sid": "EncryptForEncryptedQueues",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": keys,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def trust_policy(account: str) -> dict[str, Any]:
    """Return the trust policy that lets EventBridge Scheduler of ``account`` assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        ],
    }


def _key_arn(queue: QueueDetails) -> str:
    key = str(queue.kms_key)
    if key.startswith("arn:"):
        return key
    _, partition, _, region, account, _ = queue.arn.split(":", 5)
    # An alias names no key an IAM policy can grant: the alias's ARN stands for it, and
    # the operator replaces it with the key's ARN (aws kms describe-key --key-id ALIAS).
    name = key if key.startswith("alias/") else "key/" + key
    return f"arn:{partition}:kms:{region}:{account}:{name}"
