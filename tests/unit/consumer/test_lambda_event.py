"""Reading SQS event source mapping events: AWS's documented shape into received messages."""

import copy

import pytest

from simple_worker import ConfigurationError
from simple_worker.consumer._lambda_event import sqs_records
from simple_worker.domain._queue_arn import QueueArn, parse_queue_arn

# As AWS documents the event of an SQS event source mapping (standard queue).
STANDARD_EVENT = {
    "Records": [
        {
            "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
            "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
            "body": '{"task_name": "t", "task_payload": {}}',
            "attributes": {
                "ApproximateReceiveCount": "3",
                "SentTimestamp": "1545082649183",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": "1545082649185",
            },
            "messageAttributes": {
                "traceparent": {
                    "stringValue": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "String",
                },
                "ExtendedPayloadSize": {
                    "stringValue": "123",
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "Number",
                },
                "Blob": {
                    "binaryValue": "MTEwMA==",
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "Binary",
                },
            },
            "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
            "awsRegion": "us-east-2",
        }
    ]
}

# As AWS documents it for a FIFO queue.
FIFO_EVENT = {
    "Records": [
        {
            "messageId": "11d6ee51-4cc7-4302-9e22-7cd8afdaadf5",
            "receiptHandle": "AQEBBX8nesZEXmkhsmZeyIE8iQAMig7qw...",
            "body": "Test message.",
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1573251510774",
                "SequenceNumber": "18849496460467696128",
                "MessageGroupId": "1",
                "SenderId": "AIDAIO23YVJENQZJOL4VO",
                "MessageDeduplicationId": "1",
                "ApproximateFirstReceiveTimestamp": "1573251510774",
            },
            "messageAttributes": {},
            "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:fifo.fifo",
            "awsRegion": "us-east-2",
        }
    ]
}


def test_a_standard_record_becomes_the_message_a_receive_returns():
    [record] = sqs_records(STANDARD_EVENT)
    assert record.arn == QueueArn("aws", "us-east-2", "123456789012", "my-queue")
    message = record.message
    assert message.queue == "my-queue"
    assert message.message_id == "059f36b4-87a3-44ab-83d2-661975830a7d"
    assert message.receipt == "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a..."
    assert message.body == '{"task_name": "t", "task_payload": {}}'
    assert message.receive_count == 3
    assert message.group_id is None
    # String and Number attributes as text, Binary ones left out, as the SQS adapter reads them.
    assert message.attributes == {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "ExtendedPayloadSize": "123",
    }


def test_a_fifo_record_carries_its_message_group():
    [record] = sqs_records(FIFO_EVENT)
    assert record.message.queue == "fifo.fifo"
    assert record.message.group_id == "1"
    assert record.message.attributes == {}


def test_an_empty_batch_has_no_records():
    assert sqs_records({"Records": []}) == []


def test_a_record_without_attributes_counts_as_a_first_receive():
    event = copy.deepcopy(STANDARD_EVENT)
    del event["Records"][0]["attributes"]
    del event["Records"][0]["messageAttributes"]
    [record] = sqs_records(event)
    assert record.message.receive_count == 1
    assert record.message.attributes == {}


def _with(**changes):
    event = copy.deepcopy(STANDARD_EVENT)
    event["Records"][0].update(changes)
    return event


@pytest.mark.parametrize(
    ("event", "says"),
    [
        (None, 'no "Records" list'),
        ({"Records": "x"}, 'no "Records" list'),
        ({"detail-type": "Scheduled Event"}, 'no "Records" list'),
        ({"Records": [7]}, "record 0 is not an object"),
        (_with(eventSource="aws:sns"), "record 0 comes from 'aws:sns'"),
        (_with(messageId=None), "record 0 has no messageId"),
        (_with(eventSourceARN="arn:aws:sns:us-east-2:123456789012:topic"), "not an SQS queue"),
    ],
)
def test_an_event_that_is_not_an_sqs_batch_is_refused_saying_why(event, says):
    with pytest.raises(ConfigurationError, match="not an SQS batch") as raised:
        sqs_records(event)
    assert says in str(raised.value)
    assert "event source mapping" in str(raised.value)


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        ("arn:aws:sqs:eu-west-1:123456789012:q", QueueArn("aws", "eu-west-1", "123456789012", "q")),
        (
            "arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo",
            QueueArn("aws-cn", "cn-north-1", "123456789012", "q.fifo"),
        ),
        ("arn:aws:sqs:eu-west-1:12345:q", None),
        ("arn:aws:sqs:eu-west-1:123456789012:", None),
        ("arn:aws:sqs:eu-west-1:123456789012:a/b", None),
        (42, None),
    ],
)
def test_queue_arns_are_read_into_their_parts(arn, expected):
    parsed = parse_queue_arn(arn)
    assert parsed == expected
    if expected is not None:
        assert str(parsed) == arn
