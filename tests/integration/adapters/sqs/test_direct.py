"""The direct way of a client SQSQueue built itself: ReceiveMessage and DeleteMessageBatch.

Against the moto server over HTTP (and moto in-process). botocore makes an
operation's first call in full and the adapter makes the next ones itself; any
answer but a plain success is made again through botocore.
"""

from __future__ import annotations

import functools
import itertools

import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws

from simple_worker.adapters.sqs._queue import SQSQueue
from simple_worker.domain._errors import QueueNotFound, QueueServiceError
from simple_worker.ports.queue import OutgoingMessage, QueueCall
from simple_worker.testing.queue_contract import FifoQueuePortContract, QueuePortContract

REGION = "us-east-1"


@pytest.fixture
def built(moto_server):
    """An SQSQueue that built its own client, for the moto server."""
    return SQSQueue(endpoint_url=moto_server, region=REGION)


class TestBuiltClientContract(QueuePortContract):
    @pytest.fixture
    def queue_port(self, built):
        return built

    @pytest.fixture
    def new_queue(self, make_queue):
        def create(visibility_timeout=30):
            return make_queue("direct", VisibilityTimeout=visibility_timeout)

        return create


class TestBuiltClientFifoContract(FifoQueuePortContract):
    @pytest.fixture
    def queue_port(self, built):
        return built

    @pytest.fixture
    def new_fifo_queue(self, make_fifo_queue):
        return make_fifo_queue


def send(queue, name, count):
    queue.send_batch(name, [OutgoingMessage(f"m{i}", f"body {i}") for i in range(count)])


def test_after_the_first_through_botocore_receives_and_deletes_are_made_directly(
    built, make_queue, count_calls
):
    through_botocore = count_calls(built.client.meta.events)
    name = make_queue()
    send(built, name, 25)

    received = [m for _ in range(3) for m in built.receive_batch(name, max_messages=10)]
    failed = built.delete_batch(name, [m.receipt for m in received])

    assert sorted(m.body for m in received) == sorted(f"body {i}" for i in range(25))
    assert failed == {}
    assert (through_botocore["ReceiveMessage"], through_botocore["DeleteMessageBatch"]) == (1, 1)
    assert built.stats(name).visible + built.stats(name).in_flight == 0


def test_the_call_listener_sees_the_direct_calls(built, make_queue):
    name = make_queue()
    calls = []
    built.add_call_listener(calls.append)
    send(built, name, 2)

    for _ in range(2):  # the first through botocore, the second directly
        received = built.receive_batch(name, max_messages=1)
        built.delete_batch(name, [m.receipt for m in received])
    built.receive_batch(name)

    assert calls[-5:] == [
        QueueCall("ReceiveMessage", name, received=1),
        QueueCall("DeleteMessageBatch", name),
        QueueCall("ReceiveMessage", name, received=1),
        QueueCall("DeleteMessageBatch", name),
        QueueCall("ReceiveMessage", name, received=0),
    ]


def test_a_refused_direct_call_is_made_again_through_botocore_and_translated(
    built, make_queue, sqs_client
):
    name = make_queue()
    built.receive_batch(name)
    sqs_client.delete_queue(QueueUrl=built.describe(name).url)

    with pytest.raises(QueueNotFound):
        built.receive_batch(name)
    with pytest.raises(QueueNotFound):
        built.delete_batch(name, ["receipt"])


def test_a_direct_call_without_an_answer_is_made_again_through_botocore(
    built, make_queue, count_calls
):
    name = make_queue()
    send(built, name, 3)
    built.receive_batch(name, max_messages=1)
    through_botocore = count_calls(built.client.meta.events)
    attempts = itertools.count(1)

    def time_out_the_first(request, **_):
        if next(attempts) == 1:
            raise ReadTimeoutError(endpoint_url=request.url)

    built.client.meta.events.register("before-send.sqs.ReceiveMessage", time_out_the_first)

    assert len(built.receive_batch(name, max_messages=2)) == 2
    assert through_botocore["ReceiveMessage"] == 1
    built.receive_batch(name)  # botocore succeeded: direct again
    assert through_botocore["ReceiveMessage"] == 1


def test_after_a_failed_direct_attempt_botocore_alone_makes_the_calls_until_one_succeeds(
    moto_server, make_queue, count_calls
):
    one_attempt = Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=2)
    queue = SQSQueue(endpoint_url=moto_server, region=REGION, config=one_attempt)
    name = make_queue()
    queue.receive_batch(name)
    through_botocore = count_calls(queue.client.meta.events)
    attempts = []
    outage = [True]

    def time_out_during_the_outage(request, **_):
        attempts.append(request.url)
        if outage[0]:
            raise ReadTimeoutError(endpoint_url=request.url)

    queue.client.meta.events.register("before-send.sqs.ReceiveMessage", time_out_during_the_outage)

    for _ in range(2):
        with pytest.raises(QueueServiceError):
            queue.receive_batch(name)
    assert (len(attempts), through_botocore["ReceiveMessage"]) == (3, 2)  # one direct attempt
    outage[0] = False
    queue.receive_batch(name)
    queue.receive_batch(name)
    assert (len(attempts), through_botocore["ReceiveMessage"]) == (5, 3)


def test_while_a_tracer_wraps_botocore_every_call_goes_through_it(
    built, make_queue, count_calls, monkeypatch
):
    name = make_queue()
    built.receive_batch(name)
    through_botocore = count_calls(built.client.meta.events)
    traced = []
    original = BaseClient._make_api_call

    @functools.wraps(original)
    def tracing(self, operation_name, api_params):
        traced.append(operation_name)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", tracing)

    built.receive_batch(name)

    assert traced == ["ReceiveMessage"]
    assert through_botocore["ReceiveMessage"] == 1


def test_moto_in_process_answers_the_direct_calls_too():
    with mock_aws():
        queue = SQSQueue(region=REGION)
        queue.client.create_queue(QueueName="direct-mocked")
        send(queue, "direct-mocked", 4)

        first = queue.receive_batch("direct-mocked", max_messages=2)
        second = queue.receive_batch("direct-mocked", max_messages=2)
        failed = queue.delete_batch("direct-mocked", [m.receipt for m in first + second])

        assert len(first + second) == 4
        assert failed == {}
        assert queue.stats("direct-mocked").in_flight == 0
