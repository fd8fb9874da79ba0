import json
import runpy
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simple_worker.domain._envelope import (
    MAX_TASK_ID_LENGTH,
    WIRE_VERSION,
    decode_envelope,
    encode_envelope,
)
from simple_worker.domain._errors import MessageDecodeError
from simple_worker.domain._task import Task, check_task_name

UTC = timezone.utc

# Run by path: importlib mode puts no test folder on sys.path.
_json = runpy.run_path(str(Path(__file__).with_name("json_strategies.py")))
json_values, payloads = _json["json_values"], _json["payloads"]
task_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}", fullmatch=True)
task_ids = st.text(
    st.characters(codec="utf-8").filter(str.isprintable), min_size=1, max_size=MAX_TASK_ID_LENGTH
)
offsets = (
    st.none()
    | st.just(UTC)
    | st.integers(-23 * 60, 23 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
)
# Years before 1000 are a known bug (see test_year_before_1000_round_trips below).
moments = st.datetimes(
    min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
)


def body(**fields: object) -> str:
    return json.dumps(fields)


def refusal(message_body: str) -> MessageDecodeError:
    with pytest.raises(MessageDecodeError) as caught:
        decode_envelope(message_body)
    return caught.value


def in_milliseconds_utc(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.replace(microsecond=aware.microsecond // 1000 * 1000)


def nested_arrays(levels: int) -> str:
    return "[" * levels + "]" * levels


# --- encoding ---------------------------------------------------------------------


def test_encode_then_decode_round_trips_name_payload_id_and_time():
    task = Task(
        name="send_email",
        payload={"to": "a@example.com", "n": [1, 2.5, None, True, {"k": "caf\u00e9"}]},
        id="0b7c6a2e-task",
        enqueued_at=datetime(2026, 11, 29, 10, 0, 0, 123000, tzinfo=UTC),
    )
    assert decode_envelope(encode_envelope(task)) == task


def test_encode_then_decode_truncates_microseconds_to_milliseconds():
    moment = datetime(2026, 11, 29, 10, 0, 0, 123987, tzinfo=UTC)
    task = Task(name="t", payload={}, id="1", enqueued_at=moment)
    decoded = decode_envelope(encode_envelope(task))
    assert decoded.enqueued_at == datetime(2026, 11, 29, 10, 0, 0, 123000, tzinfo=UTC)
    assert decoded.enqueued_at.utcoffset() == timedelta(0)


def test_encoded_body_has_exactly_the_wire_format_keys_and_v_1():
    task = Task(
        name="send_email",
        payload={"user_id": 7},
        id="abc",
        enqueued_at=datetime(2026, 11, 29, 10, 0, tzinfo=UTC),
    )
    assert json.loads(encode_envelope(task)) == {
        "task_name": "send_email",
        "task_payload": {"user_id": 7},
        "task_id": "abc",
        "enqueued_at": "2026-11-29T10:00:00.000Z",
        "v": 1,
    }
    assert WIRE_VERSION == 1


def test_encoded_body_is_ascii_even_for_non_ascii_payloads():
    task = Task(name="t", payload={"text": "caf\u00e9 \u2603 \U0001f600"}, id="x")
    encoded = encode_envelope(task)
    assert encoded.isascii()
    assert len(encoded.encode("utf-8")) == len(encoded)
    assert decode_envelope(encoded).payload == {"text": "caf\u00e9 \u2603 \U0001f600"}


def test_encode_writes_an_aware_time_in_utc_with_z():
    moment = datetime(2026, 11, 29, 12, 30, 0, 5000, tzinfo=timezone(timedelta(hours=2)))
    task = Task(name="t", payload={}, enqueued_at=moment)
    assert json.loads(encode_envelope(task))["enqueued_at"] == "2026-11-29T10:30:00.005Z"


def test_encode_writes_a_naive_time_as_utc():
    task = Task(name="t", payload={}, enqueued_at=datetime(2026, 11, 29, 10, 0))
    assert json.loads(encode_envelope(task))["enqueued_at"] == "2026-11-29T10:00:00.000Z"


def test_encode_omits_id_and_time_the_task_does_not_have():
    assert json.loads(encode_envelope(Task(name="t", payload={"a": 1}))) == {
        "task_name": "t",
        "task_payload": {"a": 1},
        "v": 1,
    }


# --- decoding what other producers wrote --------------------------------------------


def test_decode_reads_a_0_2_body_without_id_or_time():
    task = decode_envelope('{"task_name": "t", "task_payload": {"a": 1}}')
    assert task == Task(name="t", payload={"a": 1})
    assert task.id is None
    assert task.enqueued_at is None


def test_decode_ignores_unknown_extra_keys():
    task = decode_envelope(
        body(task_name="t", task_payload={}, priority=5, trace={"span": [1, 2]}, v=1)
    )
    assert task == Task(name="t", payload={})


def test_decode_reads_explicit_null_id_and_time_as_absent():
    task = decode_envelope(body(task_name="t", task_payload={}, task_id=None, enqueued_at=None))
    assert task.id is None
    assert task.enqueued_at is None


@pytest.mark.parametrize(
    "timestamp",
    [
        "2026-11-29T10:00:00Z",
        "2026-11-29T10:00:00.000Z",
        "2026-11-29T10:00:00z",
        "2026-11-29T10:00:00+00:00",
        "2026-11-29T10:00:00",
    ],
)
def test_decode_reads_z_utc_offset_and_naive_timestamps_as_utc(timestamp):
    task = decode_envelope(body(task_name="t", task_payload={}, enqueued_at=timestamp))
    assert task.enqueued_at == datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    assert task.enqueued_at.utcoffset() == timedelta(0)


def test_decode_keeps_the_instant_of_a_timestamp_with_another_offset():
    task = decode_envelope(
        body(task_name="t", task_payload={}, enqueued_at="2026-11-29T12:00:00+02:00")
    )
    assert task.enqueued_at == datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def test_decode_accepts_a_task_id_of_the_maximum_length():
    task_id = "i" * MAX_TASK_ID_LENGTH
    assert decode_envelope(body(task_name="t", task_payload={}, task_id=task_id)).id == task_id


def test_decode_accepts_v_1():
    assert decode_envelope(body(task_name="t", task_payload={}, v=1)) == Task("t", {})


# --- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message_body",
    [
        "",
        "not json",
        "{",
        '{"task_name": "t", "task_payload": {}',
        "{'task_name': 't', 'task_payload': {}}",
        b'\xff\xfe{"task_name": "t"}'.decode("utf-8", errors="replace"),
        b"\x80\x81\x82garbage\xc3".decode("utf-8", errors="replace"),
        "\x00\x01\x02",
    ],
)
def test_decode_refuses_a_body_that_is_not_json(message_body):
    error = refusal(message_body)
    assert error.reason.startswith("not valid JSON")
    assert str(error).startswith("Message is not a task envelope: not valid JSON")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_decode_refuses_nan_and_infinity_literals(literal):
    error = refusal('{"task_name": "t", "task_payload": {"a": ' + literal + "}}")
    assert error.reason == "not valid JSON (ValueError)"


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_decode_refuses_a_number_that_overflows_to_infinity(number):
    refusal('{"task_name": "t", "task_payload": {"a": ' + number + "}}")


@pytest.mark.parametrize(
    ("message_body", "json_type"),
    [
        ("[]", "array"),
        ('[{"task_name": "t", "task_payload": {}}]', "array"),
        ('"task"', "string"),
        ("null", "null"),
        ("42", "number"),
        ("1.5", "number"),
        ("true", "boolean"),
    ],
)
def test_decode_refuses_a_body_that_is_not_a_json_object(message_body, json_type):
    error = refusal(message_body)
    assert error.reason == f"the body is a JSON {json_type}, not an object"


def test_decode_refuses_a_body_without_task_name():
    assert refusal(body(task_payload={})).reason == "it has no task_name"


@pytest.mark.parametrize(
    ("task_name", "type_name"), [(5, "int"), (None, "NoneType"), (["t"], "list"), (True, "bool")]
)
def test_decode_refuses_a_task_name_of_the_wrong_type(task_name, type_name):
    error = refusal(body(task_name=task_name, task_payload={}))
    assert error.reason == f"task_name is invalid: a task name is a str, not {type_name}"


@pytest.mark.parametrize("task_name", ["send\x00email", "send\nemail", "\x1b[31mred", "a b"])
def test_decode_refuses_a_task_name_with_control_or_other_characters(task_name):
    error = refusal(body(task_name=task_name, task_payload={}))
    assert error.reason.startswith("task_name is invalid: use letters, digits")


def test_decode_refuses_an_overlong_task_name_and_says_how_long():
    error = refusal(body(task_name="a" * 129, task_payload={}))
    assert error.reason == "task_name is invalid: it is 129 characters long, the limit is 128"


def test_decode_refuses_a_body_without_task_payload():
    assert refusal(body(task_name="t")).reason == "it has no task_payload"


@pytest.mark.parametrize(
    ("payload", "json_type"),
    [([1, 2], "array"), ("a=1", "string"), (None, "null"), (3, "number"), (False, "boolean")],
)
def test_decode_refuses_a_task_payload_that_is_not_an_object(payload, json_type):
    error = refusal(body(task_name="t", task_payload=payload))
    assert error.reason == f"task_payload is a JSON {json_type}, not an object"


@pytest.mark.parametrize("task_id", [5, 1.5, True, ["a"], {"a": 1}, "", "i" * 129])
def test_decode_refuses_a_task_id_of_wrong_type_or_length(task_id):
    error = refusal(body(task_name="t", task_payload={}, task_id=task_id))
    assert error.reason == "task_id must be a string of 1 to 128 characters"


@pytest.mark.parametrize("task_id", ["a\nb", "\x00", "id\x7f", "\u2028"])
def test_decode_refuses_a_task_id_with_unprintable_characters(task_id):
    error = refusal(body(task_name="t", task_payload={}, task_id=task_id))
    assert error.reason == "task_id has unprintable characters"


@pytest.mark.parametrize("enqueued_at", [1764410400, 1.5, True, ["2026-11-29"], {}, "9" * 41])
def test_decode_refuses_an_enqueued_at_that_is_not_a_timestamp_string(enqueued_at):
    error = refusal(body(task_name="t", task_payload={}, enqueued_at=enqueued_at))
    assert error.reason == "enqueued_at must be an ISO 8601 timestamp string"


@pytest.mark.parametrize(
    "enqueued_at", ["", "yesterday", "2026-13-01T00:00:00Z", "2026-11-29T25:00:00Z", "Z"]
)
def test_decode_refuses_an_unparseable_enqueued_at(enqueued_at):
    error = refusal(body(task_name="t", task_payload={}, enqueued_at=enqueued_at))
    assert error.reason == "enqueued_at is not an ISO 8601 timestamp"


@pytest.mark.parametrize(
    ("version", "described"),
    [
        ("1", "string '1'"),
        (True, "boolean True"),
        (0, "number 0"),
        (-1, "number -1"),
        (1.0, "number 1.0"),
        (None, "null None"),
        ([1], "array [1]"),
    ],
)
def test_decode_refuses_a_v_that_is_not_a_version_number(version, described):
    error = refusal(body(task_name="t", task_payload={}, v=version))
    assert error.reason == f"v is {described}, not a version number"


def test_decode_refuses_a_newer_wire_version_and_says_it_is_newer():
    error = refusal(body(task_name="t", task_payload={}, v=2))
    assert error.reason == (
        "it is wire format v2, written by a newer simple-worker; this worker reads up to v1"
    )


def test_decode_checks_the_version_before_the_fields_a_newer_format_may_change():
    error = refusal(body(task_payload=[], v=2))
    assert "newer" in error.reason


@pytest.mark.parametrize(
    "message_body",
    [
        '{"task_name": "t", "task_payload": {"a": ' + nested_arrays(100_000) + "}}",
        '{"task_name": "t", "task_payload": ' + '{"a":' * 100_000 + "{}" + "}" * 100_000 + "}",
        nested_arrays(100_000),
    ],
)
def test_decode_refuses_deeply_nested_json_without_recursion_error(message_body):
    error = refusal(message_body)
    assert error.reason == "not valid JSON (RecursionError)"


def test_year_before_1000_round_trips():
    moment = datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)
    task = Task(name="t", payload={}, enqueued_at=moment)
    assert decode_envelope(encode_envelope(task)).enqueued_at == moment


# --- properties ---------------------------------------------------------------------


@given(
    name=task_names,
    payload=payloads,
    task_id=st.none() | task_ids,
    moment=st.none() | moments,
)
def test_any_valid_task_round_trips_through_the_wire_format(name, payload, task_id, moment):
    task = Task(name=name, payload=payload, id=task_id, enqueued_at=moment)
    encoded = encode_envelope(task)
    assert encoded.isascii()
    decoded = decode_envelope(encoded)
    expected_moment = None if moment is None else in_milliseconds_utc(moment)
    assert decoded == Task(name=name, payload=payload, id=task_id, enqueued_at=expected_moment)


def assert_decodes_or_refuses(message_body: str) -> None:
    try:
        task = decode_envelope(message_body)
    except MessageDecodeError:
        return
    assert isinstance(task, Task)
    assert check_task_name(task.name) == task.name
    assert type(task.payload) is dict
    assert task.id is None or isinstance(task.id, str)
    assert task.enqueued_at is None or task.enqueued_at.tzinfo is not None


@given(st.text() | st.binary().map(lambda raw: raw.decode("utf-8", errors="replace")))
def test_decode_of_any_text_returns_a_task_or_raises_message_decode_error(text):
    assert_decodes_or_refuses(text)


any_json = json_values | st.floats() | st.integers(min_value=-(10**30), max_value=10**30)
odd_values = {
    "task_name": st.text(max_size=130) | any_json,
    "task_payload": any_json,
    "task_id": st.text(max_size=130) | any_json,
    "enqueued_at": st.datetimes().map(datetime.isoformat) | st.text(max_size=45) | any_json,
    "v": st.integers(-2, 3) | any_json,
    "other": any_json,
}
valid_envelopes = st.fixed_dictionaries(
    {"task_name": task_names, "task_payload": payloads},
    optional={
        "task_id": task_ids,
        "enqueued_at": moments.map(datetime.isoformat),
        "v": st.just(1),
    },
)


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, object]:
    """A valid envelope with a few of its keys dropped or given odd values."""
    envelope: dict[str, object] = draw(valid_envelopes)
    for key in draw(st.lists(st.sampled_from(list(odd_values)), unique=True, max_size=3)):
        if draw(st.booleans()):
            envelope.pop(key, None)
        else:
            envelope[key] = draw(odd_values[key])
    return envelope


@given(envelopes() | st.dictionaries(st.sampled_from(list(odd_values)), any_json, max_size=6))
def test_decode_of_any_json_object_returns_a_task_or_raises_message_decode_error(envelope):
    assert_decodes_or_refuses(json.dumps(envelope))


def test_a_scheduled_task_carries_its_due_time_and_decodes_with_it():
    due = datetime(2026, 12, 24, 18, 0, 0, 250_000, tzinfo=timezone.utc)
    task = Task(name="remind", payload={}, id="t1", not_before=due)

    body = encode_envelope(task)

    assert json.loads(body)["not_before"] == "2026-12-24T18:00:00.250Z"
    assert decode_envelope(body).not_before == due
    assert "not_before" not in json.loads(encode_envelope(Task(name="remind", payload={})))


def test_decode_refuses_a_due_time_that_is_not_a_timestamp():
    body = json.dumps({"task_name": "t", "task_payload": {}, "not_before": "soon"})
    with pytest.raises(MessageDecodeError, match="not_before is not an ISO 8601 timestamp"):
        decode_envelope(body)
