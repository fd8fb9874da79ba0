from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simple_worker.domain._schedule_expression import (
    ExpressionError,
    at_expression,
    check_timezone,
    cron_expression,
    parse_at,
    rate_expression,
)


@pytest.mark.parametrize(
    ("given_text", "expected"),
    [
        ("0 2 * * ? *", "cron(0 2 * * ? *)"),
        ("cron(0 2 * * ? *)", "cron(0 2 * * ? *)"),
        ("0/15 * * * ? *", "cron(0/15 * * * ? *)"),
        ("0 18 ? * MON-FRI *", "cron(0 18 ? * MON-FRI *)"),
        ("0 8 1 JAN,jul ? 2026-2030", "cron(0 8 1 JAN,jul ? 2026-2030)"),
        ("5,35 8-17/2 ? * 2-6 *", "cron(5,35 8-17/2 ? * 2-6 *)"),
        ("0 9 L * ? *", "cron(0 9 L * ? *)"),
        ("0 9 LW * ? *", "cron(0 9 LW * ? *)"),
        ("0 9 15W * ? *", "cron(0 9 15W * ? *)"),
        ("0 9 ? * 6L *", "cron(0 9 ? * 6L *)"),
        ("0 9 ? * FRI#3 *", "cron(0 9 ? * FRI#3 *)"),
        ("*/10 * ? * * *", "cron(*/10 * ? * * *)"),
    ],
)
def test_cron_accepts_eventbridge_scheduler_expressions(given_text, expected):
    assert cron_expression(given_text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0 2 * * *", "has 5 fields"),
        ("0 0 2 * * ? *", "has 7 fields"),
        ("0 2 * * * *", "exactly one of day-of-month"),
        ("0 2 ? * ? *", "exactly one of day-of-month"),
        ("60 2 * * ? *", "minutes value '60' is not 0-59"),
        ("0 24 * * ? *", "hours value '24'"),
        ("0 2 0 * ? *", "day-of-month value '0'"),
        ("0 2 * 13 ? *", "month value '13' is not 1-12 or JAN-DEC"),
        ("0 2 ? * 8 *", "day-of-week value '8' is not 1-7 or SUN-SAT"),
        ("0 2 ? * 1/2 *", "day-of-week takes no '/' step"),
        ("0 2 * * ? 1969", "year value '1969'"),
        ("0/0 2 * * ? *", "step '0'"),
        ("? 2 * * ? *", "'?' is for day-of-month or day-of-week, not minutes"),
        ("0 2 ? * MON#1,FRI#3 *", "a '#' item must stand alone"),
        ("0 2 ? * 2#6 *", "day-of-week value '2#6'"),
        ("0 2 32W * ? *", "day-of-month value '32'"),
        ("x 2 * * ? *", "minutes value 'X'"),
    ],
)
def test_cron_refuses_what_scheduler_refuses_and_says_why(text, says):
    with pytest.raises(ExpressionError) as caught:
        cron_expression(text)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expression", "seconds"),
    [
        ("1 minute", "rate(1 minute)", 60),
        ("5 minutes", "rate(5 minutes)", 300),
        ("rate(1 hour)", "rate(1 hour)", 3600),
        ("2 days", "rate(2 days)", 172_800),
    ],
)
def test_rate_accepts_a_value_and_unit(text, expression, seconds):
    assert rate_expression(text) == (expression, timedelta(seconds=seconds))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0 minutes", "must be 1 or more"),
        ("1 minutes", "wants '1 minute'"),
        ("5 minute", "wants '5 minutes'"),
        ("5 seconds", "minute(s), hour(s) or day(s)"),
        ("1 week", "minute(s), hour(s) or day(s)"),
        ("five minutes", "is not 'VALUE UNIT'"),
        ("-5 minutes", "is not 'VALUE UNIT'"),
        ("rate(5 minutes", "is not 'VALUE UNIT'"),
        ("5", "is not 'VALUE UNIT'"),
    ],
)
def test_rate_refuses_other_forms(text, says):
    with pytest.raises(ExpressionError) as caught:
        rate_expression(text)
    assert says in str(caught.value)


@given(st.integers(min_value=1, max_value=10_000), st.sampled_from(["minute", "hour", "day"]))
def test_rate_takes_singular_for_one_and_plural_above_only(value, unit):
    right = unit if value == 1 else unit + "s"
    wrong = unit + "s" if value == 1 else unit

    assert rate_expression(f"{value} {right}")[0] == f"rate({value} {right})"
    with pytest.raises(ExpressionError):
        rate_expression(f"{value} {wrong}")


def test_at_reads_a_naive_time_in_the_zone_and_converts_an_aware_one():
    naive = datetime(2030, 1, 1, 3, 0, 30, 999)
    aware = datetime(2030, 7, 1, 1, 0, tzinfo=timezone.utc)

    assert at_expression(naive, "Europe/Berlin") == "at(2030-01-01T03:00:30)"
    assert at_expression(aware, "Europe/Berlin") == "at(2030-07-01T03:00:00)"
    assert parse_at("at(2030-07-01T03:00:00)", "Europe/Berlin") == aware
    assert parse_at("rate(1 hour)", "UTC") is None


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2190, 1, 1)))
def test_an_at_expression_reads_back_as_the_same_wall_clock_time(moment):
    expression = at_expression(moment, "UTC")

    assert parse_at(expression, "UTC") == moment.replace(microsecond=0, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_a_known_time_zone_is_accepted(zone):
    assert check_timezone(zone) == zone


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "CEST"])
def test_an_unknown_time_zone_is_refused(zone):
    with pytest.raises(ExpressionError, match="is unknown: use an IANA name"):
        check_timezone(zone)
