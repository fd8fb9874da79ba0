"""simple-worker end to end against a local SQS emulator; run it with ``scripts/demo``.

It starts a moto SQS server on 127.0.0.1, creates a queue with a dead-letter
queue, enqueues tasks and one poison message, runs a worker process that drains
them while this script shows progress, watches the poison message reach the
dead-letter queue, and stops the worker with SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from moto.server import ThreadedMotoServer

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

HERE = Path(__file__).resolve().parent
QUEUE, DEAD_LETTER_QUEUE = "demo-default", "demo-default-dlq"


def main() -> int:
    """Run the demo; return the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300, help="how many tasks to enqueue")
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        AWS_ENDPOINT_URL_SQS=f"http://{host}:{port}",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="demo",
        AWS_SECRET_ACCESS_KEY="demo",  # noqa: S106 - the emulator's dummy credentials
    )
    try:
        return run(args.tasks)
    finally:
        server.stop()


def run(task_count: int) -> int:
    """Enqueue, drain and stop; print what happened."""
    sys.path.insert(0, str(HERE))
    from demo_app import build_app  # noqa: PLC0415 - needs the environment set above

    sqs = boto3.client("sqs")
    urls = create_queues(sqs)
    print(
        f"SQS emulator on {os.environ['AWS_ENDPOINT_URL_SQS']}; queues {QUEUE}, {DEAD_LETTER_QUEUE}"
    )

    app, producer_calls = build_app()
    started = time.monotonic()
    app.add_tasks("resize_image", [{"image_id": n, "width": 640} for n in range(task_count)])
    enqueue_seconds = time.monotonic() - started
    print(f"Enqueued {task_count} tasks in {enqueue_seconds:.2f} s: {dict(producer_calls)}")
    poison = '{"task_name": "resize_image", "task_payload": {"image": 1}}'
    sqs.send_message(QueueUrl=urls[QUEUE], MessageBody=poison)
    print(f"Sent one poison message (its payload does not fit the handler): {poison}")

    worker = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(HERE / "demo_worker.py")],
        stdout=subprocess.PIPE,
        text=True,
    )
    started = time.monotonic()
    while True:
        waiting, dead = count(sqs, urls[QUEUE]), count(sqs, urls[DEAD_LETTER_QUEUE])
        done = max(task_count + 1 - waiting - dead, 0)  # counts are approximate
        print(
            f"  progress: {done:4d}/{task_count} done, {waiting:4d} waiting, {dead} dead-lettered"
        )
        if waiting == 0 and dead == 1:
            break
        if worker.poll() is not None:
            print("The worker exited early.")
            return 1
        time.sleep(0.5)
    drain_seconds = time.monotonic() - started

    worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=30)
    worker_calls = json.loads(output.strip().splitlines()[-1])
    dead_letter = sqs.receive_message(QueueUrl=urls[DEAD_LETTER_QUEUE])["Messages"][0]["Body"]

    print(f"Dead-letter queue holds: {dead_letter}")
    print(f"Worker exited with status {worker.returncode} after SIGTERM.")
    print(
        f"Drained {task_count} tasks in {drain_seconds:.1f} s (including the worker's start-up); "
        f"worker SQS calls: {worker_calls} = "
        f"{sum(worker_calls.values()) / task_count:.3f} calls per task"
    )
    return worker.returncode


def create_queues(sqs: SQSClient) -> dict[str, str]:
    """Create the demo queue and its dead-letter queue (an operator's job, not the library's)."""
    dead_url = sqs.create_queue(QueueName=DEAD_LETTER_QUEUE)["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "3"})
    url = sqs.create_queue(
        QueueName=QUEUE, Attributes={"VisibilityTimeout": "30", "RedrivePolicy": redrive}
    )["QueueUrl"]
    return {QUEUE: url, DEAD_LETTER_QUEUE: dead_url}


def count(sqs: SQSClient, url: str) -> int:
    """Return the messages in a queue, visible or in flight."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


if __name__ == "__main__":
    sys.exit(main())
