"""AWS's own extended client (amazon-sqs-extended-client) next to simple-worker, in its process.

Run by ``test_extended_client.py`` as ``python extended_client_scenarios.py SCENARIO
ENDPOINT QUEUE BUCKET [SIZE ...]``, never imported by pytest: importing
``sqs_extended_client`` replaces ``boto3.session.Session`` for the whole process,
and with it every SQS client made afterwards. The environment must point the AWS
SDK at the moto server (``AWS_ENDPOINT_URL``), since the extended client builds its
own S3 client from it. Each scenario writes one JSON object to stdout.

Scenarios:
    send: the extended client sends a task ``big`` of each SIZE characters, offloaded.
    receive: the extended client receives one message and deletes it; its body.
    same-process: the extended client sends one task of SIZE characters, and an
        `App` with ``large_payload_bucket`` runs a worker on a thread of this
        process until the task ran and its object is gone (or 30 seconds passed).
    refusals: `SQSQueue` given a client, then a session, of the extended client's.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time

import boto3
import sqs_extended_client  # noqa: F401 - imported for its process-wide patch, before simple_worker

from simple_worker import App, ConfigurationError
from simple_worker.adapters import SQSQueue

DEADLINE = 30.0
"""Seconds the same-process worker gets; a bound, not a measurement."""


def extended_client(bucket: str):
    """An SQS client of the extended client's session, offloading to ``bucket``."""
    client = boto3.client("sqs")
    client.large_payload_support = bucket
    client.delete_payload_from_s3 = True
    return client


def task_body(size: int) -> str:
    return json.dumps({"task_name": "big", "task_payload": {"blob": "x" * size}})


def send(queue: str, bucket: str, sizes: list[int]) -> dict[str, object]:
    client = extended_client(bucket)
    url = client.get_queue_url(QueueName=queue)["QueueUrl"]
    for size in sizes:
        client.send_message(QueueUrl=url, MessageBody=task_body(size))
    return {"sent": len(sizes)}


def receive(queue: str, bucket: str) -> dict[str, object]:
    client = extended_client(bucket)
    url = client.get_queue_url(QueueName=queue)["QueueUrl"]
    [message] = client.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=5
    )["Messages"]
    client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return {"body": message["Body"]}


class Warnings(logging.Handler):
    """Keeps the text of every WARNING and above that simple_worker logs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def same_process(endpoint: str, queue: str, bucket: str, size: int) -> dict[str, object]:
    warnings = Warnings()
    logging.getLogger("simple_worker").addHandler(warnings)
    app = App(sqs_endpoint_url=endpoint, large_payload_bucket=bucket)
    runs: list[int] = []
    app.register_task_handler("big", queue=queue)(lambda blob: runs.append(len(blob)))
    client = extended_client(bucket)
    client.send_message(
        QueueUrl=client.get_queue_url(QueueName=queue)["QueueUrl"], MessageBody=task_body(size)
    )
    s3 = boto3.client("s3")

    def objects() -> list[str]:
        return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]

    worker = app.worker(wait_seconds=1)
    thread = threading.Thread(target=worker.start)
    thread.start()
    deadline = time.monotonic() + DEADLINE
    while (not runs or objects()) and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    thread.join(DEADLINE)
    stats = app.queue.stats(queue)
    return {
        "runs": runs,
        "succeeded": worker.counts["succeeded"],
        "visible": stats.visible,
        "in_flight": stats.in_flight,
        "objects": objects(),
        "warnings": warnings.messages,
    }


def refusals(bucket: str) -> dict[str, object]:
    """What `SQSQueue` says of a client, and of a session, the extended client changed."""
    result: dict[str, object] = {}
    for name, options in [
        ("client", {"client": extended_client(bucket)}),
        ("session", {"session": boto3.session.Session()}),
    ]:
        try:
            SQSQueue(**options)
        except ConfigurationError as exc:
            result[name] = str(exc)
        else:
            result[name] = None
    return result


def main() -> None:
    scenario, endpoint, queue, bucket, *sizes = sys.argv[1:]
    if scenario == "send":
        result = send(queue, bucket, [int(size) for size in sizes])
    elif scenario == "receive":
        result = receive(queue, bucket)
    elif scenario == "refusals":
        result = refusals(bucket)
    else:
        result = same_process(endpoint, queue, bucket, int(sizes[0]))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
