"""The Lambda runner against moto's SQS over real HTTP, with the event source mapping played.

The test does what an SQS event source mapping does: it receives up to ten
messages, builds the event AWS would hand the function from them, calls the
handler, deletes every message the response does not report failed, and lets
the rest come back after their visibility (or the retry policy's). 500 tasks on
a standard queue (successes, failures that always fail, bodies that cannot run)
and a FIFO queue of ordered groups, one of which holds a task that always fails.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter, defaultdict

import pytest

from simple_worker import App, RetryIntervals

REGION = "us-east-1"
MAX_RECEIVES = 3
GOOD, BAD = 420, 50
POISON = [
    *["{not json"] * 10,
    *['{"task_name": "nobody", "task_payload": {}}'] * 10,
    *['{"task_name": "good", "task_payload": {"m": 1}}'] * 10,
]
ORDERS, STEPS, FAILING = 5, 8, ("o2", 3)


class Context:
    """Lambda's context, with plenty of time left."""

    def get_remaining_time_in_millis(self):
        return 60_000


@pytest.fixture
def queues(sqs_client):
    """A standard and a FIFO queue, each with a dead-letter queue after 3 receives."""
    base = f"lambda-{uuid.uuid4().hex[:12]}"
    made = {}
    for kind, suffix in (("standard", ""), ("fifo", ".fifo")):
        extra = {"FifoQueue": "true"} if suffix else {}
        dlq = f"{base}-dlq{suffix}"
        sqs_client.create_queue(QueueName=dlq, Attributes=extra)
        name = f"{base}{suffix}"
        redrive = {"deadLetterTargetArn": _arn(sqs_client, dlq), "maxReceiveCount": MAX_RECEIVES}
        sqs_client.create_queue(
            QueueName=name,
            Attributes={**extra, "VisibilityTimeout": "5", "RedrivePolicy": json.dumps(redrive)},
        )
        made[kind] = (name, dlq)
    yield made
    for names in made.values():
        for queue in names:
            url = sqs_client.get_queue_url(QueueName=queue)["QueueUrl"]
            sqs_client.delete_queue(QueueUrl=url)


def _arn(client, name):
    url = client.get_queue_url(QueueName=name)["QueueUrl"]
    return client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def _record(message, arn):
    """The event record AWS builds from a message ReceiveMessage returned."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": REGION,
    }


class EventSourceMapping:
    """Plays an event source mapping with ReportBatchItemFailures, and counts what it did."""

    def __init__(self, client, handler, queue_names):
        self.client = client
        self.handler = handler
        self.queues = {
            name: (client.get_queue_url(QueueName=name)["QueueUrl"], _arn(client, name))
            for name in queue_names
        }
        self.deleted: dict[str, str] = {}  # message id -> body
        self.reported_failed: set[str] = set()
        self.invocations = 0

    def poll_once(self):
        received = 0
        for url, arn in self.queues.values():
            messages = self.client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                continue
            received += len(messages)
            self.invocations += 1
            response = self.handler({"Records": [_record(m, arn) for m in messages]}, Context())
            failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
            self.reported_failed |= failed
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                answer = self.client.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done)
                    ],
                )
                assert not answer.get("Failed")
                self.deleted.update({m["MessageId"]: m["Body"] for m in done})
        return received


def _count(client, name):
    url = client.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = client.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_a_played_event_source_mapping_runs_every_good_task_once_and_dead_letters_the_rest(
    moto_server, sqs_client, queues
):
    (standard, standard_dlq), (fifo, fifo_dlq) = queues["standard"], queues["fifo"]
    app = App(sqs_endpoint_url=moto_server, sqs_region=REGION)
    lock = threading.Lock()
    runs: Counter[tuple[str, int]] = Counter()
    steps: dict[str, list[int]] = defaultdict(list)

    @app.register_task_handler("good", queue=standard)
    def good(n):
        with lock:
            runs["good", n] += 1

    @app.register_task_handler("bad", queue=standard)
    def bad(n):
        with lock:
            runs["bad", n] += 1
        raise RuntimeError("always fails")

    @app.register_task_handler("step", queue=fifo, group_by="order")
    def step(order, n):
        steps[order].append(n)
        if (order, n) == FAILING:
            raise RuntimeError("this step always fails")

    handler = app.lambda_handler(retry_policy=RetryIntervals([1]))
    mapping = EventSourceMapping(sqs_client, handler, [standard, fifo])
    expected_dead = {standard_dlq: BAD + len(POISON), fifo_dlq: 1}
    started = time.monotonic()
    for _ in _sends(app, sqs_client, standard):
        for _ in range(5):  # up to 50 from each queue: about what a chunk sends
            mapping.poll_once()
    _play_until_drained(mapping, sqs_client, [standard, fifo], expected_dead)
    wall = time.monotonic() - started

    # Every good task ran exactly once; every failing one once per allowed receive.
    assert {n: runs["good", n] for n in range(GOOD)} == dict.fromkeys(range(GOOD), 1)
    assert {n: runs["bad", n] for n in range(BAD)} == dict.fromkeys(range(BAD), MAX_RECEIVES)
    # FIFO: each group's steps in order; the failing step retried, then the group went on.
    for order in range(ORDERS):
        expected = list(range(STEPS))
        if f"o{order}" == FAILING[0]:
            at = FAILING[1]
            expected = [*range(at), *[at] * MAX_RECEIVES, *range(at + 1, STEPS)]
        assert steps[f"o{order}"] == expected
    # Nothing that failed was deleted: every message deleted was a task that succeeded.
    for body in mapping.deleted.values():
        task = json.loads(body)
        assert task["task_name"] in ("good", "step")
        assert (task["task_payload"].get("order"), task["task_payload"].get("n")) != FAILING
    assert len(mapping.deleted) == GOOD + ORDERS * STEPS - 1
    dead = _dead_lettered(sqs_client, expected_dead)
    assert dead == Counter(bad=BAD, nobody=10, good=10, step=1, **{"not json": 10})
    print(  # noqa: T201 - the run's figures, shown with pytest -s
        f"\nPlayed event source mapping: {GOOD + BAD + len(POISON)} standard + "
        f"{ORDERS * STEPS} FIFO tasks in {wall:.1f} s, {mapping.invocations} invocations; "
        f"ran once: {sum(1 for (kind, _), v in runs.items() if kind == 'good' and v == 1)} "
        f"good + {ORDERS * STEPS - 1} FIFO steps; dead-lettered: {sum(dead.values())} "
        f"{dict(dead)}; deleted by the mapping: {len(mapping.deleted)}; "
        f"runner counts: {dict(handler.counts)}"
    )


def _sends(app, client, standard):
    """Send every task in chunks of 50, yielding after each: the mapping drains meanwhile.

    As producers and consumers overlap in production; it also keeps moto's queue
    short (its receive costs grow with the queue's length).
    """
    url = client.get_queue_url(QueueName=standard)["QueueUrl"]
    poison = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(POISON)]
    tasks = [
        *[("good", {"n": n}) for n in range(GOOD)],
        *[("bad", {"n": n}) for n in range(BAD)],
        *[("step", {"order": f"o{o}", "n": n}) for o in range(ORDERS) for n in range(STEPS)],
    ]
    for start in range(0, len(tasks), 50):
        chunk = tasks[start : start + 50]
        for name in dict.fromkeys(name for name, _ in chunk):
            app.add_tasks(name, [payload for kind, payload in chunk if kind == name])
        if start // 50 < len(poison) // 10:
            at = start // 50 * 10
            client.send_message_batch(QueueUrl=url, Entries=poison[at : at + 10])
        yield


def _play_until_drained(mapping, client, sources, expected_dead):
    deadline = time.monotonic() + 120
    while True:
        if mapping.poll_once():
            continue
        drained = all(_count(client, name) == 0 for name in sources)
        if drained and all(_count(client, dlq) == n for dlq, n in expected_dead.items()):
            return
        assert time.monotonic() < deadline, "the queues did not drain"
        time.sleep(0.2)  # failed messages come back when their visibility runs out


def _dead_lettered(client, dead_letter_queues):
    dead: Counter[str] = Counter()
    for dlq in dead_letter_queues:
        url = client.get_queue_url(QueueName=dlq)["QueueUrl"]
        while batch := client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60
        ).get("Messages", []):
            for message in batch:
                try:
                    dead[json.loads(message["Body"]).get("task_name", "?")] += 1
                except ValueError:
                    dead["not json"] += 1
    return dead
