import enum
import json
import runpy
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given

from simple_worker.domain._errors import InvalidPayload, TaskRefused
from simple_worker.domain._payload import MAX_DEPTH, check_payload

# Run by path: importlib mode puts no test folder on sys.path.
payloads = runpy.run_path(str(Path(__file__).with_name("json_strategies.py")))["payloads"]


class Color(enum.IntEnum):
    RED = 1


class Size(str, enum.Enum):
    SMALL = "small"


class Name(str):
    pass


def refusal(payload: object, task_name: str = "send_email") -> InvalidPayload:
    with pytest.raises(InvalidPayload) as caught:
        check_payload(task_name, payload)
    return caught.value


def nested_lists(levels: int, innermost: object = 1) -> object:
    value = innermost
    for _ in range(levels):
        value = [value]
    return value


def nested_dicts(levels: int, innermost: object = 1) -> object:
    value = innermost
    for _ in range(levels):
        value = {"k": value}
    return value


def test_check_payload_accepts_nested_plain_json_and_returns_an_equal_dict():
    payload = {
        "to": "a@example.com",
        "count": 3,
        "ratio": 0.5,
        "flags": [True, False, None],
        "nested": {"ids": [1, 2, {"deep": "x"}], "empty": {}, "none": []},
        "unicode": "caf\u00e9 \u2603",
        "big": 2**70,
        "negative_zero": -0.0,
    }
    result = check_payload("send_email", payload)
    assert result == payload
    assert type(result) is dict


def test_check_payload_returns_a_copy_so_mutating_it_leaves_the_input_alone():
    payload = {"a": 1}
    result = check_payload("send_email", payload)
    result["b"] = 2
    del result["a"]
    assert payload == {"a": 1}


def test_check_payload_accepts_any_mapping_and_returns_a_plain_dict():
    result = check_payload("send_email", MappingProxyType({"a": 1}))
    assert result == {"a": 1}
    assert type(result) is dict


def test_check_payload_accepts_an_empty_payload():
    assert check_payload("send_email", {}) == {}


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_check_payload_refuses_non_finite_floats_and_names_their_path(number):
    error = refusal({"a": [0, number]})
    assert error.path == "payload['a'][1]"
    assert error.reason == f"{number!r} is not a JSON number"
    assert "payload['a'][1]" in str(error)


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (b"bytes", "bytes"),
        ({1, 2}, "set"),
        (frozenset(), "frozenset"),
        ((1, 2), "tuple"),
        (datetime(2026, 1, 1, tzinfo=timezone.utc), "datetime"),
        (Decimal("1.5"), "Decimal"),
        (object(), "object"),
        (Color.RED, "Color"),
        (Size.SMALL, "Size"),
        (Name("x"), "Name"),
        (1j, "complex"),
    ],
)
def test_check_payload_refuses_non_json_values_and_names_type_and_path(value, type_name):
    error = refusal({"outer": {"inner": value}})
    assert error.path == "payload['outer']['inner']"
    assert error.reason == f"{type_name} is not a JSON type"


def test_check_payload_refuses_a_tuple_rather_than_turning_it_into_a_list():
    error = refusal({"point": (1, 2)})
    assert error.path == "payload['point']"
    assert "tuple" in error.reason


def test_check_payload_refuses_an_int_enum_that_would_come_back_as_a_bare_int():
    error = refusal({"colors": [1, Color.RED]})
    assert error.path == "payload['colors'][1]"
    assert error.reason == "Color is not a JSON type"


@pytest.mark.parametrize(
    ("key", "description"), [(1, "key 1 is a int"), ((1, 2), "key (1, 2) is a tuple")]
)
def test_check_payload_refuses_non_str_keys_inside_a_value(key, description):
    error = refusal({"a": {key: "x"}})
    assert error.path == "payload['a']"
    assert error.reason == f"{description}, not a str"


def test_check_payload_refuses_a_non_str_key_at_the_top_level():
    error = refusal({"ok": 1, 2: "x"})
    assert error.path == "payload"
    assert error.reason == "key 2 is a int, not a str"


def test_check_payload_refuses_a_str_subclass_key():
    error = refusal({"a": {Size.SMALL: 1}})
    assert error.path == "payload['a']"
    assert "Size" in error.reason


@pytest.mark.parametrize(
    ("payload", "type_name"),
    [([("a", 1)], "list"), (None, "NoneType"), ("a=1", "str"), (5, "int")],
)
def test_check_payload_refuses_a_payload_that_is_not_a_mapping(payload, type_name):
    error = refusal(payload)
    assert error.path == "payload"
    assert error.reason == f"{type_name} is not a mapping"


def test_invalid_payload_names_the_task_and_is_a_task_refusal():
    error = refusal({"a": float("nan")}, task_name="billing.charge")
    assert isinstance(error, TaskRefused)
    assert error.task_name == "billing.charge"
    assert "'billing.charge'" in str(error)


def test_max_depth_is_64():
    assert MAX_DEPTH == 64


# The payload dict itself is level 1, so MAX_DEPTH - 1 containers may nest inside it.
@pytest.mark.parametrize("nest", [nested_lists, nested_dicts])
def test_check_payload_accepts_containers_nested_exactly_max_depth_levels(nest):
    payload = {"a": nest(MAX_DEPTH - 1)}
    assert check_payload("send_email", payload) == payload


@pytest.mark.parametrize("innermost", [[], {}, [1], {"k": 1}])
def test_check_payload_refuses_a_container_one_level_deeper_than_max_depth(innermost):
    error = refusal({"a": nested_lists(MAX_DEPTH - 1, innermost)})
    assert error.path == "payload['a']" + "[0]" * (MAX_DEPTH - 1)
    assert error.reason == f"nested deeper than {MAX_DEPTH} levels"


def test_check_payload_refuses_very_deep_nesting_without_recursion_error():
    error = refusal({"a": nested_lists(100_000)})
    assert error.reason == f"nested deeper than {MAX_DEPTH} levels"


@given(payloads)
def test_check_payload_accepts_any_plain_json_and_it_round_trips(payload):
    result = check_payload("send_email", payload)
    assert result == payload
    assert json.loads(json.dumps(result)) == payload


def test_check_payload_refuses_an_int_too_large_to_encode_as_json():
    refusal({"a": 10**5000})


def test_check_payload_refuses_a_lone_surrogate_in_a_string_or_a_key():
    with pytest.raises(InvalidPayload, match="lone surrogate") as raised:
        check_payload("t", {"text": "ok \udcff"})
    assert raised.value.path == "payload['text']"

    with pytest.raises(InvalidPayload, match="lone surrogate"):
        check_payload("t", {"\ud800": 1})


def test_check_payload_accepts_non_ascii_text():
    assert check_payload("t", {"name": "Zoë 東京 🎉"}) == {"name": "Zoë 東京 🎉"}


def test_an_invalid_payload_path_cuts_a_huge_key_short():
    with pytest.raises(InvalidPayload) as raised:
        check_payload("t", {"k" * 100_000: float("nan")})

    assert len(str(raised.value)) < 1000
