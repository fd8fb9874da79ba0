"""SQSQueue passes the QueuePort contract, against the moto server over HTTP."""

from __future__ import annotations

import pytest

from simple_worker.adapters.sqs import SQSQueue
from simple_worker.testing.queue_contract import QueuePortContract


class TestSQSQueueContract(QueuePortContract):
    @pytest.fixture
    def queue_port(self, sqs_client):
        return SQSQueue(client=sqs_client)

    @pytest.fixture
    def new_queue(self, make_queue):
        def create(visibility_timeout=30):
            return make_queue("contract", VisibilityTimeout=visibility_timeout)

        return create
