"""FIFO queues end to end on the moto server: group order under threads, deduplication.

Tasks go through the port (`SQSQueue.send_batch` with group ids) and through the
app (``with_options(group_id=...)``); a real `Worker` with four threads runs them
in this process.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter

import pytest

from simple_worker import App
from simple_worker.adapters.sqs._queue import SQSQueue
from simple_worker.ports.queue import OutgoingMessage, QueueStats

GROUPS = ["a", "b", "c", "d"]
PER_GROUP = 10


@pytest.fixture
def fifo_app(sqs_client):
    """An app on the moto server whose ``jobs.fifo`` queue (with a FIFO DLQ) exists."""
    prefix = f"fifo-{uuid.uuid4().hex[:8]}-"
    dlq = sqs_client.create_queue(
        QueueName=f"{prefix}jobs-dlq.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    dlq_arn = sqs_client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})
    queue = sqs_client.create_queue(
        QueueName=f"{prefix}jobs.fifo",
        Attributes={"FifoQueue": "true", "RedrivePolicy": policy, "VisibilityTimeout": "30"},
    )["QueueUrl"]
    yield App(queue_prefix=prefix, queue=SQSQueue(client=sqs_client))
    for url in (queue, dlq):
        sqs_client.delete_queue(QueueUrl=url)


class Recorder:
    """Records each task's (group, seq) as it starts, and any overlap within a group."""

    def __init__(self):
        self.started = []
        self.overlaps = []
        self._running = Counter()
        self._lock = threading.Lock()

    def start(self, group, seq):
        with self._lock:
            self.started.append((group, seq))
            self._running[group] += 1
            if self._running[group] > 1:
                self.overlaps.append((group, seq))

    def end(self, group):
        with self._lock:
            self._running[group] -= 1

    def order(self, group):
        with self._lock:
            return [seq for g, seq in self.started if g == group]

    def count(self):
        with self._lock:
            return len(self.started)


def run_until(worker, done, timeout=30.0):
    thread = threading.Thread(target=worker.start)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, "the tasks did not all run in time"
            time.sleep(0.02)
    finally:
        worker.stop()
        thread.join(15)
    assert not thread.is_alive(), "the worker did not stop"


def test_each_groups_tasks_run_in_order_while_groups_run_side_by_side(fifo_app):
    recorder = Recorder()
    # The first tasks of two groups meet here: only groups running side by side get past.
    meeting = threading.Barrier(2, timeout=10)

    @fifo_app.register_task_handler("record", queue="jobs.fifo")
    def record(group, seq):
        recorder.start(group, seq)
        try:
            if seq == 0 and group in ("a", "b"):
                meeting.wait()
            time.sleep(0.002)  # long enough for another thread to try the group's next one
        finally:
            recorder.end(group)

    queue = f"{fifo_app.queue_prefix}jobs.fifo"
    messages = [
        OutgoingMessage(
            id=f"{group}-{seq}",
            body=json.dumps({"task_name": "record", "task_payload": {"group": group, "seq": seq}}),
            group_id=group,
            deduplication_id=f"{group}-{seq}",
        )
        for seq in range(PER_GROUP)
        for group in GROUPS
    ]
    assert len(fifo_app.queue.send_batch(queue, messages).sent) == len(messages)

    worker = fifo_app.worker(threads=4, wait_seconds=1)
    run_until(worker, lambda: worker.counts["succeeded"] == len(messages))

    assert recorder.overlaps == []
    assert {group: recorder.order(group) for group in GROUPS} == {
        group: list(range(PER_GROUP)) for group in GROUPS
    }
    assert worker.counts["failed"] == 0


def test_a_task_sent_twice_within_five_minutes_runs_once(fifo_app):
    recorder = Recorder()

    @fifo_app.register_task_handler("record", queue="jobs.fifo")
    def record(group, seq):
        recorder.start(group, seq)
        recorder.end(group)

    queue = f"{fifo_app.queue_prefix}jobs.fifo"
    same_id = [
        OutgoingMessage(
            id=f"copy-{n}",
            body=json.dumps({"task_name": "record", "task_payload": {"group": "x", "seq": n}}),
            group_id="x",
            deduplication_id="one-id",
        )
        for n in range(2)
    ]
    sent = [fifo_app.queue.send_batch(queue, [message]).sent for message in same_id]
    # The app's default deduplication id is a hash of the task's name and payload.
    sender = fifo_app.with_options(group_id="y")
    ids = [sender.add_task("record", group="y", seq=n) for n in (0, 0, 1)]

    worker = fifo_app.worker(threads=4, wait_seconds=1)
    run_until(worker, lambda: recorder.count() >= 3)

    assert fifo_app.queue.stats(queue) == QueueStats(visible=0, in_flight=0, delayed=0)
    assert sent == [("copy-0",), ("copy-1",)]  # the copy is reported sent, and dropped
    assert len(set(ids)) == 3
    assert sorted(recorder.started) == [("x", 0), ("y", 0), ("y", 1)]
    assert worker.counts["succeeded"] == 3
