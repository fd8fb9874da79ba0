"""The producer's batches in flight, send window and async producer against the moto server."""

import asyncio
import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from simple_worker import App

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


def drain(sqs_client, url, expected):
    """Receive (and delete) messages until ``expected`` came; return the bodies in order."""
    bodies = []
    for _ in range(expected * 2):
        if len(bodies) >= expected:
            break
        messages = sqs_client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs_client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


@pytest.fixture
def prefix():
    return f"producer-{uuid.uuid4().hex[:8]}-"


def queue_url(sqs_client, name, **attributes):
    return sqs_client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def test_add_tasks_with_batches_in_flight_sends_every_task_once(moto_server, sqs_client, prefix):
    url = queue_url(sqs_client, prefix + "default")
    app = App(queue_prefix=prefix, sqs_endpoint_url=moto_server, send_concurrency=8)
    app.register_task_handler("t")(lambda n: None)

    ids = app.add_tasks("t", [{"n": n} for n in range(120)])

    bodies = drain(sqs_client, url, 120)
    assert sorted(b["task_id"] for b in bodies) == sorted(ids)


def test_add_tasks_keeps_each_fifo_groups_order_with_batches_in_flight(
    moto_server, sqs_client, prefix
):
    url = queue_url(sqs_client, prefix + "jobs.fifo", FifoQueue="true")
    app = App(queue_prefix=prefix, sqs_endpoint_url=moto_server, send_concurrency=8)
    app.register_task_handler("t", queue="jobs.fifo", group_by="g")(lambda g, n: None)
    groups = ["a", "b", "c", "a", "a", "d", "b"] * 12

    app.add_tasks("t", [{"g": g, "n": n} for n, g in enumerate(groups)])

    bodies = drain(sqs_client, url, len(groups))
    assert len(bodies) == len(groups)
    for group in set(groups):
        received = [b["task_payload"]["n"] for b in bodies if b["task_payload"]["g"] == group]
        assert received == [n for n, g in enumerate(groups) if g == group]


def test_threads_in_the_send_window_share_calls_and_each_task_arrives(
    moto_server, sqs_client, prefix
):
    url = queue_url(sqs_client, prefix + "default")
    app = App(queue_prefix=prefix, sqs_endpoint_url=moto_server, send_window=0.01)
    app.register_task_handler("t")(lambda n: None)
    ids = {}

    def call(n):
        ids[n] = app.add_task("t", n=n)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    app.close()

    bodies = drain(sqs_client, url, 30)
    assert sorted(b["task_id"] for b in bodies) == sorted(ids.values())


def test_tasks_in_the_window_at_exit_are_sent_by_the_flush_at_exit(moto_server, sqs_client, prefix):
    url = queue_url(sqs_client, prefix + "default")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}

    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(HERE / "exit_with_tasks_in_window.py"), moto_server, prefix, "5"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"  # five waited in the window as the process exited
    bodies = drain(sqs_client, url, 6)
    assert sorted(b["task_payload"]["n"] for b in bodies) == [-1, 0, 1, 2, 3, 4]


def test_a_hundred_coroutines_enqueue_through_sqs_each_once(moto_server, sqs_client, prefix):
    url = queue_url(sqs_client, prefix + "default")
    app = App(queue_prefix=prefix, sqs_endpoint_url=moto_server)
    app.register_task_handler("t")(lambda n: None)

    async def enqueue():
        return await asyncio.gather(*(app.add_task_async("t", n=n) for n in range(100)))

    ids = asyncio.run(enqueue())
    app.close()

    bodies = drain(sqs_client, url, 100)
    assert sorted(b["task_id"] for b in bodies) == sorted(ids)
