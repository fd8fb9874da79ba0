"""SQS event source mapping events, shaped as AWS documents them, and a mapping to play them.

Not a test module: importlib mode puts no test folder on ``sys.path``, so the
tests load it with ``runpy.run_path``.

An event source mapping receives up to ten messages, invokes the function with
them as ``{"Records": [...]}`` and deletes every record the response does not
name in ``batchItemFailures``; the rest return after their visibility timeout.
`play` does that against an app's in-memory queue, so the runner's settlements
land on a real queue port.
"""

from __future__ import annotations

import hashlib

ACCOUNT = "123456789012"
REGION = "us-east-1"
SENT_MS = 1_545_082_649_183


def queue_arn(name, region=REGION, account=ACCOUNT):
    return f"arn:aws:sqs:{region}:{account}:{name}"


def record_of(message, *, region=REGION, account=ACCOUNT, sequence=None):
    """The event record AWS builds for a received message (``ReceivedMessage``)."""
    attributes = {
        "ApproximateReceiveCount": str(message.receive_count),
        "SentTimestamp": str(SENT_MS),
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": str(SENT_MS + 2),
    }
    if message.group_id is not None and message.queue.endswith(".fifo"):
        attributes["MessageGroupId"] = message.group_id
        attributes["SequenceNumber"] = str(sequence or 18_849_496_460_467_696_128)
        attributes["MessageDeduplicationId"] = hashlib.sha256(message.body.encode()).hexdigest()
    return {
        "messageId": message.message_id,
        "receiptHandle": message.receipt,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {
            name: {
                "stringValue": value,
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            }
            for name, value in message.attributes.items()
        },
        "md5OfBody": hashlib.md5(message.body.encode()).hexdigest(),  # noqa: S324 - SQS's checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn(message.queue, region, account),
        "awsRegion": region,
    }


def event_of(messages, **options):
    return {"Records": [record_of(m, **options) for m in messages]}


def failures(response):
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


class Context:
    """A Lambda context whose time left is ``millis`` minus ``spend`` per call."""

    def __init__(self, millis, spend=0):
        self.millis = millis
        self.spend = spend
        self.calls = 0

    def get_remaining_time_in_millis(self):
        self.calls += 1
        left = self.millis
        self.millis -= self.spend
        return left


def play(app, handler, queue_names, context=None, max_invocations=1_000):
    """Play the event source mapping until a receive on every queue comes back empty.

    Returns every response, in order.
    """
    responses = []
    while True:
        received_any = False
        for name in queue_names:
            batch = app.queue.receive_batch(name, max_messages=10)
            if not batch:
                continue
            received_any = True
            response = handler(event_of(batch), context)
            responses.append(response)
            failed = set(failures(response))
            done = [m.receipt for m in batch if m.message_id not in failed]
            if done:
                app.queue.delete_batch(name, done)
            assert len(responses) < max_invocations, "the mapping never ran dry"
        if not received_any:
            return responses
