"""Every line logged about a hostile message fits the documented bound: 4,096 bytes.

Counted as written: bytes of the line `JsonLogFormatter` makes (non-ASCII escaped,
6 bytes a character, 12 for an emoji), and bytes of the command's text format in
UTF-8. The queue name is as long as SQS allows (80 characters), the registered
task names and handler parameters are long too, so only the message is left to
make a line longer.
"""

import inspect
import json
import logging
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from simple_worker import PayloadStoreError, TaskExecutor
from simple_worker.adapters.memory._payloads import InMemoryPayloadStore
from simple_worker.adapters.observability._json_log import JsonLogFormatter
from simple_worker.cli._logs import TEXT_FORMAT
from simple_worker.consumer._dispatcher import Dispatcher, Outcome
from simple_worker.domain._payload_pointer import POINTER_CLASS
from simple_worker.domain._registry import TaskRegistry
from simple_worker.ports.queue import ReceivedMessage

MAX_LOG_LINE = 4096
"""The bound docs/security.md and docs/reliability.md state, in bytes."""
QUEUE = "p-" + "q" * 78
EMOJI = "\U0001f600"
JSON_FORMAT = JsonLogFormatter()
TEXT = logging.Formatter(TEXT_FORMAT)


def _long_handler(**kwargs): ...


# Twelve required parameters of 60 characters: a long "missing ..." list.
_long_handler.__signature__ = inspect.Signature(
    [
        inspect.Parameter(f"parameter_{i:02d}_" + "p" * 47, inspect.Parameter.KEYWORD_ONLY)
        for i in range(12)
    ]
)


def registry():
    tasks = TaskRegistry()
    tasks.register("record", lambda n: None, "default")
    tasks.register("many", _long_handler, "default")
    for i in range(12):
        tasks.register(f"registered.{i:02d}." + "t" * 110, lambda: None, "default")
    return tasks


class BrokenStore:
    """A payload store that S3 fails for, with an error naming the pointer as S3's does."""

    bucket = "tasks"

    def get(self, pointer):
        raise PayloadStoreError(
            f"S3 GetObject of {pointer} failed: ServiceUnavailable: {pointer.key} "
            f"https://tasks.s3.amazonaws.com/{pointer.key}",
            operation="GetObject",
            bucket=pointer.bucket,
            key=pointer.key,
        )


STORES = {"none": None, "memory": InMemoryPayloadStore("tasks"), "broken": BrokenStore()}


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@contextmanager
def captured():
    capture = _Capture()
    logger = logging.getLogger("simple_worker")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(capture)
    try:
        yield capture.records
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)


# --- Hostile bodies -------------------------------------------------------------------

characters = st.characters(codec=None) | st.sampled_from(
    [EMOJI, "é", "\n", "\x00", "\u2028", "\udcff", '"', "\\", "a"]
)
texts = st.text(characters, max_size=30) | st.builds(
    lambda text, times: text * times,
    st.text(characters, min_size=1, max_size=3),
    st.integers(1, 4000),
)
printable_ids = st.builds(
    lambda text, times: (text * times)[:128],
    st.text(st.sampled_from([EMOJI, "é", '"', "\\", "a"]), min_size=1, max_size=3),
    st.integers(1, 128),
)
task_names = (
    st.just("record")
    | st.just("many")
    | st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}", fullmatch=True)
    | texts
)
bad_leaves = st.sampled_from(
    ["1e999", "-1e999", "NaN", '"\\udcff"', "9" * 4300, "9" * 4301, "[]", '"x"']
)


def dumps(value):
    # ensure_ascii: a lone surrogate becomes an escape, as any JSON producer would write it.
    return json.dumps(value, ensure_ascii=True)


@st.composite
def deep_payloads(draw):
    """Objects nested up to 80 levels under hostile keys, a bad value at the bottom."""
    value = draw(bad_leaves)
    for _ in range(draw(st.integers(1, 80))):
        value = "{" + dumps(draw(texts)) + ": " + value + "}"
    return '{"n": ' + value + "}"


@st.composite
def stray_key_payloads(draw):
    keys = draw(st.lists(texts, max_size=40))
    return dumps({**({"n": 1} if draw(st.booleans()) else {}), **dict.fromkeys(keys, 0)})


versions = (
    st.integers(2, 10**4299).map(str)
    | texts.map(dumps)
    | st.just("9" * 4300)
    | st.just("-" + "9" * 4299)
)


@st.composite
def envelopes(draw):
    """An envelope with hostile fields: name, id, version, or payload."""
    payload = draw(deep_payloads() | stray_key_payloads() | st.just('{"n": 1}'))
    fields = [
        '"task_name": ' + dumps(draw(task_names)),
        '"task_payload": ' + payload,
        '"task_id": ' + dumps(draw(printable_ids | texts)),
    ]
    if draw(st.booleans()):
        fields.append('"v": ' + draw(versions))
    return "{" + ", ".join(draw(st.permutations(fields))) + "}"


@st.composite
def pointers(draw):
    key = draw(printable_ids.map(lambda text: text * 8) | texts)
    bucket = draw(st.sampled_from(["tasks", "b" * 255, "other-bucket"]) | texts)
    return dumps([POINTER_CLASS, {"s3BucketName": bucket, "s3Key": key}])


hostile_bodies = envelopes() | pointers() | texts
HYPOTHESIS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# The reported ones: 48,538, 4,841 and 8,422 bytes of JSON before the bound.
DEEP_EMOJI_KEYS = (
    '{"task_name": "record", "task_payload": {"n": '
    + "".join('{"' + EMOJI * 200 + '": ' for _ in range(63))
    + "1e999"
    + "}" * 63
    + "}}"
)
LONG_VERSION = '{"task_name": "record", "task_payload": {"n": 1}, "v": ' + "9" * 4300 + "}"
EMOJI_KEYS = dumps(
    {"task_name": "record", "task_payload": {EMOJI * 200 + str(i): 0 for i in range(12)}}
)
WORST_ID = EMOJI * 128
WORST_NAME = "x" * 128


def log_of(body, store):
    message = ReceivedMessage(
        queue=QUEUE,
        message_id="8d3f6c2e-0b1a-4c5e-9f7d-2a1b3c4d5e6f",
        receipt="r",
        body=body,
        receive_count=1,
    )
    dispatcher = Dispatcher(registry(), TaskExecutor, payload_store=STORES[store])
    with captured() as records:
        dispatched = dispatcher.dispatch(message)
    return dispatched, records


def assert_bounded(records):
    for record in records:
        as_json = JSON_FORMAT.format(record).encode("ascii")
        as_text = TEXT.format(record)
        assert len(as_json) <= MAX_LOG_LINE, f"{len(as_json)} bytes: {as_json[:300]!r}"
        # Strict UTF-8: nothing unprintable (a line break, a lone surrogate) gets through.
        assert len(as_text.encode("utf-8")) <= MAX_LOG_LINE
        assert "\n" not in as_text


@HYPOTHESIS
@given(body=hostile_bodies, store=st.sampled_from(sorted(STORES)))
@example(body=DEEP_EMOJI_KEYS, store="none")
@example(body=LONG_VERSION, store="none")
@example(body=EMOJI_KEYS, store="none")
@example(
    body=dumps({"task_name": WORST_NAME, "task_payload": {}, "task_id": WORST_ID}), store="none"
)
@example(
    body=dumps(
        {
            "task_name": "many",
            "task_payload": {EMOJI * 99 + str(i): 0 for i in range(99)},
            "task_id": WORST_ID,
        }
    ),
    store="none",
)
@example(body=dumps([POINTER_CLASS, {"s3BucketName": "b" * 255, "s3Key": "é" * 512}]), store="none")
@example(body=dumps([POINTER_CLASS, {"s3BucketName": "tasks", "s3Key": "é" * 512}]), store="broken")
@example(
    body=dumps([POINTER_CLASS, {"s3BucketName": "b" * 255, "s3Key": "é" * 512}]), store="memory"
)
def test_every_line_logged_about_a_hostile_message_fits_the_bound(body, store):
    dispatched, records = log_of(body, store)

    assert records, "a hostile message is logged"
    assert_bounded(records)
    if dispatched.outcome is not Outcome.SUCCEEDED:
        assert len(records) == 1, [r.getMessage()[:100] for r in records]


@pytest.mark.parametrize(
    "body", [DEEP_EMOJI_KEYS, LONG_VERSION, EMOJI_KEYS], ids=["deep", "version", "keys"]
)
def test_the_reported_bodies_are_rejected_in_one_short_line_that_keeps_the_reason(body):
    dispatched, [record] = log_of(body, "none")

    assert dispatched.outcome is Outcome.REJECTED
    assert len(JSON_FORMAT.format(record).encode()) <= 1200
    assert record.getMessage().endswith(
        ("inf is not a JSON number.", "this worker reads up to v1.", "(parallel change).")
    )
