"""Reading an SQS event source mapping's event: its records as received messages. Pure.

AWS Lambda hands a function the messages an event source mapping received, as
``{"Records": [...]}``; each record carries what ReceiveMessage returned, spelt
its own way (``messageId``, ``receiptHandle``, ``attributes``, ``messageAttributes``
with ``stringValue`` and ``dataType``) and the queue's ARN (``eventSourceARN``).
Here they become the `ReceivedMessage` values every runner handles, read as the
SQS adapter reads a receive: String and Number attributes as text, Binary ones
left out, the receive count and the FIFO group id from the system attributes.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from simple_worker.domain._errors import ConfigurationError
from simple_worker.domain._excerpt import quoted
from simple_worker.domain._queue_arn import QueueArn, parse_queue_arn
from simple_worker.ports.queue import ReceivedMessage

SQS_EVENT_SOURCE = "aws:sqs"
_REQUIRED = ("messageId", "receiptHandle", "body", "eventSourceARN")


@attrs.frozen
class SqsRecord:
    """One record of the event: its queue and the message as received."""

    arn: QueueArn
    message: ReceivedMessage


def sqs_records(event: object) -> list[SqsRecord]:
    """Return the records of an SQS event source mapping's event, in the order given.

    Raises:
        ConfigurationError: the event is not an SQS event (another trigger, a test
            event of another shape): nothing of it can be settled, so nothing runs.
    """
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise _not_sqs('it has no "Records" list')
    return [_record(index, record) for index, record in enumerate(records)]


def _record(index: int, record: object) -> SqsRecord:
    if not isinstance(record, Mapping):
        raise _not_sqs(f"record {index} is not an object")
    source = record.get("eventSource", SQS_EVENT_SOURCE)
    if source != SQS_EVENT_SOURCE:
        raise _not_sqs(f"record {index} comes from {quoted(source, 60)}")
    missing = [key for key in _REQUIRED if not isinstance(record.get(key), str)]
    if missing:
        raise _not_sqs(f"record {index} has no {', '.join(missing)}")
    arn = parse_queue_arn(record["eventSourceARN"])
    if arn is None:
        raise _not_sqs(
            f"record {index}'s eventSourceARN {quoted(record['eventSourceARN'], 200)} "
            "is not an SQS queue's ARN"
        )
    system = record.get("attributes")
    system = system if isinstance(system, Mapping) else {}
    group_id = system.get("MessageGroupId")
    return SqsRecord(
        arn,
        ReceivedMessage(
            queue=arn.name,
            message_id=record["messageId"],
            receipt=record["receiptHandle"],
            body=record["body"],
            receive_count=_receive_count(system.get("ApproximateReceiveCount")),
            group_id=group_id if isinstance(group_id, str) else None,
            attributes=_message_attributes(record.get("messageAttributes")),
        ),
    )


def _receive_count(value: object) -> int:
    """Return the record's receive count; 1 where it is missing or not a number."""
    try:
        return max(int(str(value)), 1)
    except ValueError:
        return 1


def _message_attributes(attributes: object) -> dict[str, str]:
    """Return the String and Number attributes (``Number.int`` too) as their text."""
    if not isinstance(attributes, Mapping):
        return {}
    kept: dict[str, str] = {}
    for name, value in attributes.items():
        if not isinstance(value, Mapping):
            continue
        data_type, text = value.get("dataType"), value.get("stringValue")
        if (
            isinstance(data_type, str)
            and data_type.partition(".")[0] in ("String", "Number")
            and isinstance(text, str)
        ):
            kept[str(name)] = text
    return kept


def _not_sqs(reason: str) -> ConfigurationError:
    return ConfigurationError(
        f"The Lambda function got an event that is not an SQS batch: {reason}. "
        "app.lambda_handler() serves an SQS event source mapping: connect the function "
        "to the queue with one (aws lambda create-event-source-mapping), and give "
        "hand-made test events the shape AWS documents for SQS."
    )
