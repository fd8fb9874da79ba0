"""``enqueue``'s payload: a JSON object, or key=value pairs read as JSON when they parse."""

import pytest

from simple_worker import ConfigurationError
from simple_worker.cli._messages import parse_payload, parse_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1),
        ("-2.5", -2.5),
        ("true", True),
        ("null", None),
        ('"1"', "1"),
        ("[1, 2]", [1, 2]),
        ('{"a": {"b": 1}}', {"a": {"b": 1}}),
        ("Ada", "Ada"),
        ("", ""),
        ("007", "007"),  # not JSON (leading zero): a string
        ("NaN", "NaN"),  # not JSON either, though Python's json module would read it
        ("Infinity", "Infinity"),
        ("[1,", "[1,"),
    ],
)
def test_a_value_is_json_when_it_parses_and_a_string_otherwise(text, value):
    assert parse_value(text) == value


def test_pairs_make_a_payload():
    assert parse_payload(None, ["n=1", "name=Ada", 'tags=["a"]', "eq=a=b"]) == {
        "n": 1,
        "name": "Ada",
        "tags": ["a"],
        "eq": "a=b",
    }


def test_no_pairs_make_an_empty_payload():
    assert parse_payload(None, []) == {}


def test_a_payload_option_is_a_json_object():
    assert parse_payload('{"a": [1, 2.5, null]}', []) == {"a": [1, 2.5, None]}


@pytest.mark.parametrize(
    ("payload", "pairs", "message"),
    [
        ('{"a": 1', [], "--payload is not JSON: Expecting"),
        ('{"a": NaN}', [], "--payload is not JSON: NaN is not JSON"),
        ("[1]", [], "must be a JSON object (the task's keyword arguments), not a list"),
        ('"text"', [], "not a str"),
        ("{}", ["a=1"], "not both"),
        (None, ["a"], "'a' is not key=value"),
        (None, ["=1"], "'=1' is not key=value"),
        (None, ["a=1", "a=2"], "'a' is given twice"),
    ],
)
def test_malformed_payloads_are_configuration_errors(payload, pairs, message):
    with pytest.raises(ConfigurationError) as error:
        parse_payload(payload, pairs)

    assert message in str(error.value)
