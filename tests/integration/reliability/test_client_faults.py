"""The SQS client through the fault proxy: what botocore's retries ride out, and what not.

The library's client is botocore's ``standard`` retry mode with 5 attempts in all
(`default_config`). A fault that leaves the request undone (throttling, 5xx, a
connection reset before forwarding) is retried and leaves one message; a fault
after the request was done (the reply lost) is retried too, and so is done
twice. A send that finally fails says, per task, whether it may have been sent.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from simple_worker import SendFailed
from simple_worker.adapters.sqs._queue import SQSQueue
from simple_worker.domain._errors import QueueServiceError
from simple_worker.ports.queue import VisibilityChange

FAST_KINDS = ("error_500", "error_503", "reset", "drop")
THROTTLES = ("throttle", "request_throttled")
"""Throttling backs off from 1 s, doubling (error codes from 50 ms): two are enough here."""


@pytest.fixture
def queue_url(default_queue):
    return default_queue(VisibilityTimeout=1)


@pytest.fixture
def producer(prefix, proxy, producer_for, queue_url):
    return producer_for(prefix, proxy.url)


@pytest.fixture
def sqs(proxy):
    """The library's SQS adapter (default configuration) through the proxy."""
    return SQSQueue(endpoint_url=proxy.url, region="us-east-1")


@pytest.mark.parametrize(
    ("kind", "times"), [*((kind, 4) for kind in FAST_KINDS), *((kind, 2) for kind in THROTTLES)]
)
def test_a_send_rides_out_faults_that_leave_the_request_undone(
    kind, times, proxy, producer, sqs_client, queue_url, counts
):
    proxy.plan(kind, action="SendMessageBatch", times=times)

    producer.add_task("record", n=1)

    assert proxy.injected == {(kind, "SendMessageBatch"): times}
    assert proxy.requests["SendMessageBatch"] == times + 1
    assert counts(sqs_client, queue_url) == (1, 0), "no attempt was done twice"


@pytest.mark.parametrize(
    ("kind", "code"),
    [("throttle", "ThrottlingException"), ("request_throttled", "RequestThrottled")],
)
def test_injected_throttling_parses_as_a_code_botocore_treats_as_throttling(
    kind, code, proxy, queue_url
):
    # A bare client with one attempt, to see the error as botocore parsed it.
    client = boto3.client(
        "sqs", endpoint_url=proxy.url, config=Config(retries={"total_max_attempts": 1})
    )
    proxy.plan(kind, action="SendMessage")

    with pytest.raises(ClientError) as raised:
        client.send_message(QueueUrl=queue_url, MessageBody="x")

    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The code comes from x-amzn-query-error (SQS's JSON protocol is query-compatible).
    assert response["Error"]["Code"] == code
    assert (response["Error"]["QueryErrorCode"], response["Error"]["Type"]) == (code, "Sender")


def test_a_send_refused_on_every_attempt_fails_saying_the_task_was_not_sent(
    proxy, producer, sqs_client, queue_url, counts
):
    proxy.plan("error_503", action="SendMessageBatch", times=5)

    with pytest.raises(SendFailed) as raised:
        producer.add_task("record", n=1)

    error = raised.value
    assert (error.sent_ids, error.unknown_ids, len(error.failed)) == ((), (), 1)
    assert "ServiceUnavailable" in next(iter(error.failed.values()))
    assert "0 of 1 tasks were sent" in str(error)
    assert "1 was not sent" in str(error)
    assert proxy.requests["SendMessageBatch"] == 5, "botocore's 5 attempts"
    assert counts(sqs_client, queue_url) == (0, 0)


def test_a_send_refused_with_a_400_is_not_retried_and_fails_saying_it_was_not_sent(
    proxy, producer, sqs_client, queue_url, counts
):
    proxy.plan("denied", action="SendMessageBatch")

    with pytest.raises(SendFailed) as raised:
        producer.add_task("record", n=1)

    assert list(raised.value.failed.values()) == [
        "KmsAccessDenied: The caller doesn't have the required KMS access (injected)"
    ]
    assert raised.value.unknown_ids == ()
    assert proxy.requests["SendMessageBatch"] == 1
    assert counts(sqs_client, queue_url) == (0, 0)


def test_kms_throttling_of_an_sse_kms_queue_is_not_retried_by_botocore(
    proxy, producer, sqs_client, queue_url, counts
):
    """KmsThrottled is not among botocore's throttling codes, and a 400 is not transient:
    the send fails at once (see docs/security.md)."""
    proxy.plan("kms_throttled", action="SendMessageBatch")

    with pytest.raises(SendFailed) as raised:
        producer.add_task("record", n=1)

    assert [reason.split(":")[0] for reason in raised.value.failed.values()] == ["KmsThrottled"]
    assert proxy.requests["SendMessageBatch"] == 1
    assert counts(sqs_client, queue_url) == (0, 0)


def test_a_send_whose_replies_are_all_lost_fails_saying_it_may_have_been_sent(
    proxy, producer, sqs_client, queue_url, counts
):
    proxy.plan("drop_after", action="SendMessageBatch", times=5)

    with pytest.raises(SendFailed) as raised:
        producer.add_task("record", n=1)

    error = raised.value
    assert (error.sent_ids, error.failed, len(error.unknown_ids)) == ((), {}, 1)
    assert "1 may or may not have been sent" in str(error)
    # It was: each of the 5 attempts was done, and only its reply was lost.
    assert counts(sqs_client, queue_url) == (5, 0)


def test_a_send_whose_reply_was_lost_then_refused_says_it_may_have_been_sent(
    proxy, producer, sqs_client, queue_url, counts
):
    proxy.plan("drop_after", action="SendMessageBatch", times=1)
    proxy.plan("error_503", action="SendMessageBatch", times=4)

    with pytest.raises(SendFailed) as raised:
        producer.add_task("record", n=1)

    assert counts(sqs_client, queue_url) == (1, 0), "the first attempt was done"
    assert len(raised.value.unknown_ids) == 1, f"failed: {raised.value.failed}"


def test_a_send_whose_reply_comes_after_the_read_timeout_is_sent_twice(
    make_proxy, prefix, producer_for, sqs_client, queue_url, counts
):
    proxy = make_proxy(delay_seconds=2.0)
    producer = producer_for(prefix, proxy.url, read_timeout=1)
    proxy.plan("delay", action="SendMessageBatch")

    producer.add_task("record", n=1)

    assert counts(sqs_client, queue_url) == (2, 0), "a duplicate send: the task runs twice"


def test_a_receive_whose_reply_was_lost_hides_its_messages_for_the_visibility_timeout(
    proxy, sqs, sqs_client, queue_url, prefix
):
    for n in range(3):
        sqs_client.send_message(QueueUrl=queue_url, MessageBody=f"m{n}")
    proxy.plan("drop_after", action="ReceiveMessage")

    assert sqs.receive_batch(prefix + "default", wait_seconds=0) == []

    later = sqs.receive_batch(prefix + "default", wait_seconds=5)
    later += sqs.receive_batch(prefix + "default", wait_seconds=1) if len(later) < 3 else []
    assert sorted(m.body for m in later) == ["m0", "m1", "m2"]
    assert {m.receive_count for m in later} == {2}, "the lost receive counted"


@pytest.mark.parametrize("kind", ["drop_after", "reset", "error_503"])
def test_a_delete_rides_out_a_fault_even_after_it_was_done(
    kind, proxy, sqs, sqs_client, queue_url, prefix, counts
):
    sqs_client.send_message(QueueUrl=queue_url, MessageBody="m")
    (message,) = sqs.receive_batch(prefix + "default", wait_seconds=1)
    proxy.plan(kind, action="DeleteMessageBatch")

    assert sqs.delete_batch(prefix + "default", [message.receipt]) == {}
    assert proxy.requests["DeleteMessageBatch"] == 2
    assert counts(sqs_client, queue_url) == (0, 0)


def test_a_visibility_change_rides_out_a_lost_reply(proxy, sqs, sqs_client, queue_url, prefix):
    sqs_client.send_message(QueueUrl=queue_url, MessageBody="m")
    (message,) = sqs.receive_batch(prefix + "default", wait_seconds=1)
    proxy.plan("drop_after", action="ChangeMessageVisibilityBatch")

    release = [VisibilityChange(message.receipt, 0)]
    assert sqs.change_visibility_batch(prefix + "default", release) == {}
    assert [m.body for m in sqs.receive_batch(prefix + "default", wait_seconds=1)] == ["m"]


def test_botocore_stops_retrying_once_failures_have_spent_its_retry_quota(
    proxy, sqs, queue_url, prefix
):
    """Standard mode's retry quota: 500 tokens, 14 per retry of a 5xx or connection error
    (5 per throttling retry), 1 back per call that succeeds at once. A long outage spends
    it, so botocore makes no retry storm, and the first calls after it are not retried."""
    queue = prefix + "default"
    sqs.describe(queue)
    proxy.plan("error_500", times=None, seconds=60)
    attempts_before = 0
    for _ in range(12):  # ~9 calls of 5 attempts spend the 500 tokens
        before = proxy.requests["ReceiveMessage"]
        with pytest.raises(QueueServiceError):
            sqs.receive_batch(queue)
        attempts_before = proxy.requests["ReceiveMessage"] - before
        if attempts_before == 1:
            break
    proxy.clear()
    proxy.plan("error_500", action="ReceiveMessage", times=1)

    with pytest.raises(QueueServiceError, match="InternalError"):
        sqs.receive_batch(queue)

    assert attempts_before == 1, "the last failing call was not retried"
    assert sqs.receive_batch(queue) == []  # a call without fault succeeds, and refunds a token
