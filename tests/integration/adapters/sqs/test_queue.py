"""SQSQueue against moto: a server on 127.0.0.1 reached over HTTP, or moto in-process.

API calls are counted with botocore's event hooks; faults are injected the same
way (an entry held back and reported failed, an HTTP answer put in place of the
server's, a timeout raised instead of sending), so that the adapter's handling of
what SQS can do is tested without patching boto3.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid

import boto3
import botocore.handlers
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from simple_worker.adapters.sqs._queue import SQSQueue
from simple_worker.domain._errors import ConfigurationError, QueueNotFound, QueueServiceError
from simple_worker.ports.queue import OutgoingMessage, QueueInfo, QueueStats, VisibilityChange

ONE_ATTEMPT = Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=2)
"""No retries: botocore's ``max_attempts`` counts retries, ``total_max_attempts`` attempts."""


@pytest.fixture
def sqs(sqs_client):
    return SQSQueue(client=sqs_client)


@pytest.fixture
def fifo_queue(sqs_client):
    """``fifo_queue(**attributes)``: a new FIFO queue on the moto server; its name."""
    urls = []

    def create(**attributes):
        name = f"test-{uuid.uuid4().hex[:12]}.fifo"
        attributes = {"FifoQueue": "true", **attributes}
        urls.append(sqs_client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
        return name

    yield create
    for url in urls:
        sqs_client.delete_queue(QueueUrl=url)


def messages(count, prefix="m", body=None):
    return [
        OutgoingMessage(id=f"{prefix}{i}", body=body or f"body {prefix}{i}") for i in range(count)
    ]


def receive_all(sqs, queue, expected):
    received = []
    while len(received) < expected:
        batch = sqs.receive_batch(queue, wait_seconds=1)
        assert batch, f"only {len(received)} of {expected} messages came back"
        received += batch
    return received


def queue_arn(sqs_client, name):
    url = sqs_client.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attributes["Attributes"]["QueueArn"]


# --- Construction ---------------------------------------------------------------------


def test_constructing_does_no_network_io(closed_port_url, count_calls):
    session = boto3.session.Session()
    calls = count_calls(session.events)

    sqs = SQSQueue(session=session, endpoint_url=closed_port_url, config=ONE_ATTEMPT)

    assert calls == {}
    with pytest.raises(QueueServiceError):
        sqs.describe("anything")
    assert calls == {"GetQueueUrl": 1}


def test_the_default_client_follows_the_standard_aws_configuration(
    monkeypatch, moto_server, make_queue
):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_server)
    queue = make_queue()

    assert SQSQueue().describe(queue).url.endswith(f"/{queue}")


def test_a_client_and_options_to_build_one_are_refused_together(sqs_client):
    with pytest.raises(ConfigurationError, match="either a client or"):
        SQSQueue(client=sqs_client, region="eu-west-1")


def rewrite_receipt_handles(class_attributes, **_):
    """What amazon-sqs-extended-client's sessions do to SQS clients, in short.

    Registered on ``creating-client-class.sqs``, it wraps ``receive_message`` so that
    receipt handles come back changed, which SQS then refuses to delete.
    """
    receive = class_attributes["receive_message"]

    def receive_message(self, **kwargs):
        response = receive(self, **kwargs)
        for message in response.get("Messages", []):
            message["ReceiptHandle"] = "-..s3Key..-rewritten-" + message["ReceiptHandle"]
        return response

    class_attributes["receive_message"] = receive_message


def rewriting_session():
    session = boto3.session.Session()
    session.events.register("creating-client-class.sqs", rewrite_receipt_handles)
    return session


@pytest.mark.parametrize("given", ["client", "session"])
def test_a_client_whose_methods_another_library_replaced_is_refused(moto_server, given):
    session = rewriting_session()
    options = {
        "client": {"client": session.client("sqs", endpoint_url=moto_server)},
        "session": {"session": session, "endpoint_url": moto_server},
    }[given]

    with pytest.raises(ConfigurationError, match="receive_message by ") as caught:
        SQSQueue(**options)

    assert __name__ in str(caught.value)
    assert "build its own client" in str(caught.value)


def test_its_own_client_is_out_of_reach_of_a_replaced_boto3_session_class(
    monkeypatch, moto_server, make_queue
):
    # What `import sqs_extended_client` does to boto3 (tests/integration/test_extended_client.py
    # has the real thing, in a process of its own).
    class RewritingSession(boto3.session.Session):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.events.register("creating-client-class.sqs", rewrite_receipt_handles)

    monkeypatch.setattr(boto3.session, "Session", RewritingSession)
    monkeypatch.setattr(boto3, "Session", RewritingSession)
    sqs = SQSQueue(endpoint_url=moto_server)
    queue = make_queue()
    sqs.send_batch(queue, messages(1))

    [received] = sqs.receive_batch(queue)

    assert sqs.delete_batch(queue, [received.receipt]) == {}
    assert sqs.stats(queue) == QueueStats(visible=0, in_flight=0, delayed=0)


def test_a_change_it_cannot_avoid_is_refused_naming_the_module_to_keep_out(
    monkeypatch, moto_server
):
    # Registered on every botocore session, below boto3's: no session of its own escapes it.
    handlers = [*botocore.handlers.BUILTIN_HANDLERS]
    handlers.append(("creating-client-class.sqs", rewrite_receipt_handles))
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", handlers)

    with pytest.raises(ConfigurationError, match="receive_message by ") as caught:
        SQSQueue(endpoint_url=moto_server)

    assert f"in a process that does not import {__name__}" in str(caught.value)


# --- describe and the URL cache ----------------------------------------------------------


def test_describe_reads_size_visibility_and_redrive_policy(sqs, sqs_client, make_queue):
    dead_letters = make_queue("dlq")
    policy = {"deadLetterTargetArn": queue_arn(sqs_client, dead_letters), "maxReceiveCount": 4}
    queue = make_queue(
        MaximumMessageSize=2048, VisibilityTimeout=7, RedrivePolicy=json.dumps(policy)
    )

    info = sqs.describe(queue)

    assert info == QueueInfo(
        url=sqs_client.get_queue_url(QueueName=queue)["QueueUrl"],
        max_message_size=2048,
        visibility_timeout=7,
        dead_letter_queue=dead_letters,
        max_receive_count=4,
    )


def test_describe_reads_fifo_and_content_based_deduplication(sqs, fifo_queue, make_queue):
    plain, by_content = fifo_queue(), fifo_queue(ContentBasedDeduplication="true")

    infos = [sqs.describe(name) for name in (plain, by_content, make_queue())]

    assert [(i.fifo, i.content_based_deduplication) for i in infos] == [
        (True, False),
        (True, True),
        (False, False),
    ]


def test_describe_of_a_queue_without_redrive_policy_has_no_dead_letter_queue(sqs, make_queue):
    info = sqs.describe(make_queue())

    assert (info.dead_letter_queue, info.max_receive_count) == (None, None)
    assert info.max_message_size == 1_048_576  # moto's default, as SQS's since 2025
    assert info.visibility_timeout == 30


def test_url_and_attributes_are_resolved_once_for_30_sends(sqs, sqs_calls, make_queue):
    queue = make_queue()

    for i in range(30):
        sqs.send_batch(queue, [OutgoingMessage(id=str(i), body="x")])
    sqs.receive_batch(queue)

    del sqs_calls["CreateQueue"]  # by make_queue
    assert sqs_calls == {
        "GetQueueUrl": 1,
        "GetQueueAttributes": 1,
        "SendMessageBatch": 30,
        "ReceiveMessage": 1,
    }


def test_threads_asking_at_once_resolve_a_queue_once(sqs, sqs_calls, make_queue):
    queue = make_queue()
    start = threading.Barrier(8)
    infos = []

    def describe():
        start.wait()
        infos.append(sqs.describe(queue))

    threads = [threading.Thread(target=describe) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(infos) == 8
    assert len(set(infos)) == 1
    assert sqs_calls == {"CreateQueue": 1, "GetQueueUrl": 1, "GetQueueAttributes": 1}


# --- send_batch -----------------------------------------------------------------------------


def test_send_batch_of_25_messages_makes_3_calls(sqs, sqs_calls, make_queue):
    queue = make_queue()
    outgoing = messages(25)

    result = sqs.send_batch(queue, outgoing)

    assert result.sent == tuple(m.id for m in outgoing)
    assert (result.failed, result.unknown) == ({}, ())
    assert sqs_calls["SendMessageBatch"] == 3
    received = receive_all(sqs, queue, 25)
    assert sorted(m.body for m in received) == sorted(m.body for m in outgoing)


def test_send_batch_splits_bodies_over_1_mib_in_total_by_size(sqs, sqs_calls, make_queue):
    queue = make_queue(MaximumMessageSize=1_048_576)
    outgoing = messages(5, body="x" * 300 * 1024)

    result = sqs.send_batch(queue, outgoing)

    assert result.sent == tuple(m.id for m in outgoing)
    assert sqs_calls["SendMessageBatch"] == 2  # 3 bodies (900 KiB), then 2
    assert sqs.stats(queue).visible == 5


def test_send_batch_fails_a_body_over_the_queue_limit_without_sending_it(
    sqs, sqs_calls, make_queue
):
    queue = make_queue(MaximumMessageSize=1024)
    small, large = OutgoingMessage("small", "x" * 1024), OutgoingMessage("large", "x" * 1025)

    result = sqs.send_batch(queue, [small, large])

    assert result.sent == ("small",)
    assert result.failed["large"].startswith("MessageTooLong: the message is 1025 bytes")
    assert sqs_calls["SendMessageBatch"] == 1


def test_send_batch_counts_attributes_in_the_queue_limit(sqs, sqs_calls, make_queue):
    queue = make_queue(MaximumMessageSize=1024)
    # 1000 bytes of body, then the attribute's name, "String" and value: 3 + 6 + 15.
    fits = OutgoingMessage("fits", "x" * 1000, attributes={"tag": "v" * 15})
    over = OutgoingMessage("over", "x" * 1000, attributes={"tag": "v" * 16})

    result = sqs.send_batch(queue, [fits, over])

    assert result.sent == ("fits",)
    assert result.failed["over"].startswith("MessageTooLong: the message is 1025 bytes")
    assert sqs_calls["SendMessageBatch"] == 1


def test_send_batch_counts_attributes_in_the_1_mib_of_a_call(sqs, sqs_calls, make_queue):
    queue = make_queue()
    # Bodies alone (10 x 100,000 bytes) would fit one call; with attributes they do not.
    outgoing = [
        OutgoingMessage(f"m{n}", "x" * 100_000, attributes={"pad": "p" * 5_000}) for n in range(10)
    ]

    result = sqs.send_batch(queue, outgoing)

    assert len(result.sent) == 10
    assert sqs_calls["SendMessageBatch"] == 2


def sent_entries(events):
    """Record the entries of every SendMessageBatch call, as botocore sends them."""
    entries = []
    events.register(
        "before-parameter-build.sqs.SendMessageBatch",
        lambda params, **_: entries.extend(params["Entries"]),
    )
    return entries


def test_send_batch_entries_carry_delay_group_deduplication_and_attributes_only_when_set(
    sqs, sqs_client, make_queue
):
    queue = make_queue()
    entries = sent_entries(sqs_client.meta.events)
    options = OutgoingMessage(
        "opts", "{}", delay_seconds=5, group_id="tenant-1", attributes={"trace": "t-1", "n": 7}
    )

    result = sqs.send_batch(queue, [OutgoingMessage("plain", "{}"), options])

    assert result.sent == ("plain", "opts")
    assert entries == [
        {"Id": "0", "MessageBody": "{}"},
        {
            "Id": "1",
            "MessageBody": "{}",
            "DelaySeconds": 5,
            "MessageGroupId": "tenant-1",
            "MessageAttributes": {
                "trace": {"DataType": "String", "StringValue": "t-1"},
                "n": {"DataType": "Number", "StringValue": "7"},
            },
        },
    ]
    assert sqs.stats(queue) == QueueStats(visible=1, in_flight=0, delayed=1)


def test_a_fifo_batch_sends_its_good_messages_though_one_lacks_a_group_id(
    sqs, sqs_client, sqs_calls, fifo_queue
):
    # moto (like SQS) would refuse the whole call for that one entry.
    queue = fifo_queue()
    entries = sent_entries(sqs_client.meta.events)
    good = OutgoingMessage("good", "{}", group_id="g", deduplication_id="d-1")

    result = sqs.send_batch(queue, [good, OutgoingMessage("bad", "{}", deduplication_id="d-2")])

    assert result.sent == ("good",)
    assert result.failed["bad"].startswith("MissingParameter: ")
    assert entries == [
        {"Id": "0", "MessageBody": "{}", "MessageGroupId": "g", "MessageDeduplicationId": "d-1"}
    ]
    assert sqs_calls["SendMessageBatch"] == 1


def test_send_batch_refuses_messages_sharing_an_id(sqs, make_queue):
    with pytest.raises(ValueError, match="distinct ids"):
        sqs.send_batch(make_queue(), [OutgoingMessage("a", "1"), OutgoingMessage("a", "2")])


# --- A missing queue --------------------------------------------------------------------------

CALLS = {
    "describe": lambda sqs, queue: sqs.describe(queue),
    "send_batch": lambda sqs, queue: sqs.send_batch(queue, messages(1)),
    "receive_batch": lambda sqs, queue: sqs.receive_batch(queue),
    "delete_batch": lambda sqs, queue: sqs.delete_batch(queue, ["receipt"]),
    "change_visibility_batch": lambda sqs, queue: sqs.change_visibility_batch(
        queue, [VisibilityChange("receipt", 0)]
    ),
    "stats": lambda sqs, queue: sqs.stats(queue),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_missing_queue_is_queue_not_found_naming_it(sqs, call):
    queue = f"p-missing-{uuid.uuid4().hex[:12]}"

    with pytest.raises(QueueNotFound) as raised:
        call(sqs, queue)

    assert raised.value.queue_names == (queue,)
    assert queue in str(raised.value)
    assert isinstance(raised.value.__cause__, ClientError)


def test_a_queue_deleted_after_it_was_resolved_is_queue_not_found(sqs, sqs_client, make_queue):
    queue = make_queue()
    url = sqs.describe(queue).url
    sqs_client.delete_queue(QueueUrl=url)

    with pytest.raises(QueueNotFound):
        sqs.send_batch(queue, messages(3))
    with pytest.raises(QueueNotFound):
        sqs.receive_batch(queue)


# --- The service out of reach -------------------------------------------------------------------


def test_a_refused_connection_is_a_queue_service_error(closed_port_url):
    sqs = SQSQueue(endpoint_url=closed_port_url, config=ONE_ATTEMPT)

    with pytest.raises(QueueServiceError) as raised:
        sqs.receive_batch("p-default")

    error = raised.value
    assert (error.operation, error.queue) == ("GetQueueUrl", "p-default")
    assert "EndpointConnectionError" in str(error)
    assert isinstance(error.__cause__, BotoCoreError)


def test_a_service_gone_after_the_queue_was_resolved_fails_receive(relay, make_queue):
    queue = make_queue()
    sqs = SQSQueue(endpoint_url=relay.url, config=ONE_ATTEMPT)
    sqs.describe(queue)
    relay.close()

    with pytest.raises(QueueServiceError) as raised:
        sqs.receive_batch(queue)

    assert (raised.value.operation, raised.value.queue) == ("ReceiveMessage", queue)
    assert isinstance(raised.value.__cause__, BotoCoreError)


def test_a_service_gone_leaves_a_send_unknown_and_the_rest_not_attempted(relay, make_queue):
    queue = make_queue()
    sqs = SQSQueue(endpoint_url=relay.url, config=ONE_ATTEMPT)
    sqs.describe(queue)
    relay.close()

    result = sqs.send_batch(queue, messages(15))

    assert result.sent == ()
    assert result.unknown == tuple(f"m{i}" for i in range(10))
    assert result.failed == {
        f"m{i}": "not attempted: an earlier batch failed" for i in range(10, 15)
    }


# --- receive_batch ------------------------------------------------------------------------------


def test_receive_batch_maps_the_message_and_counts_receives(sqs, make_queue):
    queue = make_queue()
    sqs.send_batch(queue, [OutgoingMessage("t1", "hello")])

    [first] = sqs.receive_batch(queue)
    assert (first.queue, first.body, first.receive_count) == (queue, "hello", 1)
    assert sqs.change_visibility_batch(queue, [VisibilityChange(first.receipt, 0)]) == {}
    [second] = sqs.receive_batch(queue)

    assert second.message_id == first.message_id
    assert second.receive_count == 2
    assert second.receipt != first.receipt


def test_a_long_poll_on_an_empty_queue_returns_nothing(sqs, make_queue):
    assert sqs.receive_batch(make_queue(), wait_seconds=1) == []


def test_receive_batch_asks_for_attributes_and_group_id_in_its_one_call(
    sqs, sqs_client, sqs_calls, make_queue
):
    queue = make_queue()
    sqs.describe(queue)
    asked = []
    sqs_client.meta.events.register(
        "before-parameter-build.sqs.ReceiveMessage", lambda params, **_: asked.append(params)
    )

    sqs.receive_batch(queue)

    assert sqs_calls["ReceiveMessage"] == 1
    assert asked[0]["MessageAttributeNames"] == ["All"]
    assert asked[0]["MessageSystemAttributeNames"] == ["ApproximateReceiveCount", "MessageGroupId"]


def test_receive_batch_keeps_string_and_number_attributes_of_any_custom_type(
    sqs, sqs_client, make_queue
):
    queue = make_queue()
    sqs_client.send_message(
        QueueUrl=sqs_client.get_queue_url(QueueName=queue)["QueueUrl"],
        MessageBody="{}",
        MessageGroupId="tenant-9",
        MessageAttributes={
            "plain": {"DataType": "String", "StringValue": "text"},
            "typed": {"DataType": "Number.int", "StringValue": "42"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )

    [message] = sqs.receive_batch(queue, wait_seconds=1)

    assert message.attributes == {"plain": "text", "typed": "42"}
    assert message.group_id == "tenant-9"


def test_receive_batch_takes_at_most_10_messages_20_seconds_and_12_hours_of_visibility(
    sqs, sqs_calls
):
    for arguments in (
        {"max_messages": 0},
        {"max_messages": 11},
        {"wait_seconds": 21},
        {"visibility_timeout": 43_201},
    ):
        with pytest.raises(ValueError, match="must be"):
            sqs.receive_batch("p-default", **arguments)
    assert sqs_calls == {}


def test_receive_batch_returns_at_most_max_messages(sqs, make_queue):
    queue = make_queue()
    sqs.send_batch(queue, messages(5))

    assert len(sqs.receive_batch(queue, max_messages=2)) <= 2


# --- delete_batch and change_visibility_batch -----------------------------------------------


def test_delete_batch_deletes_25_messages_in_3_calls(sqs, sqs_calls, make_queue):
    queue = make_queue()
    sqs.send_batch(queue, messages(25))
    received = receive_all(sqs, queue, 25)

    failed = sqs.delete_batch(queue, [m.receipt for m in received])

    assert failed == {}
    assert sqs_calls["DeleteMessageBatch"] == 3
    assert sqs.stats(queue) == QueueStats(visible=0, in_flight=0, delayed=0)


def test_delete_batch_reports_a_bogus_receipt_and_deletes_the_others(sqs, make_queue):
    # moto, like SQS, fails such an entry (ReceiptHandleIsInvalid, SenderFault true)
    # inside a successful call, rather than failing the call.
    queue = make_queue()
    sqs.send_batch(queue, messages(1))
    [message] = sqs.receive_batch(queue)

    failed = sqs.delete_batch(queue, ["bogus", message.receipt])

    assert list(failed) == ["bogus"]
    assert failed["bogus"].startswith("ReceiptHandleIsInvalid: ")
    assert sqs.stats(queue).in_flight == 0


def test_change_visibility_batch_reports_a_bogus_receipt_and_changes_the_others(sqs, make_queue):
    queue = make_queue()
    sqs.send_batch(queue, messages(1))
    [message] = sqs.receive_batch(queue)

    failed = sqs.change_visibility_batch(
        queue, [VisibilityChange("bogus", 0), VisibilityChange(message.receipt, 0)]
    )

    assert list(failed) == ["bogus"]
    assert failed["bogus"].startswith("ReceiptHandleIsInvalid: ")
    assert [m.message_id for m in sqs.receive_batch(queue)] == [message.message_id]


def test_receipt_batches_of_nothing_make_no_call_but_resolve_the_queue(sqs, sqs_calls, make_queue):
    queue = make_queue()

    assert sqs.delete_batch(queue, []) == {}
    assert sqs.change_visibility_batch(queue, []) == {}
    assert sqs_calls == {"CreateQueue": 1, "GetQueueUrl": 1, "GetQueueAttributes": 1}


# --- stats ------------------------------------------------------------------------------------


def test_stats_counts_visible_in_flight_and_delayed_messages(sqs, sqs_client, make_queue):
    queue = make_queue()
    sqs.send_batch(queue, messages(3))
    sqs.receive_batch(queue, max_messages=1)
    url = sqs_client.get_queue_url(QueueName=queue)["QueueUrl"]
    sqs_client.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)

    stats = sqs.stats(queue)

    assert (stats.visible, stats.in_flight, stats.delayed) == (2, 1, 1)


# --- Faults: entry failures, refused calls, no answer, 5xx ------------------------------------


class _Body:
    def __init__(self, content):
        self._content = content

    def stream(self, **_):
        yield self._content


def _answer(status, body=b"{}"):
    headers = {"content-type": "application/x-amz-json-1.0"}
    return lambda request, **_: AWSResponse(request.url, status, headers, _Body(body))


def _error_answer(status, code, message):
    body = json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": message})
    return _answer(status, body.encode())


def _raise(exception):
    def handler(request, **_):
        raise exception(endpoint_url=request.url)

    return handler


def fault_on_attempts(events, attempts, fault, operation="SendMessageBatch"):
    """Put ``fault`` in place of the server on the HTTP attempts numbered in ``attempts``."""
    numbers = itertools.count(1)

    def before_send(request, **kwargs):
        if next(numbers) in attempts:
            return fault(request=request, **kwargs)
        return None

    events.register(f"before-send.sqs.{operation}", before_send)


def fail_entries(events, bodies, *, sender_fault, calls=None):
    """Hold back the entries with these bodies, on the first ``calls`` SendMessageBatch
    calls (all when None), and report them failed, as SQS does for an entry it could
    not take. Returns the number of entries the adapter put in each call.
    """
    sizes = []

    def hold_back(params, context, **_):
        sizes.append(len(params["Entries"]))
        if calls is not None and len(sizes) > calls:
            return
        held = [e["Id"] for e in params["Entries"] if e["MessageBody"] in bodies]
        if len(held) == len(params["Entries"]):
            context["nothing_left"] = True  # SQS refuses an empty batch: answer it here
        else:
            params["Entries"] = [e for e in params["Entries"] if e["Id"] not in held]
        context["held_back"] = held

    def answer_nothing_left(context, **_):
        if context.get("nothing_left"):
            http = AWSResponse("http://injected", 200, {}, _Body(b"{}"))
            return http, {"Successful": [], "Failed": []}
        return None

    def report(parsed, context, **_):
        for entry_id in context.get("held_back", []):
            parsed.setdefault("Failed", []).append(
                {
                    "Id": entry_id,
                    "SenderFault": sender_fault,
                    "Code": "InternalError",
                    "Message": "injected",
                }
            )

    events.register("before-parameter-build.sqs.SendMessageBatch", hold_back)
    events.register("before-call.sqs.SendMessageBatch", answer_nothing_left)
    events.register("after-call.sqs.SendMessageBatch", report)
    return sizes


def test_entries_sqs_failed_on_its_side_are_retried_alone(mocked_sqs_client, make_mocked_queue):
    sqs = SQSQueue(client=mocked_sqs_client)
    queue = make_mocked_queue()
    sizes = fail_entries(mocked_sqs_client.meta.events, {"body m1"}, sender_fault=False, calls=1)

    result = sqs.send_batch(queue, messages(3))

    assert result.sent == ("m0", "m1", "m2")
    assert sizes == [3, 1]
    assert sqs.stats(queue).visible == 3


def test_entries_still_failing_after_3_retries_are_failed(mocked_sqs_client, make_mocked_queue):
    sqs = SQSQueue(client=mocked_sqs_client)
    queue = make_mocked_queue()
    sizes = fail_entries(mocked_sqs_client.meta.events, {"body m1"}, sender_fault=False)

    result = sqs.send_batch(queue, messages(3))

    assert result.sent == ("m0", "m2")
    assert result.failed == {"m1": "InternalError: injected"}
    assert sizes == [3, 1, 1, 1]


def test_entries_failed_by_the_sender_are_not_retried(mocked_sqs_client, make_mocked_queue):
    sqs = SQSQueue(client=mocked_sqs_client)
    queue = make_mocked_queue()
    sizes = fail_entries(mocked_sqs_client.meta.events, {"body m1"}, sender_fault=True)

    result = sqs.send_batch(queue, messages(3))

    assert result.failed == {"m1": "InternalError: injected"}
    assert sizes == [3]


@pytest.fixture
def one_attempt_client(moto_server):
    return boto3.client("sqs", endpoint_url=moto_server, config=ONE_ATTEMPT)


def test_a_refused_send_call_fails_its_entries_and_the_rest_are_not_attempted(
    one_attempt_client, count_calls, make_queue
):
    calls = count_calls(one_attempt_client.meta.events)
    refused = _error_answer(400, "KmsAccessDenied", "injected: no access to the key")
    fault_on_attempts(one_attempt_client.meta.events, {2}, refused)
    sqs = SQSQueue(client=one_attempt_client)
    queue = make_queue()

    result = sqs.send_batch(queue, messages(25))

    assert result.sent == tuple(f"m{i}" for i in range(10))
    assert result.failed == {
        **{f"m{i}": "KmsAccessDenied: injected: no access to the key" for i in range(10, 20)},
        **{f"m{i}": "not attempted: an earlier batch failed" for i in range(20, 25)},
    }
    assert result.unknown == ()
    assert calls["SendMessageBatch"] == 2


def test_a_send_call_that_timed_out_leaves_its_entries_unknown(one_attempt_client, make_queue):
    fault_on_attempts(one_attempt_client.meta.events, {1}, _raise(ReadTimeoutError))
    sqs = SQSQueue(client=one_attempt_client)
    queue = make_queue()

    result = sqs.send_batch(queue, messages(12))

    assert result.unknown == tuple(f"m{i}" for i in range(10))
    assert result.failed == {
        "m10": "not attempted: an earlier batch failed",
        "m11": "not attempted: an earlier batch failed",
    }
    assert result.sent == ()


def test_botocore_retries_a_5xx_answer_so_the_adapter_does_not(
    moto_server, count_calls, make_queue
):
    session = boto3.session.Session()
    calls = count_calls(session.events)
    fault_on_attempts(session.events, {1}, _error_answer(500, "InternalError", "injected"))
    sqs = SQSQueue(session=session, endpoint_url=moto_server)
    queue = make_queue()

    result = sqs.send_batch(queue, messages(2))

    assert result.sent == ("m0", "m1")
    assert calls["SendMessageBatch"] == 1
    assert sqs.stats(queue).visible == 2


def test_a_receipt_batch_call_without_answer_is_a_queue_service_error(
    one_attempt_client, make_queue
):
    fault_on_attempts(
        one_attempt_client.meta.events, {1}, _raise(ReadTimeoutError), "DeleteMessageBatch"
    )
    sqs = SQSQueue(client=one_attempt_client)
    queue = make_queue()

    with pytest.raises(QueueServiceError) as raised:
        sqs.delete_batch(queue, ["receipt"])

    assert (raised.value.operation, raised.value.queue) == ("DeleteMessageBatch", queue)
    assert "ReadTimeoutError" in str(raised.value)
