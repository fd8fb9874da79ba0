"""SQSQueue reports each call it makes to SQS as a `QueueCall` (moto server over HTTP)."""

import pytest
from botocore.config import Config

from simple_worker.adapters.sqs._queue import SQSQueue
from simple_worker.domain._errors import QueueNotFound, QueueServiceError
from simple_worker.ports.queue import ObservableQueue, OutgoingMessage, QueueCall


@pytest.fixture
def calls():
    return []


def test_an_sqs_queue_reports_its_calls_with_queue_and_received_count(
    sqs_client, make_queue, calls
):
    name = make_queue()
    queue = SQSQueue(client=sqs_client)
    assert isinstance(queue, ObservableQueue)
    queue.add_call_listener(calls.append)

    queue.send_batch(name, [OutgoingMessage("a", "x"), OutgoingMessage("b", "y")])
    queue.receive_batch(name, max_messages=10)
    queue.receive_batch(name, max_messages=10)

    assert calls == [
        QueueCall("GetQueueUrl"),
        QueueCall("GetQueueAttributes", name),
        QueueCall("SendMessageBatch", name),
        QueueCall("ReceiveMessage", name, received=2),
        QueueCall("ReceiveMessage", name, received=0),
    ]


def test_a_refused_call_is_reported_with_its_error_code(sqs_client, calls):
    queue = SQSQueue(client=sqs_client)
    queue.add_call_listener(calls.append)

    with pytest.raises(QueueNotFound):
        queue.describe("no-such-queue-for-calls")

    assert calls[-1].action == "GetQueueUrl"
    assert calls[-1].error == "QueueDoesNotExist"


def test_a_call_without_an_answer_is_reported_with_the_exception_class(closed_port_url, calls):
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=1)
    queue = SQSQueue(endpoint_url=closed_port_url, region="us-east-1", config=config)
    queue.add_call_listener(calls.append)

    with pytest.raises(QueueServiceError):
        queue.describe("q")

    assert calls == [QueueCall("GetQueueUrl", error="EndpointConnectionError")]


def test_a_listener_that_raises_does_not_fail_the_call(sqs_client, make_queue, caplog):
    queue = SQSQueue(client=sqs_client)

    def broken(call):
        raise RuntimeError("a bug in a metric")

    queue.add_call_listener(broken)
    name = make_queue()

    assert queue.receive_batch(name) == []
    assert "Internal error in a listener of SQS calls" in caplog.text
