"""SQS's request and answer shapes, to and from domain values, for the SQS adapter.

Batching (calls of 10 entries and 1 MiB), per-entry retries, and reading queue
attributes and messages. No boto3 at run time: calls are passed in, and SQS's
types are only named for the type checker.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from simple_worker.adapters._send_rules import refusal
from simple_worker.domain._errors import QueueServiceError
from simple_worker.ports.queue import (
    MAX_BATCH_SIZE,
    OutgoingMessage,
    QueueInfo,
    QueueStats,
    ReceivedMessage,
    VisibilityChange,
    split_batches,
)

if TYPE_CHECKING:
    from typing import TypeAlias

    from mypy_boto3_sqs.type_defs import (
        ChangeMessageVisibilityBatchRequestEntryTypeDef,
        ChangeMessageVisibilityBatchResultTypeDef,
        DeleteMessageBatchRequestEntryTypeDef,
        DeleteMessageBatchResultTypeDef,
        MessageAttributeValueTypeDef,
        MessageTypeDef,
        SendMessageBatchRequestEntryTypeDef,
        SendMessageBatchResultTypeDef,
    )

    BatchResult: TypeAlias = (
        SendMessageBatchResultTypeDef
        | DeleteMessageBatchResultTypeDef
        | ChangeMessageVisibilityBatchResultTypeDef
    )

logger = logging.getLogger(__name__)

ENTRY_RETRIES = 3
"""Extra attempts for batch entries SQS failed on its side (``SenderFault: false``)."""
_ENTRY_RETRY_DELAY = 0.1  # seconds before the first entry retry, doubled for each next one

_NO_RESULT = "NoResult: SQS returned no result for this entry"

Entry = TypeVar("Entry")
ReceiptEntry = TypeVar(
    "ReceiptEntry",
    "DeleteMessageBatchRequestEntryTypeDef",
    "ChangeMessageVisibilityBatchRequestEntryTypeDef",
)


@attrs.define
class BatchOutcome:
    """What one batch call, with its entry retries, did: entry ids by result."""

    succeeded: set[str] = attrs.field(factory=set)
    failed: dict[str, str] = attrs.field(factory=dict)
    """Entry id to ``"Code: Message"``."""


def run_batch(
    entries: dict[str, Entry], call: Callable[[list[Entry]], BatchResult], outcome: BatchOutcome
) -> None:
    """Make one batch call, then retry alone the entries SQS failed on its own side.

    botocore retries whole calls (throttling, 5xx, connection errors) but never sees
    an entry that failed inside a successful call; those with ``SenderFault: false``
    are retried here, up to `ENTRY_RETRIES` times, with a short doubling pause.

    Args:
        entries: the call's entries by their ``Id`` (at most 10).
        call: makes the SQS call with a list of entries.
        outcome: filled as answers arrive, so that it still tells what happened when
            a call raises: the entries in neither of its fields are that call's.

    Raises:
        Whatever ``call`` raises.
    """
    pending = dict(entries)
    for attempt in range(ENTRY_RETRIES + 1):
        if attempt:
            time.sleep(_ENTRY_RETRY_DELAY * 2 ** (attempt - 1))
        response = call(list(pending.values()))
        outcome.succeeded.update(entry["Id"] for entry in response.get("Successful", []))
        retry: dict[str, Entry] = {}
        for error in response.get("Failed", []):
            reason = f"{error['Code']}: {error.get('Message', '')}"
            if error.get("SenderFault", True) or attempt == ENTRY_RETRIES:
                outcome.failed[error["Id"]] = reason
            elif error["Id"] in pending:
                retry[error["Id"]] = pending[error["Id"]]
                logger.info("Retrying a batch entry SQS failed on its side: %s", reason)
        pending = retry
        if not pending:
            return


def delete_entries(receipts: Sequence[str]) -> list[DeleteMessageBatchRequestEntryTypeDef]:
    """Return DeleteMessageBatch entries for `settle_receipts`."""
    return [
        {"Id": str(i % MAX_BATCH_SIZE), "ReceiptHandle": receipt}
        for i, receipt in enumerate(receipts)
    ]


def visibility_entries(
    changes: Sequence[VisibilityChange],
) -> list[ChangeMessageVisibilityBatchRequestEntryTypeDef]:
    """Return ChangeMessageVisibilityBatch entries for `settle_receipts`."""
    return [
        {"Id": str(i % MAX_BATCH_SIZE), "ReceiptHandle": c.receipt, "VisibilityTimeout": c.timeout}
        for i, c in enumerate(changes)
    ]


def settle_receipts(
    entries: Sequence[ReceiptEntry], call: Callable[[list[ReceiptEntry]], BatchResult]
) -> dict[str, str]:
    """Make one batch call per 10 entries, retrying entries as `run_batch` does.

    The entries' ids, as `delete_entries` and `visibility_entries` number them, are
    "0" to "9" within each call.

    Returns:
        The receipts SQS refused, after retries, each with ``"Code: Message"``.

    Raises:
        Whatever ``call`` raises; the calls after it are not made.
    """
    failed: dict[str, str] = {}
    for start in range(0, len(entries), MAX_BATCH_SIZE):
        chunk = {entry["Id"]: entry for entry in entries[start : start + MAX_BATCH_SIZE]}
        outcome = BatchOutcome()
        run_batch(chunk, call, outcome)
        failed.update(
            (entry["ReceiptHandle"], outcome.failed.get(entry_id, _NO_RESULT))
            for entry_id, entry in chunk.items()
            if entry_id not in outcome.succeeded
        )
    return failed


def send_chunks(
    messages: Sequence[OutgoingMessage], info: QueueInfo, refused: dict[str, str]
) -> Iterator[list[OutgoingMessage]]:
    """Split messages, in order, into SendMessageBatch calls (`split_batches`).

    A message SQS would refuse on this queue (see `send_rules`: too large, a FIFO
    message without a group id, ...) goes in no chunk: it is put in ``refused``
    with the reason, so that it cannot fail a whole call.
    """
    sendable = []
    for message in messages:
        reason = refusal(message, info)
        if reason is None:
            sendable.append(message)
        else:
            refused[message.id] = reason
    return split_batches(sendable)


def send_entry(entry_id: str, message: OutgoingMessage) -> SendMessageBatchRequestEntryTypeDef:
    """Return the SendMessageBatch entry for a message; options only where given."""
    entry: SendMessageBatchRequestEntryTypeDef = {"Id": entry_id, "MessageBody": message.body}
    if message.delay_seconds:
        entry["DelaySeconds"] = message.delay_seconds
    if message.group_id is not None:
        entry["MessageGroupId"] = message.group_id
    if message.deduplication_id is not None:
        entry["MessageDeduplicationId"] = message.deduplication_id
    if message.attributes:
        entry["MessageAttributes"] = {
            name: _attribute_value(value) for name, value in message.attributes.items()
        }
    return entry


def _attribute_value(value: str | int) -> MessageAttributeValueTypeDef:
    return {"DataType": "Number" if isinstance(value, int) else "String", "StringValue": str(value)}


def queue_info(queue: str, url: str, attributes: Mapping[Any, str]) -> QueueInfo:
    """Return the `QueueInfo` for a queue's URL and attributes as GetQueueAttributes answers.

    Raises:
        QueueServiceError: an attribute is missing or cannot be read.
    """
    try:
        redrive = redrive_target(attributes)
        return QueueInfo(
            url=url,
            max_message_size=int(attributes["MaximumMessageSize"]),
            visibility_timeout=int(attributes["VisibilityTimeout"]),
            dead_letter_queue=queue_name_of(redrive[0]) if redrive else None,
            max_receive_count=redrive[1] if redrive else None,
            # Standard queues lack both attributes.
            fifo=attribute_flag(attributes, "FifoQueue"),
            content_based_deduplication=attribute_flag(attributes, "ContentBasedDeduplication"),
        )
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise QueueServiceError(
            f"SQS GetQueueAttributes on queue {queue} answered attributes that cannot be "
            f"read ({exc!r}): {attributes}.",
            operation="GetQueueAttributes",
            queue=queue,
        ) from exc


def attribute_flag(attributes: Mapping[Any, str], name: str) -> bool:
    """Return a boolean queue attribute (``"true"``/``"false"``); absent means false."""
    return attributes.get(name, "false").lower() == "true"


def redrive_target(attributes: Mapping[Any, str]) -> tuple[str, int] | None:
    """Return the dead-letter queue's ARN and ``maxReceiveCount`` of a ``RedrivePolicy``.

    None when the queue has no redrive policy.

    Raises:
        ValueError, KeyError, TypeError, AttributeError: the policy cannot be read.
    """
    policy = json.loads(attributes.get("RedrivePolicy") or "{}")
    if not policy.get("deadLetterTargetArn"):
        return None
    return str(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"])


def queue_name_of(arn: str) -> str:
    """Return the queue name in an SQS queue ARN: its last segment."""
    return arn.rsplit(":", 1)[-1]


def queue_stats(attributes: Mapping[Any, str]) -> QueueStats:
    """Return the `QueueStats` in GetQueueAttributes's answer (0 for a count it lacks)."""
    return QueueStats(
        visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    )


def received_message(queue: str, message: MessageTypeDef) -> ReceivedMessage:
    """Return the `ReceivedMessage` for a message in ReceiveMessage's answer.

    Its String and Number attributes (custom types such as ``Number.int`` too) are
    kept as their text; Binary ones, which no producer of this library sends, are not.
    """
    system = message.get("Attributes", {})
    return ReceivedMessage(
        queue=queue,
        message_id=message["MessageId"],
        receipt=message["ReceiptHandle"],
        body=message["Body"],
        receive_count=int(system.get("ApproximateReceiveCount", 1)),
        group_id=system.get("MessageGroupId"),
        attributes={
            name: value["StringValue"]
            for name, value in message.get("MessageAttributes", {}).items()
            if value["DataType"].partition(".")[0] in ("String", "Number")
            and "StringValue" in value
        },
    )
