"""Hostile message bodies: never run, never deleted, never a crash; one bounded line per receive.

Bodies are sent straight to the queue, as any holder of sqs:SendMessage could. The
generated ones (hypothesis) go to a worker running in this process on the in-memory
queue; the hand-picked ones, up to SQS's 1 MiB limit, to that worker and to a real
worker process on moto, where the redrive policy moves them to the dead-letter
queue after their receives. The producer side refuses every payload that is not
plain JSON before sending anything.
"""

from __future__ import annotations

import decimal
import enum
import json
import logging
import re
import threading
import uuid
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simple_worker import App, JsonLogFormatter, SimpleWorkerError
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.ports.queue import OutgoingMessage

MAX_LOG_LINE = 4096
"""The longest log line any hostile body may cause, in bytes (JSON as JsonLogFormatter writes
it, or the text format in UTF-8)."""
ONE_MIB = 1_048_576
QUEUE = "h-default"
VALID = {"task_name": "record", "task_payload": {"n": 1}, "task_id": "t1", "v": 1}


def padded(prefix, suffix, size=ONE_MIB, pad="x"):
    """``prefix + pad * k + suffix``, exactly ``size`` characters (ASCII: bytes too)."""
    return prefix + pad * (size - len(prefix) - len(suffix)) + suffix


def deep(opening, closing, size=ONE_MIB):
    half = size // 2
    return opening * half + closing * (size - half)


def nested_objects():
    prefix = '{"task_name": "record", "task_payload": {"n": '
    levels = (ONE_MIB - len(prefix) - 3) // len('{"a": }')
    return prefix + '{"a": ' * levels + "1" + "}" * levels + "}}"


def stray_keys():
    prefix = '{"task_name": "record", "task_payload": {"n": 1'
    keys = (ONE_MIB - len(prefix) - 2) // len(', "k000000": 0')
    return prefix + "".join(f', "k{i:06d}": 0' for i in range(keys)) + "}}"


def emoji_keys_over_an_overflow(levels=63):
    """Objects 63 deep under 200-emoji keys, 1e999 at the bottom; ASCII (escaped) JSON."""
    key = json.dumps("\U0001f600" * 200)
    prefix = '{"task_name": "record", "task_payload": {"n": '
    return prefix + f"{{{key}: " * levels + "1e999" + "}" * levels + "}}"


HAND_PICKED = {
    "not JSON": "hello, worker",
    "JSON null": "null",
    "a JSON string": '"record"',
    "a JSON list": '[{"task_name": "record", "task_payload": {"n": 1}}]',
    "no task_name": '{"task_payload": {"n": 1}}',
    "no task_payload": '{"task_name": "record"}',
    "task_name is a number": '{"task_name": 7, "task_payload": {"n": 1}}',
    "task_name is null": '{"task_name": null, "task_payload": {"n": 1}}',
    "task_name with a bell": '{"task_name": "rec\\u0007ord", "task_payload": {"n": 1}}',
    "task_name with NUL and newline": '{"task_name": "record\\u0000\\n", "task_payload": {"n": 1}}',
    "task_name a lone surrogate": '{"task_name": "\\udcff", "task_payload": {"n": 1}}',
    "unknown task": '{"task_name": "rm_rf", "task_payload": {}}',
    "payload is a list": '{"task_name": "record", "task_payload": [1]}',
    "payload is a string": '{"task_name": "record", "task_payload": "n=1"}',
    "payload is null": '{"task_name": "record", "task_payload": null}',
    "payload misses n": '{"task_name": "record", "task_payload": {}}',
    "payload has a stray key": '{"task_name": "record", "task_payload": {"n": 1, "__class__": 1}}',
    "payload number overflows": '{"task_name": "record", "task_payload": {"n": 1e999}}',
    "task_id is a list": '{"task_name": "record", "task_payload": {"n": 1}, "task_id": [1]}',
    "task_id with a tab": '{"task_name": "record", "task_payload": {"n": 1}, "task_id": "a\\tb"}',
    "enqueued_at not a time": (
        '{"task_name": "record", "task_payload": {"n": 1}, "enqueued_at": "yesterday"}'
    ),
    "v is a string": '{"task_name": "record", "task_payload": {"n": 1}, "v": "1"}',
    "v is true": '{"task_name": "record", "task_payload": {"n": 1}, "v": true}',
    "v from the future": '{"task_name": "record", "task_payload": {"n": 1}, "v": 2}',
    "NaN": '{"task_name": "record", "task_payload": {"n": NaN}}',
    "1 MiB string in a stray key": padded(
        '{"task_name": "record", "task_payload": {"n": 1, "pad": "', '"}}'
    ),
    "1 MiB of nested lists": deep("[", "]"),
    "1 MiB of nested objects in the payload": nested_objects(),
    "1 MiB of stray keys": stray_keys(),
    "1 MiB task_name": padded('{"task_payload": {"n": 1}, "task_name": "', '"}'),
    "1 MiB of digits": padded('{"task_name": "record", "task_payload": {"n": ', "}}", pad="9"),
    "emoji keys 63 deep over 1e999": emoji_keys_over_an_overflow(),
    "v of 4300 digits": '{"task_name": "record", "task_payload": {"n": 1}, "v": '
    + "9" * 4300
    + "}",
    "12 unexpected emoji keys": json.dumps(
        {
            "task_name": "record",
            "task_payload": {"n": 1} | {"\U0001f600" * 200 + f"{i}": 0 for i in range(12)},
        }
    ),
}
HUGE_KEY_UNDER_AN_OVERFLOW = padded('{"task_name": "record", "task_payload": {"', '": 1e999}}')
LONE_SURROGATE_IN_PAYLOAD = '{"task_name": "record", "task_payload": {"n": "\\udcff"}}'


def test_the_hand_picked_bodies_are_at_most_1_mib_of_characters_sqs_accepts():
    for body in [*HAND_PICKED.values(), HUGE_KEY_UNDER_AN_OVERFLOW]:
        assert len(body.encode()) <= ONE_MIB
        assert re.fullmatch(r"[\t\n\r\x20-\x7e]*", body), "ASCII: valid in any SQS body"
    for name, body in HAND_PICKED.items():
        if name.startswith("1 MiB"):
            assert len(body) > ONE_MIB - 16, name
    assert len(HAND_PICKED["1 MiB of nested lists"]) == ONE_MIB


# --- A worker in this process, on the in-memory queue --------------------------------


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


class InProcessWorker:
    """A real `Worker` on a thread, consuming an in-memory queue without redrive policy.

    A rejected message is then hidden for twice the 30-second visibility timeout, so
    each body sent here is received exactly once while the test lasts.
    """

    def __init__(self):
        self.memory = InMemoryQueue(visibility_timeout=30)
        self.memory.create_queue(QUEUE)
        self.app = App(queue_prefix="h-", queue=self.memory)
        self.ran = []

        @self.app.register_task_handler("record")
        def record(n):
            self.ran.append(n)

        self.worker = self.app.worker(threads=2, wait_seconds=1)
        self.capture = _Capture()
        self.thread = threading.Thread(target=self.worker.start, daemon=True)

    def started(self):
        return any(r.getMessage().startswith("Worker started") for r in self.capture.records)

    def receive(self, body, waiter):
        """Send ``body``; wait until the worker has handled it; return the new log records."""
        seen = len(self.capture.records)
        handled = sum(self.worker.counts.values())
        self.memory.send_batch(QUEUE, [OutgoingMessage(uuid.uuid4().hex, body)])
        waiter(
            lambda: sum(self.worker.counts.values()) > handled,
            10,
            lambda: f"the worker to handle {body[:80]!r}",
        )
        return self.capture.records[seen:]


@pytest.fixture(scope="module")
def hostile_worker(waiter):
    worker = InProcessWorker()
    logger = logging.getLogger("simple_worker")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(worker.capture)
    worker.thread.start()
    try:
        waiter(worker.started, 10, "the in-process worker to start")
        yield worker
    finally:
        worker.worker.stop()
        worker.thread.join(10)
        logger.removeHandler(worker.capture)
        logger.setLevel(level)


def assert_rejected_once_and_kept(hostile_worker, body, waiter):
    kept_before = len(hostile_worker.memory.bodies(QUEUE))
    new_records = hostile_worker.receive(body, waiter)

    lines = [record.getMessage() for record in new_records]
    assert len(lines) == 1, lines
    assert lines[0].startswith("Rejected message")
    assert "(receive 1)" in lines[0]
    size = len(JsonLogFormatter().format(new_records[0]).encode())
    assert size <= MAX_LOG_LINE, f"a {size}-byte JSON log line"
    assert hostile_worker.ran == [], "a hostile body ran a task"
    assert len(hostile_worker.memory.bodies(QUEUE)) == kept_before + 1, "deleted"
    assert hostile_worker.thread.is_alive()


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
lone_surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
control_names = st.from_regex(r"[a-z]{0,6}[\x00-\x1f\x7f][a-z]{0,6}", fullmatch=True)
BAD_FIELDS = {
    "task_name": json_values.filter(lambda v: v != "record") | control_names | lone_surrogates,
    "task_payload": json_values.filter(lambda v: type(v) is not dict or set(v) != {"n"}),
    "task_id": json_values.filter(
        lambda v: v is not None and (type(v) is not str or not 0 < len(v) <= 128)
    )
    | st.text(min_size=129, max_size=200)
    | control_names,
    "enqueued_at": json_values.filter(lambda v: v is not None and type(v) is not str)
    | st.text(alphabet="abcxyz!? ", min_size=1, max_size=30),
    "v": json_values.filter(lambda v: type(v) is not int or v != 1),
}


ENVELOPE_KEYS = {"task_name", "task_payload", "task_id", "enqueued_at", "v"}


@st.composite
def broken_envelopes(draw):
    """A valid envelope with one field wrong (or gone), maybe extra keys; JSON-encoded."""
    envelope = draw(
        st.dictionaries(
            st.text(max_size=8).filter(lambda k: k not in ENVELOPE_KEYS), json_values, max_size=2
        )
    )
    envelope.update(VALID)
    field = draw(st.sampled_from(sorted(BAD_FIELDS)))
    if field in ("task_name", "task_payload") and draw(st.booleans()):
        del envelope[field]
    else:
        envelope[field] = draw(BAD_FIELDS[field])
    return json.dumps(envelope)


hostile_bodies = (
    st.text(max_size=200)
    | json_values.filter(lambda v: type(v) is not dict).map(json.dumps)
    | broken_envelopes()
)
HYPOTHESIS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@HYPOTHESIS
@given(body=hostile_bodies)
def test_a_generated_hostile_body_is_rejected_once_never_run_never_deleted(
    hostile_worker, waiter, body
):
    assert_rejected_once_and_kept(hostile_worker, body, waiter)


@pytest.mark.parametrize("name", HAND_PICKED)
def test_a_hand_picked_hostile_body_is_rejected_once_never_run_never_deleted(
    hostile_worker, waiter, name
):
    assert_rejected_once_and_kept(hostile_worker, HAND_PICKED[name], waiter)


def test_a_huge_key_over_an_overflowing_number_is_logged_in_a_bounded_line(hostile_worker, waiter):
    assert_rejected_once_and_kept(hostile_worker, HUGE_KEY_UNDER_AN_OVERFLOW, waiter)


def test_a_lone_surrogate_in_a_payload_string_is_not_run(hostile_worker, waiter):
    assert_rejected_once_and_kept(hostile_worker, LONE_SURROGATE_IN_PAYLOAD, waiter)


# --- The producer refuses what is not plain JSON --------------------------------------


class Color(enum.IntEnum):
    RED = 1


class Text(str):
    __slots__ = ()


not_json_leaves = st.sampled_from(
    [
        float("nan"),
        float("inf"),
        -float("inf"),
        (1, 2),
        {1, 2},
        frozenset(),
        b"bytes",
        bytearray(b"x"),
        datetime(2026, 1, 1, tzinfo=timezone.utc),
        decimal.Decimal("1.5"),
        complex(1, 2),
        object(),
        Color.RED,
        Text("a str subclass"),
        {1: "int key"},
        {("a",): "tuple key"},
        10**5000,
        print,
    ]
)


@st.composite
def payloads_with_a_non_json_value(draw):
    """A non-JSON value, alone or somewhere inside lists and objects of JSON values."""
    value = draw(not_json_leaves)
    for _ in range(draw(st.integers(0, 3))):
        sibling = draw(json_values)
        value = draw(st.sampled_from([[sibling, value], {"ok": sibling, "bad": value}]))
    return value


@pytest.fixture(scope="module")
def producer_app():
    memory = InMemoryQueue()
    memory.create_queue("p-default")
    app = App(queue_prefix="p-", queue=memory)

    @app.register_task_handler("take")
    def take(value): ...

    return app, memory


@HYPOTHESIS
@given(value=payloads_with_a_non_json_value())
def test_the_producer_refuses_a_payload_that_is_not_plain_json_before_sending(producer_app, value):
    app, memory = producer_app

    with pytest.raises(SimpleWorkerError):
        app.add_task("take", value=value)
    with pytest.raises(SimpleWorkerError):
        app.add_tasks("take", [{"value": 1}, {"value": value}])

    assert memory.bodies("p-default") == []


@HYPOTHESIS
@given(value=json_values, deep=st.integers(65, 200))
def test_the_producer_refuses_nesting_deeper_than_64_before_sending(producer_app, value, deep):
    app, memory = producer_app
    for _ in range(deep):
        value = [value]

    with pytest.raises(SimpleWorkerError):
        app.add_task("take", value=value)

    assert memory.bodies("p-default") == []


def test_the_producer_refuses_a_lone_surrogate(producer_app):
    app, _ = producer_app

    with pytest.raises(SimpleWorkerError):
        app.add_task("take", value="\udcff")


# --- A real worker process on moto, with a dead-letter queue ---------------------------


PROCESS_SET = [
    "not JSON",
    "JSON null",
    "payload is a list",
    "task_name with a bell",
    "task_name a lone surrogate",
    "unknown task",
    "payload has a stray key",
    "payload number overflows",
    "v is a string",
    "1 MiB string in a stray key",
    "1 MiB of nested lists",
    "1 MiB of stray keys",
    "emoji keys 63 deep over 1e999",
    "12 unexpected emoji keys",
]


def test_a_worker_process_rejects_hostile_bodies_once_per_receive_until_redrive(
    sqs_client,
    prefix,
    start_worker,
    tmp_path,
    records,
    producer_for,
    moto_server,
    waiter,
    counts,
):
    dead_letter_url = sqs_client.create_queue(QueueName=prefix + "default-dlq")["QueueUrl"]
    dead_letter_arn = sqs_client.get_queue_attributes(
        QueueUrl=dead_letter_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": "2"}
    url = sqs_client.create_queue(
        QueueName=prefix + "default",
        Attributes={"RedrivePolicy": json.dumps(redrive), "MaximumMessageSize": str(ONE_MIB)},
    )["QueueUrl"]
    try:
        record_file = tmp_path / "records.jsonl"
        worker = start_worker(moto_server, record_file, threads=2, wait_seconds=1)
        sent = {
            sqs_client.send_message(QueueUrl=url, MessageBody=HAND_PICKED[name])["MessageId"]: name
            for name in PROCESS_SET
        }

        def moved():
            visible, in_flight = counts(sqs_client, dead_letter_url)
            return visible + in_flight == len(sent)

        waiter(moved, 60, lambda: f"the redrive; log:\n{worker.log()[-2000:]}")
        producer_for(prefix, moto_server).add_task("record", n=7)
        waiter(lambda: records(record_file, "end"), 20, "a valid task after the hostile ones")
        assert worker.running()
        assert worker.stop() == 0
        log = worker.log()
        dead = []
        while len(dead) < len(sent):
            batch = sqs_client.receive_message(
                QueueUrl=dead_letter_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            assert batch, f"{len(dead)} of {len(sent)} messages in the dead-letter queue"
            dead += batch
    finally:
        for queue_url in (url, dead_letter_url):
            sqs_client.delete_queue(QueueUrl=queue_url)

    assert {m["MessageId"]: m["Body"] for m in dead} == {
        message_id: HAND_PICKED[name] for message_id, name in sent.items()
    }, "every hostile message reached the dead-letter queue, intact"
    assert [r["n"] for r in records(record_file)] == [7, 7], "only the valid task ran"
    for message_id, name in sent.items():
        lines = re.findall(rf"Rejected message {message_id} from \S+ \(receive (\d)\)", log)
        assert lines == ["1", "2"], f"{name}: one line per receive, then the redrive"
    longest = max(log.splitlines(), key=lambda line: len(line.encode()))
    assert len(longest.encode()) <= MAX_LOG_LINE, longest[:300]
    assert "Traceback" not in log
