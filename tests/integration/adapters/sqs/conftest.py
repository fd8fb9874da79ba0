"""Fixtures of the SQS adapter's tests: FIFO queues for the FIFO contract suites."""

import uuid

import pytest


@pytest.fixture
def make_fifo_queue(sqs_client):
    """``make_fifo_queue(content_based_deduplication=False)``: a new FIFO queue's name.

    Deleted after the test.
    """
    urls = []

    def create(*, content_based_deduplication=False):
        name = f"contract-{uuid.uuid4().hex[:12]}.fifo"
        attributes = {
            "FifoQueue": "true",
            "ContentBasedDeduplication": str(content_based_deduplication).lower(),
        }
        urls.append(sqs_client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
        return name

    yield create
    for url in urls:
        sqs_client.delete_queue(QueueUrl=url)
