"""An SQS queue's ARN, read into its parts. Pure: no I/O.

``arn:PARTITION:sqs:REGION:ACCOUNT:NAME``, as an event source mapping names the
queue of each record it hands to a Lambda function (``eventSourceARN``). The
name is what simple-worker calls a queue (prefix included); region and account
let an adapter address the queue without looking its URL up by name.
"""

from __future__ import annotations

import re

import attrs

_QUEUE_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<name>[A-Za-z0-9_-]{1,80}(\.fifo)?)"
)


@attrs.frozen
class QueueArn:
    """Where an SQS queue is: its partition, region, account and name."""

    partition: str
    region: str
    account: str
    name: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:sqs:{self.region}:{self.account}:{self.name}"


def parse_queue_arn(arn: object) -> QueueArn | None:
    """Return the parts of an SQS queue's ARN; None if ``arn`` is not one."""
    if not isinstance(arn, str):
        return None
    match = _QUEUE_ARN.fullmatch(arn)
    if match is None:
        return None
    return QueueArn(match["partition"], match["region"], match["account"], match["name"])
