"""bench/fast_sqs.py is faithful where SQSQueue cares: the QueuePort contract and more, over HTTP.

The emulator is imported by path, as bench/ is not a package. The integration
conftest's autouse fixture gives every client here dummy credentials.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from simple_worker.adapters.sqs._queue import SQSQueue
from simple_worker.domain._errors import QueueNotFound
from simple_worker.ports.queue import OutgoingMessage, QueueStats, VisibilityChange
from simple_worker.testing.queue_contract import QueuePortContract

REGION = "us-east-1"
FAST_SQS_PATH = Path(__file__).parents[3] / "bench" / "fast_sqs.py"


def _load_fast_sqs():
    spec = importlib.util.spec_from_file_location("bench_fast_sqs", FAST_SQS_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fast_sqs = _load_fast_sqs()


@pytest.fixture(scope="module")
def fast():
    with fast_sqs.FastSQS() as server:
        yield server


@pytest.fixture
def client(fast):
    return boto3.client("sqs", endpoint_url=fast.url, region_name=REGION)


@pytest.fixture
def make_queue(client):
    def make(prefix="fast", **attributes):
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        client.create_queue(
            QueueName=name, Attributes={key: str(value) for key, value in attributes.items()}
        )
        return name

    return make


@pytest.fixture
def sqs(client):
    return SQSQueue(client=client)


def _url(client, name):
    return client.get_queue_url(QueueName=name)["QueueUrl"]


def _arn(client, name):
    attributes = client.get_queue_attributes(QueueUrl=_url(client, name), AttributeNames=["All"])
    return attributes["Attributes"]["QueueArn"]


class TestSQSQueueOnFastSQS(QueuePortContract):
    @pytest.fixture
    def queue_port(self, fast):
        return SQSQueue(client=boto3.client("sqs", endpoint_url=fast.url, region_name=REGION))

    @pytest.fixture
    def new_queue(self, make_queue):
        def create(visibility_timeout=30):
            return make_queue("contract", VisibilityTimeout=visibility_timeout)

        return create


# --- Redrive --------------------------------------------------------------------------


def test_a_message_received_max_receive_count_times_moves_to_the_dead_letter_queue(
    client, sqs, make_queue
):
    dead_letters = make_queue("dlq")
    policy = {"deadLetterTargetArn": _arn(client, dead_letters), "maxReceiveCount": 2}
    queue = make_queue(RedrivePolicy=json.dumps(policy))
    sqs.send_batch(queue, [OutgoingMessage("m", '{"n": 1}')])

    receive_counts = []
    for _ in range(2):
        (message,) = sqs.receive_batch(queue, wait_seconds=1)
        receive_counts.append(message.receive_count)
        assert sqs.change_visibility_batch(queue, [VisibilityChange(message.receipt, 0)]) == {}

    assert sqs.receive_batch(queue, wait_seconds=0) == []
    (moved,) = sqs.receive_batch(dead_letters, wait_seconds=1)
    assert receive_counts == [1, 2]
    assert (moved.message_id, moved.body) == (message.message_id, '{"n": 1}')
    assert sqs.stats(queue) == QueueStats(visible=0, in_flight=0, delayed=0)
    assert sqs.stats(dead_letters) == QueueStats(visible=0, in_flight=1, delayed=0)


def test_describe_reads_the_redrive_policy(client, sqs, make_queue):
    dead_letters = make_queue("dlq")
    policy = {"deadLetterTargetArn": _arn(client, dead_letters), "maxReceiveCount": "5"}
    queue = make_queue(RedrivePolicy=json.dumps(policy), VisibilityTimeout=45)

    info = sqs.describe(queue)

    assert (info.dead_letter_queue, info.max_receive_count) == (dead_letters, 5)
    assert (info.visibility_timeout, info.max_message_size) == (45, 1_048_576)


def test_a_redrive_policy_to_a_missing_queue_is_refused(client):
    policy = {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:nope",
        "maxReceiveCount": 2,
    }

    with pytest.raises(ClientError) as raised:
        client.create_queue(QueueName="orphan", Attributes={"RedrivePolicy": json.dumps(policy)})

    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"


# --- Missing queues -------------------------------------------------------------------


def test_a_missing_queue_raises_queue_not_found(sqs):
    with pytest.raises(QueueNotFound) as raised:
        sqs.describe("fast-missing")

    assert "fast-missing" in raised.value.queue_names


def test_a_queue_deleted_after_describe_raises_queue_not_found(client, sqs, make_queue):
    queue = make_queue()
    sqs.describe(queue)
    client.delete_queue(QueueUrl=_url(client, queue))

    with pytest.raises(QueueNotFound):
        sqs.receive_batch(queue)
    with pytest.raises(QueueNotFound):
        sqs.send_batch(queue, [OutgoingMessage("m", "{}")])


def test_a_missing_queue_error_has_the_codes_sqs_and_moto_give(client):
    with pytest.raises(client.exceptions.QueueDoesNotExist) as raised:
        client.get_queue_url(QueueName="fast-missing")

    error = raised.value.response["Error"]
    assert error["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error["QueryErrorCode"] == "QueueDoesNotExist"
    assert error["Type"] == "Sender"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# --- Long polling ---------------------------------------------------------------------


def test_a_long_poll_returns_when_a_message_arrives(fast, sqs, make_queue):
    queue = make_queue()
    sqs.describe(queue)  # so the receive below makes one call, the long poll
    received = []
    poll = threading.Thread(
        target=lambda: received.extend(sqs.receive_batch(queue, wait_seconds=20))
    )
    poll.start()
    while fast.waiting(queue) == 0 and poll.is_alive():
        time.sleep(0.005)
    assert fast.waiting(queue) == 1  # the poll is waiting, not finished

    sqs.send_batch(queue, [OutgoingMessage("m", '{"late": true}')])
    poll.join(10)  # well before the 20 s wait ends, or the poll did not wake

    assert not poll.is_alive()
    assert [message.body for message in received] == ['{"late": true}']


def test_a_long_poll_returns_when_an_in_flight_message_turns_visible(client, make_queue):
    url = _url(client, make_queue())
    client.send_message(QueueUrl=url, MessageBody="again")
    client.receive_message(QueueUrl=url, VisibilityTimeout=1)

    again = client.receive_message(
        QueueUrl=url, WaitTimeSeconds=10, MessageSystemAttributeNames=["ApproximateReceiveCount"]
    )

    assert [m["Attributes"]["ApproximateReceiveCount"] for m in again["Messages"]] == ["2"]


def test_a_delayed_message_is_counted_as_delayed_then_received(client, sqs, make_queue):
    queue = make_queue()
    url = _url(client, queue)
    client.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)

    assert sqs.stats(queue) == QueueStats(visible=0, in_flight=0, delayed=1)
    assert [m.body for m in sqs.receive_batch(queue, wait_seconds=10)] == ["later"]


# --- Shapes SQSQueue reads ------------------------------------------------------------


def test_receive_gives_the_system_attributes_asked_for_and_no_others(client, make_queue):
    url = _url(client, make_queue())
    client.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "a"}, {"Id": "b", "MessageBody": "b"}]
    )

    plain = client.receive_message(QueueUrl=url)["Messages"][0]
    every = client.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]

    assert "Attributes" not in plain
    assert set(every["Attributes"]) == {
        "SenderId",
        "SentTimestamp",
        "ApproximateReceiveCount",
        "ApproximateFirstReceiveTimestamp",
    }


def test_message_attributes_come_back_as_asked_with_the_md5_sqs_gives(client, make_queue):
    url = _url(client, make_queue())
    attributes = {
        "s": {"DataType": "String", "StringValue": "v"},
        "n": {"DataType": "Number", "StringValue": "5"},
        "other.b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
    }
    sent = client.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attributes)

    [by_prefix] = client.receive_message(QueueUrl=url, MessageAttributeNames=["other.*", "s"])[
        "Messages"
    ]
    client.change_message_visibility(
        QueueUrl=url, ReceiptHandle=by_prefix["ReceiptHandle"], VisibilityTimeout=0
    )
    [every] = client.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]

    assert set(by_prefix["MessageAttributes"]) == {"s", "other.b"}
    assert every["MessageAttributes"] == attributes
    assert every["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    # What moto (and SQS) answer for these two attributes alone:
    two = {name: attributes[name] for name in ("s", "n")}
    two_sent = client.send_message(QueueUrl=url, MessageBody="y", MessageAttributes=two)
    assert two_sent["MD5OfMessageAttributes"] == "27904574a970207194f6432eb623d5ab"


def test_bad_message_attributes_fail_their_entry_alone(client, make_queue):
    url = _url(client, make_queue())
    string = {"DataType": "String", "StringValue": "v"}

    result = client.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok", "MessageBody": "x", "MessageAttributes": {"a": string}},
            {
                "Id": "many",
                "MessageBody": "x",
                "MessageAttributes": {f"a{n}": string for n in range(11)},
            },
            {"Id": "aws", "MessageBody": "x", "MessageAttributes": {"AWS.x": string}},
            {
                "Id": "empty",
                "MessageBody": "x",
                "MessageAttributes": {"a": {"DataType": "String", "StringValue": ""}},
            },
        ],
    )

    assert [entry["Id"] for entry in result["Successful"]] == ["ok"]
    assert {(e["Id"], e["Code"]) for e in result["Failed"]} == {
        ("many", "InvalidParameterValue"),
        ("aws", "InvalidParameterValue"),
        ("empty", "InvalidParameterValue"),
    }


def test_a_group_id_on_a_standard_queue_is_kept_and_returned_when_asked(client, make_queue):
    url = _url(client, make_queue())
    client.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="tenant-1")

    [message] = client.receive_message(
        QueueUrl=url, MessageSystemAttributeNames=["MessageGroupId"]
    )["Messages"]

    assert message["Attributes"] == {"MessageGroupId": "tenant-1"}


def test_a_receive_with_visibility_timeout_zero_leaves_the_message_visible(client, make_queue):
    url = _url(client, make_queue())
    client.send_message(QueueUrl=url, MessageBody="x")

    first = client.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]
    second = client.receive_message(QueueUrl=url)["Messages"][0]

    assert first["MessageId"] == second["MessageId"]
    assert first["ReceiptHandle"] != second["ReceiptHandle"]


def test_batch_entries_with_unknown_receipts_fail_alone_as_on_sqs(client, make_queue):
    url = _url(client, make_queue())
    client.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "a"}, {"Id": "b", "MessageBody": "b"}]
    )
    first, second = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]

    changed = client.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "0", "ReceiptHandle": first["ReceiptHandle"], "VisibilityTimeout": 60},
            {"Id": "1", "ReceiptHandle": "made-up", "VisibilityTimeout": 0},
        ],
    )
    deleted = client.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "0", "ReceiptHandle": second["ReceiptHandle"]},
            {"Id": "1", "ReceiptHandle": "made-up"},
        ],
    )

    for result in (changed, deleted):
        assert result["Successful"] == [{"Id": "0"}]
        (failed,) = result["Failed"]
        assert (failed["Id"], failed["Code"], failed["SenderFault"]) == (
            "1",
            "ReceiptHandleIsInvalid",
            True,
        )


def test_deleting_a_message_twice_succeeds_as_on_sqs(client, make_queue):
    url = _url(client, make_queue())
    client.send_message(QueueUrl=url, MessageBody="x")
    receipt = client.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]

    client.delete_message(QueueUrl=url, ReceiptHandle=receipt)
    client.delete_message(QueueUrl=url, ReceiptHandle=receipt)

    with pytest.raises(client.exceptions.ReceiptHandleIsInvalid):
        client.delete_message(QueueUrl=url, ReceiptHandle="made-up")


def test_send_batch_answers_md5_and_message_ids_by_entry_id(client, make_queue):
    url = _url(client, make_queue())

    result = client.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "x1", "MessageBody": "héllo"}, {"Id": "x2", "MessageBody": "x"}],
    )

    assert [entry["Id"] for entry in result["Successful"]] == ["x1", "x2"]
    assert result["Successful"][0]["MD5OfMessageBody"] == "be50e8478cf24ff3595bc7307fb91b50"
    assert result["Failed"] == []


def test_a_batch_with_repeated_ids_fails_whole(client, make_queue):
    url = _url(client, make_queue())
    entries = [{"Id": "a", "MessageBody": "1"}, {"Id": "a", "MessageBody": "2"}]

    with pytest.raises(client.exceptions.BatchEntryIdsNotDistinct):
        client.send_message_batch(QueueUrl=url, Entries=entries)


def test_counts_stay_exact_through_a_large_backlog(client, sqs, make_queue):
    queue = make_queue()
    url = _url(client, queue)
    for start in range(0, 1500, 10):
        entries = [{"Id": str(n), "MessageBody": str(start + n)} for n in range(10)]
        client.send_message_batch(QueueUrl=url, Entries=entries)

    receipts = []
    for _ in range(30):
        messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        receipts += [message["ReceiptHandle"] for message in messages]
    assert sqs.delete_batch(queue, receipts[:200]) == {}
    released = [VisibilityChange(receipt, 0) for receipt in receipts[200:]]
    assert sqs.change_visibility_batch(queue, released) == {}

    assert sqs.stats(queue) == QueueStats(visible=1300, in_flight=0, delayed=0)
    client.purge_queue(QueueUrl=url)
    assert sqs.stats(queue) == QueueStats(visible=0, in_flight=0, delayed=0)


def test_list_queues_by_prefix(client, make_queue):
    prefix = f"listed-{uuid.uuid4().hex[:8]}"
    names = sorted(make_queue(prefix) for _ in range(3))

    urls = client.list_queues(QueueNamePrefix=prefix)["QueueUrls"]
    page = client.list_queues(QueueNamePrefix=prefix, MaxResults=2)

    assert [url.rsplit("/", 1)[-1] for url in urls] == names
    assert len(page["QueueUrls"]) == 2
    assert "NextToken" in page


# --- As the benchmark runs it ---------------------------------------------------------


def test_the_script_serves_in_the_foreground_until_terminated():
    process = subprocess.Popen(  # noqa: S603 - this interpreter, this repository's file
        [sys.executable, str(FAST_SQS_PATH), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        client = boto3.client("sqs", endpoint_url=url, region_name=REGION)
        assert client.create_queue(QueueName="script")["QueueUrl"].endswith("/script")
    finally:
        process.terminate()
        process.communicate(timeout=10)

    assert process.returncode == 0
