"""Large payloads end to end: `App` with a bucket, moto's SQS and S3 over HTTP, a real worker."""

import json
import uuid

import pytest

from simple_worker import App, MessageTooLarge

BLOB = "x" * (2 * 1024 * 1024)
POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"
# Seconds: 2 MiB bodies through moto over HTTP take longer than the fixtures' defaults allow.
TIMEOUT = 15.0
POLL = 0.05


def keys(s3_client, bucket):
    return [item["Key"] for item in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture
def bucket(make_bucket):
    return make_bucket("large")


@pytest.fixture
def queue_name(make_queue):
    return make_queue("large", VisibilityTimeout=30)


@pytest.fixture
def app(moto_server, bucket):
    return App(sqs_endpoint_url=moto_server, large_payload_bucket=bucket)


def test_a_2_mib_task_runs_on_a_worker_with_its_full_payload_then_its_object_is_gone(
    app, queue_name, bucket, s3_client, wait_until, worker_running
):
    received = []
    app.register_task_handler("big", queue=queue_name)(lambda blob: received.append(blob))

    app.add_task("big", blob=BLOB)
    assert len(keys(s3_client, bucket)) == 1

    with worker_running(app.worker(wait_seconds=1), timeout=TIMEOUT) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 1, timeout=TIMEOUT, interval=POLL)
        wait_until(lambda: keys(s3_client, bucket) == [], timeout=TIMEOUT, interval=POLL)

    assert received == [BLOB]
    assert app.queue.stats(queue_name).visible == 0


def test_a_failing_handler_leaves_the_object_for_the_next_delivery(
    app, queue_name, bucket, s3_client, wait_until, worker_running
):
    app.register_task_handler("big", queue=queue_name)(lambda blob: 1 / 0)

    app.add_task("big", blob=BLOB)
    with worker_running(app.worker(wait_seconds=1), timeout=TIMEOUT) as worker:
        wait_until(lambda: worker.counts["failed"] == 1, timeout=TIMEOUT, interval=POLL)

    assert len(keys(s3_client, bucket)) == 1
    assert app.queue.stats(queue_name).in_flight == 1


def test_without_a_bucket_a_2_mib_task_is_too_large(moto_server, queue_name):
    app = App(sqs_endpoint_url=moto_server)
    app.register_task_handler("big", queue=queue_name)(lambda blob: None)

    with pytest.raises(MessageTooLarge):
        app.add_task("big", blob=BLOB)

    assert app.queue.stats(queue_name).visible == 0


def test_the_message_is_what_the_extended_client_libraries_read(
    app, queue_name, bucket, sqs_client, s3_client
):
    app.register_task_handler("big", queue=queue_name)(lambda blob: None)
    task_id = app.add_task("big", blob=BLOB)

    url = sqs_client.get_queue_url(QueueName=queue_name)["QueueUrl"]
    response = sqs_client.receive_message(QueueUrl=url, MessageAttributeNames=["All"])
    [message] = response["Messages"]
    kind, fields = json.loads(message["Body"])
    stored = s3_client.get_object(Bucket=fields["s3BucketName"], Key=fields["s3Key"])
    envelope = stored["Body"].read()
    assert kind == POINTER_CLASS
    assert fields["s3BucketName"] == bucket
    assert message["MessageAttributes"]["ExtendedPayloadSize"] == {
        "DataType": "Number",
        "StringValue": str(len(envelope)),
    }
    assert json.loads(envelope)["task_id"] == task_id
    assert json.loads(envelope)["task_payload"] == {"blob": BLOB}


@pytest.mark.parametrize(
    ("pointer_class", "size_attribute"),
    [
        (POINTER_CLASS, "ExtendedPayloadSize"),
        ("com.amazon.sqs.javamessaging.MessageS3Pointer", "SQSLargePayloadSize"),
    ],
)
def test_a_task_sent_as_an_extended_client_sends_it_runs_and_its_object_is_deleted(
    app, queue_name, bucket, sqs_client, s3_client, pointer_class, size_attribute
):
    received = []
    app.register_task_handler("big", queue=queue_name)(lambda blob: received.append(blob))
    envelope = json.dumps({"task_name": "big", "task_payload": {"blob": BLOB}}).encode()
    key = str(uuid.uuid4())
    s3_client.put_object(Bucket=bucket, Key=key, Body=envelope)
    sqs_client.send_message(
        QueueUrl=sqs_client.get_queue_url(QueueName=queue_name)["QueueUrl"],
        MessageBody=json.dumps([pointer_class, {"s3BucketName": bucket, "s3Key": key}]),
        MessageAttributes={
            size_attribute: {"DataType": "Number", "StringValue": str(len(envelope))}
        },
    )

    report = app.testing_worker().run_all()

    assert received == [BLOB]
    assert len(report.succeeded) == 1
    assert keys(s3_client, bucket) == []


@pytest.mark.parametrize("size_attribute", ["ExtendedPayloadSize", "SQSLargePayloadSize"])
def test_a_task_envelope_with_a_size_attribute_runs_as_a_task(
    app, queue_name, bucket, sqs_client, s3_client, size_attribute
):
    received = []
    app.register_task_handler("small", queue=queue_name)(lambda n: received.append(n))
    sqs_client.send_message(
        QueueUrl=sqs_client.get_queue_url(QueueName=queue_name)["QueueUrl"],
        MessageBody=json.dumps({"task_name": "small", "task_payload": {"n": 7}, "v": 1}),
        MessageAttributes={size_attribute: {"DataType": "Number", "StringValue": "2097152"}},
    )

    report = app.testing_worker().run_all()

    assert received == [7]
    assert len(report.succeeded) == 1
    assert keys(s3_client, bucket) == []
