from datetime import datetime, timedelta, timezone

import pytest

from simple_worker.domain._errors import InvalidTaskOptions
from simple_worker.domain._options import (
    MAX_DELAY_SECONDS,
    TaskOptions,
    Timing,
    check_sqs_id,
    content_deduplication_id,
    group_id_from_payload,
    timing,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("given", "seconds"),
    [(0, 0), (1, 1), (900, 900), (1.2, 2), (timedelta(minutes=2), 120), (timedelta(0), 0)],
)
def test_delay_is_whole_seconds_rounded_up(given, seconds):
    assert TaskOptions(delay=given).delay == seconds


@pytest.mark.parametrize("given", [-1, 901, timedelta(minutes=16), float("nan"), "60", True])
def test_a_delay_sqs_would_refuse_is_refused_here(given):
    with pytest.raises(InvalidTaskOptions, match="delay"):
        TaskOptions(delay=given)


def test_a_delay_over_the_limit_points_to_not_before():
    with pytest.raises(InvalidTaskOptions, match="not_before"):
        TaskOptions(delay=3600)


def test_not_before_must_be_timezone_aware():
    with pytest.raises(InvalidTaskOptions, match="timezone-aware"):
        TaskOptions(not_before=datetime(2026, 12, 1, 12, 0))


def test_delay_and_not_before_together_are_refused():
    with pytest.raises(InvalidTaskOptions, match="not both"):
        TaskOptions(delay=5, not_before=NOW)


@pytest.mark.parametrize("value", ["tenant-7", "a", "x" * 128, "order#17/line:3", "~!@[]{}"])
def test_group_and_deduplication_ids_take_what_sqs_takes(value):
    assert TaskOptions(group_id=value, deduplication_id=value).group_id == value


@pytest.mark.parametrize("value", ["", "x" * 129, "has space", "é", "tab\t", 17])
def test_group_and_deduplication_ids_sqs_would_refuse_are_refused(value):
    with pytest.raises(InvalidTaskOptions):
        TaskOptions(group_id=value)
    with pytest.raises(InvalidTaskOptions):
        TaskOptions(deduplication_id=value)


def test_check_sqs_id_names_the_option_in_its_error():
    with pytest.raises(InvalidTaskOptions, match="group_id must be a str, not int"):
        check_sqs_id("group_id", 5)


def test_options_given_win_over_defaults_and_timing_is_taken_whole():
    defaults = TaskOptions(delay=30, group_id="g-default")
    assert TaskOptions().over(defaults) == defaults
    assert TaskOptions(group_id="g").over(defaults) == TaskOptions(delay=30, group_id="g")
    later = NOW + timedelta(hours=1)
    # A not_before given replaces the default delay instead of clashing with it.
    assert TaskOptions(not_before=later).over(defaults) == TaskOptions(
        not_before=later, group_id="g-default"
    )
    assert TaskOptions(delay=0).over(defaults).delay == 0


def test_timing_of_a_plain_delay():
    assert timing(TaskOptions(delay=60), NOW) == Timing(delay_seconds=60)
    assert timing(TaskOptions(), NOW) == Timing()


@pytest.mark.parametrize(
    ("ahead", "expected"),
    [
        (timedelta(seconds=-30), Timing(0)),
        (timedelta(seconds=10.2), Timing(11)),
        (timedelta(seconds=MAX_DELAY_SECONDS), Timing(MAX_DELAY_SECONDS)),
    ],
)
def test_not_before_within_one_sqs_delay_is_a_plain_delay(ahead, expected):
    assert timing(TaskOptions(not_before=NOW + ahead), NOW) == expected


def test_not_before_beyond_one_sqs_delay_carries_its_due_time():
    due = NOW + timedelta(hours=5)
    assert timing(TaskOptions(not_before=due), NOW) == Timing(MAX_DELAY_SECONDS, due)


def test_not_before_more_than_a_year_ahead_is_refused():
    with pytest.raises(InvalidTaskOptions, match="days ahead"):
        timing(TaskOptions(not_before=NOW + timedelta(days=400)), NOW)


def test_group_id_from_a_payload_field():
    assert group_id_from_payload("t", "tenant", {"tenant": "acme"}) == "acme"
    assert group_id_from_payload("t", "tenant", {"tenant": 42}) == "42"
    assert group_id_from_payload("t", "tenant", {}) is None
    with pytest.raises(InvalidTaskOptions, match="str or an int; got bool"):
        group_id_from_payload("t", "tenant", {"tenant": True})
    with pytest.raises(InvalidTaskOptions, match="characters SQS refuses"):
        group_id_from_payload("t", "tenant", {"tenant": "a b"})


def test_content_deduplication_id_depends_on_name_and_payload_only():
    first = content_deduplication_id("t", {"a": 1, "b": [1, 2]})
    assert first == content_deduplication_id("t", {"b": [1, 2], "a": 1})
    assert first != content_deduplication_id("u", {"a": 1, "b": [1, 2]})
    assert first != content_deduplication_id("t", {"a": 2, "b": [1, 2]})
    assert len(first) == 64
    check_sqs_id("deduplication_id", first)
