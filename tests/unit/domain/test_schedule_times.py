from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simple_worker.domain._schedule_expression import cron_expression
from simple_worker.domain._schedule_times import next_fire

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 4, 20, 30, tzinfo=UTC)


def test_a_daily_cron_fires_next_at_its_wall_clock_time_in_its_zone():
    fire = next_fire("cron(0 2 * * ? *)", "Europe/Berlin", NOW)

    assert fire == datetime(2026, 12, 5, 2, 0, tzinfo=BERLIN)


def test_a_weekday_cron_skips_the_weekend():
    friday_evening = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)  # a Friday

    fire = next_fire("cron(0 18 ? * MON-FRI *)", "UTC", friday_evening)

    assert fire == datetime(2026, 12, 7, 18, 0, tzinfo=UTC)


def test_a_stepped_cron_fires_at_the_next_step():
    assert next_fire("cron(0/15 * * * ? *)", "UTC", NOW) == datetime(
        2026, 12, 4, 20, 45, tzinfo=UTC
    )


def test_a_cron_past_its_last_year_never_fires_again():
    assert next_fire("cron(0 2 * * ? 2020)", "UTC", NOW) is None


@pytest.mark.parametrize("expression", ["cron(0 9 L * ? *)", "cron(0 9 ? * FRI#3 *)"])
def test_l_w_and_hash_forms_are_not_computed(expression):
    assert next_fire(expression, "UTC", NOW) is None


def test_a_rate_fires_whole_periods_after_its_creation():
    created = datetime(2026, 12, 4, 20, 2, tzinfo=UTC)

    fire = next_fire("rate(5 minutes)", "UTC", NOW, anchor=created)

    assert fire == datetime(2026, 12, 4, 20, 32, tzinfo=UTC)


def test_a_rate_without_start_or_creation_is_not_computed():
    assert next_fire("rate(5 minutes)", "UTC", NOW) is None


def test_a_rate_with_a_future_start_fires_first_at_the_start():
    start = NOW + timedelta(days=3)

    assert next_fire("rate(1 day)", "UTC", NOW, start=start) == start


def test_an_at_fires_once_and_then_no_more():
    assert next_fire("at(2030-01-01T03:00:00)", "Europe/Berlin", NOW) == datetime(
        2030, 1, 1, 3, 0, tzinfo=BERLIN
    )
    assert next_fire("at(2020-01-01T03:00:00)", "Europe/Berlin", NOW) is None


def test_nothing_fires_after_the_end_date():
    end = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)

    assert next_fire("cron(0 2 * * ? *)", "UTC", NOW, end=end) is None


@given(
    minute=st.integers(0, 59),
    hour=st.integers(0, 23),
    now=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2150, 1, 1), timezones=st.just(UTC)
    ),
)
def test_a_daily_cron_fires_within_a_day_at_its_hour_and_minute(minute, hour, now):
    fire = next_fire(f"cron({minute} {hour} * * ? *)", "UTC", now)

    assert fire is not None
    assert now < fire <= now + timedelta(days=1)
    assert (fire.hour, fire.minute, fire.second) == (hour, minute, 0)


def _field(low, high, *, steps=True):
    value = st.integers(low, high)
    forms = [
        st.just("*"),
        value.map(str),
        st.tuples(value, value).map(lambda pair: f"{min(pair)}-{max(pair)}"),
        st.lists(value, min_size=1, max_size=3).map(lambda items: ",".join(map(str, items))),
    ]
    if steps:
        forms.append(st.tuples(value, st.integers(1, 10)).map(lambda pair: f"{pair[0]}/{pair[1]}"))
    return st.one_of(forms)


@given(
    minutes=_field(0, 59),
    hours=_field(0, 23),
    day=_field(1, 28),
    weekday=_field(1, 7, steps=False),
    on_weekday=st.booleans(),
    now=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2150, 1, 1), timezones=st.just(UTC)
    ),
)
def test_a_valid_cron_of_values_ranges_and_steps_is_accepted_and_fires_when_it_says(
    minutes, hours, day, weekday, on_weekday, now
):
    days = f"? * {weekday}" if on_weekday else f"{day} * ?"
    expression = cron_expression(f"{minutes} {hours} {days} *")

    fire = next_fire(expression, "UTC", now)

    assert fire is not None
    assert fire > now
    assert next_fire(expression, "UTC", fire - timedelta(minutes=1)) == fire
