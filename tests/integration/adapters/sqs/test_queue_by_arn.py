"""`SQSQueue.describe_arn`: a queue addressed by its ARN, as a Lambda event names it."""

from __future__ import annotations

import boto3
import pytest

from simple_worker.adapters.sqs._queue import SQSQueue
from simple_worker.domain._errors import QueueNotFound
from simple_worker.domain._queue_arn import parse_queue_arn
from simple_worker.ports.queue import OutgoingMessage, QueueByArn


def _arn(client, name):
    url = client.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return parse_queue_arn(attributes["Attributes"]["QueueArn"])


def test_the_url_comes_from_the_arn_and_the_endpoint_without_a_lookup(sqs_client, make_queue):
    name = make_queue(VisibilityTimeout=7)
    sqs = SQSQueue(client=sqs_client)
    looked_up = []
    sqs_client.meta.events.register(
        "before-call.sqs.GetQueueUrl", lambda **_: looked_up.append(True)
    )

    info = sqs.describe_arn(_arn(sqs_client, name))

    assert isinstance(sqs, QueueByArn)
    assert info.url == sqs_client.get_queue_url(QueueName=name)["QueueUrl"]
    assert info.visibility_timeout == 7
    looked_up.clear()
    # Cached under the name: later calls by name use it.
    assert sqs.describe(name) is info
    assert sqs.send_batch(name, [OutgoingMessage("m", "body")]).sent == ("m",)
    assert looked_up == []


def test_a_queue_that_does_not_exist_is_queue_not_found(sqs_client):
    sqs = SQSQueue(client=sqs_client)
    arn = parse_queue_arn("arn:aws:sqs:us-east-1:123456789012:no-such-queue-here")

    with pytest.raises(QueueNotFound, match="no-such-queue-here"):
        sqs.describe_arn(arn)


def test_in_process_moto_takes_the_aws_url_form(mocked_sqs_client):
    url = mocked_sqs_client.create_queue(QueueName="by-arn")["QueueUrl"]
    sqs = SQSQueue(client=boto3.client("sqs", region_name="us-east-1"))

    info = sqs.describe_arn(parse_queue_arn("arn:aws:sqs:us-east-1:123456789012:by-arn"))

    assert info.url == url == "https://sqs.us-east-1.amazonaws.com/123456789012/by-arn"
