"""Operator values and SQS's shapes for `sqs_admin`: queue details, moves, message copies.

No boto3 at run time: SQS's types are only named for the type checker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import attrs

from simple_worker.adapters.sqs._shapes import (
    attribute_flag,
    queue_name_of,
    queue_stats,
    redrive_target,
)
from simple_worker.domain._errors import QueueServiceError
from simple_worker.ports.queue import QueueStats

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import (
        MessageAttributeValueTypeDef,
        MessageTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

MAX_DEDUPLICATION_ID = 128


@attrs.frozen
class RedrivePolicy:
    """Where a queue's redrive policy sends a message, and after how many receives."""

    dead_letter_queue: str
    """The dead-letter queue's name (the last part of its ARN)."""
    dead_letter_arn: str
    max_receive_count: int


@attrs.frozen
class QueueDetails:
    """A queue as an operator sees it: settings and approximate message counts."""

    name: str
    url: str
    arn: str
    fifo: bool
    visibility_timeout: int
    max_message_size: int
    retention_period: int
    delay_seconds: int
    redrive: RedrivePolicy | None
    stats: QueueStats
    content_based_deduplication: bool = False
    """FIFO queues: a message without a deduplication id is deduplicated by its body."""


@attrs.frozen
class MoveTask:
    """An SQS message move task, as ``ListMessageMoveTasks`` reports it."""

    handle: str
    status: str
    """RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED."""
    moved: int
    to_move: int | None
    failure_reason: str = ""


Route = Literal["move", "leave", "drop"]
"""What `SQSAdmin.move_batch` does with one message it received."""


@attrs.frozen
class MovedBatch:
    """What one receive/send/delete round of `SQSAdmin.move_batch` did."""

    received: int
    moved: int
    """Sent to the destination and deleted from the source."""
    not_deleted: int = 0
    """Sent, but the delete failed: they come back to the source and are sent again."""
    failed: dict[str, str] = attrs.field(factory=dict)
    """Message id to why it was not sent; those stay in the source queue."""
    skipped: int = 0
    """Received again after failing or being left earlier in the run; not retried."""
    dropped: int = 0
    """Deleted without being sent, as the caller's ``route`` asked."""
    left: dict[str, str] = attrs.field(factory=dict)
    """Message id to receipt of the ones the caller's ``route`` left in the source: hidden
    for the receive's visibility timeout unless released sooner."""


def message_size(message: MessageTypeDef) -> int:
    """Return the bytes SQS counts against MaximumMessageSize: body and message attributes."""
    size = len(message["Body"].encode())
    for name, value in message.get("MessageAttributes", {}).items():
        size += len(name.encode()) + len(value["DataType"].encode())
        size += len(value.get("StringValue", "").encode()) + len(value.get("BinaryValue", b""))
    return size


def send_entry(
    entry_id: str, message: MessageTypeDef, fifo: bool, run_id: str
) -> SendMessageBatchRequestEntryTypeDef:
    """Return the SendMessageBatch entry that copies a received message to another queue.

    The body, message attributes and trace header are copied; on a FIFO queue, the
    group id is kept and the deduplication id is ``run_id`` and the message id.
    """
    entry: SendMessageBatchRequestEntryTypeDef = {"Id": entry_id, "MessageBody": message["Body"]}
    attributes: dict[str, MessageAttributeValueTypeDef] = {}
    for name, value in message.get("MessageAttributes", {}).items():
        copied: MessageAttributeValueTypeDef = {"DataType": value["DataType"]}
        if "StringValue" in value:
            copied["StringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            copied["BinaryValue"] = value["BinaryValue"]
        attributes[name] = copied
    if attributes:
        entry["MessageAttributes"] = attributes
    system = message.get("Attributes", {})
    if "AWSTraceHeader" in system:
        entry["MessageSystemAttributes"] = {
            "AWSTraceHeader": {"DataType": "String", "StringValue": system["AWSTraceHeader"]}
        }
    if fifo:
        entry["MessageGroupId"] = system.get("MessageGroupId", "redrive")
        entry["MessageDeduplicationId"] = f"{run_id}-{message['MessageId']}"[:MAX_DEDUPLICATION_ID]
    return entry


def queue_details(name: str, url: str, attributes: Mapping[str, str]) -> QueueDetails:
    """Return the `QueueDetails` for ``GetQueueAttributes(All)``'s answer.

    Raises:
        QueueServiceError: an attribute is missing or cannot be read.
    """
    try:
        target = redrive_target(attributes)
        redrive = None
        if target is not None:
            arn, max_receive_count = target
            redrive = RedrivePolicy(
                dead_letter_queue=queue_name_of(arn),
                dead_letter_arn=arn,
                max_receive_count=max_receive_count,
            )
        return QueueDetails(
            name=name,
            url=url,
            arn=attributes["QueueArn"],
            fifo=attribute_flag(attributes, "FifoQueue"),
            visibility_timeout=int(attributes["VisibilityTimeout"]),
            max_message_size=int(attributes["MaximumMessageSize"]),
            retention_period=int(attributes["MessageRetentionPeriod"]),
            delay_seconds=int(attributes.get("DelaySeconds", 0)),
            redrive=redrive,
            stats=queue_stats(attributes),
            content_based_deduplication=attribute_flag(attributes, "ContentBasedDeduplication"),
        )
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise QueueServiceError(
            f"SQS GetQueueAttributes on queue {name} answered attributes that cannot be "
            f"read ({exc!r}).",
            operation="GetQueueAttributes",
            queue=name,
        ) from exc
