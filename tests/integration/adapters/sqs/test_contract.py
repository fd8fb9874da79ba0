"""SQSQueue passes the QueuePort contracts, against the moto server over HTTP."""

from __future__ import annotations

import uuid

import pytest

from simple_worker.adapters.sqs._queue import SQSQueue
from simple_worker.testing.queue_contract import FifoQueuePortContract, QueuePortContract


class TestSQSQueueContract(QueuePortContract):
    @pytest.fixture
    def queue_port(self, sqs_client):
        return SQSQueue(client=sqs_client)

    @pytest.fixture
    def new_queue(self, make_queue):
        def create(visibility_timeout=30):
            return make_queue("contract", VisibilityTimeout=visibility_timeout)

        return create


class TestSQSQueueFifoContract(FifoQueuePortContract):
    @pytest.fixture
    def queue_port(self, sqs_client):
        return SQSQueue(client=sqs_client)

    @pytest.fixture
    def new_fifo_queue(self, sqs_client):
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
