"""SQSQueue passes the QueuePort contracts, against the moto server over HTTP."""

from __future__ import annotations

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
    def new_fifo_queue(self, make_fifo_queue):
        return make_fifo_queue
