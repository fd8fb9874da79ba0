"""simple-worker end to end against a local SQS emulator; run it with ``scripts/demo``.

It starts a moto SQS server on 127.0.0.1 and then does what you would do, with
the ``simple-worker`` command: create the queues (each with a dead-letter
queue), enqueue tasks (and one poison message), look at the queues, run a
worker that drains them, watch the poison message reach the dead-letter queue,
and stop the worker with SIGTERM. Each command is printed before it runs.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from moto.server import ThreadedMotoServer

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

HERE = Path(__file__).resolve().parent
APP = "demo_app:app"
COMMAND = [sys.executable, "-m", "simple_worker"]
PER_TASK_LINES = ("Processed task ",)
"""The worker's line for each task at INFO: too many to show for hundreds of tasks."""


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
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="demo",
        AWS_SECRET_ACCESS_KEY="demo",  # noqa: S106 - the emulator's dummy credentials
    )
    print(f"SQS emulator on {os.environ['AWS_ENDPOINT_URL_SQS']} (AWS_ENDPOINT_URL_SQS)")
    try:
        return run(args.tasks)
    finally:
        server.stop()


def simple_worker(*arguments: str) -> None:
    """Run ``simple-worker ARGUMENTS`` as you would, showing the command and its output."""
    print(f"\n$ simple-worker {shlex.join(arguments)}", flush=True)
    subprocess.run([*COMMAND, *arguments], cwd=HERE, check=True)  # noqa: S603 - our command


def run(task_count: int) -> int:
    """Create the queues, enqueue, drain and stop; print what happened."""
    simple_worker("queues", "create", APP, "--max-receive-count", "3")
    simple_worker("enqueue", APP, "resize_image", "image_id=1", "width=640")

    sys.path.insert(0, str(HERE))
    from demo_app import app  # noqa: PLC0415 - needs the environment set above

    sqs = app.queue.client  # the SQS adapter's boto3 client, for what the demo does by hand
    calls: collections.Counter[str] = collections.Counter()
    sqs.meta.events.register("before-call.sqs.*", lambda model, **_: calls.update([model.name]))
    started = time.monotonic()
    app.add_tasks("resize_image", [{"image_id": n, "width": 640} for n in range(task_count)])
    print(
        f"\nEnqueued {task_count} more from Python, app.add_tasks(...), in "
        f"{time.monotonic() - started:.2f} s: {dict(calls)}"
    )
    poison = '{"task_name": "resize_image", "task_payload": {"image": 1}}'
    sqs.send_message(
        QueueUrl=sqs.get_queue_url(QueueName="demo-default")["QueueUrl"], MessageBody=poison
    )
    print(f"Sent one poison message by hand (its payload does not fit the handler): {poison}")
    simple_worker("stats", APP)

    worker_command = ("worker", APP, "--threads", "4", "--wait-seconds", "1")
    print(f"\n$ simple-worker {shlex.join(worker_command)}   (its per-task lines hidden)")
    worker = subprocess.Popen(  # noqa: S603 - our own command
        [*COMMAND, *worker_command], cwd=HERE, stderr=subprocess.PIPE, text=True
    )
    relay = threading.Thread(target=show_worker_lines, args=(worker,), daemon=True)
    relay.start()
    total = task_count + 2
    started = time.monotonic()
    while True:
        waiting, dead = messages(sqs, "demo-default"), messages(sqs, "demo-default-dlq")
        done = max(total - waiting - dead, 0)  # counts are approximate
        print(f"  progress: {done:4d}/{total} done, {waiting:4d} waiting, {dead} dead-lettered")
        if waiting == 0 and dead == 1:
            break
        if worker.poll() is not None:
            print("The worker exited early.")
            return 1
        time.sleep(0.5)
    drain_seconds = time.monotonic() - started

    print("\nSending SIGTERM to the worker: it stops gracefully.")
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)
    relay.join(timeout=5)
    print(f"The worker exited with status {worker.returncode}.")
    print(f"Drained {total} tasks in {drain_seconds:.1f} s, the worker's start-up included.")
    simple_worker("stats", APP)
    print(
        "\nThe poison message is in demo-default-dlq: after a fix, "
        f"simple-worker redrive {APP} --queue default moves it back."
    )
    return worker.returncode


def show_worker_lines(worker: subprocess.Popen[str]) -> None:
    """Print the worker's log lines, indented, but not one pair per task."""
    assert worker.stderr is not None  # noqa: S101 - Popen(stderr=PIPE) above
    for line in worker.stderr:
        if not any(marker in line for marker in PER_TASK_LINES):
            print(f"    worker | {line.rstrip()}", flush=True)


def messages(sqs: SQSClient, queue: str) -> int:
    """Return the messages in a queue, visible or in flight."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


if __name__ == "__main__":
    sys.exit(main())
