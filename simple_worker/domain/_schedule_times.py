"""When a schedule fires next, where that can be computed. Pure: ``now`` is given.

For ``at`` and ``rate`` expressions, and for cron expressions made of values,
ranges, lists, steps and ``*``: the ``L``, ``W`` and ``#`` forms return None
(shown as "-"), as does a cron that fires no more before its last year.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from simple_worker.domain._schedule_expression import parse_at

_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199))
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTH, _DAY_OF_WEEK = 3, 4
"""The positions of the named fields."""
_SEARCH_DAYS = 366 * 8
"""How far ahead a cron is searched: beyond leap-day-only schedules (Feb 29 on a Monday)."""


def next_fire(
    expression: str,
    zone: str,
    now: datetime,
    *,
    anchor: datetime | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> datetime | None:
    """Return the next time after ``now`` the schedule fires (aware, in ``zone``), or None.

    Args:
        expression: ``cron(...)``, ``rate(...)`` or ``at(...)``.
        zone: the schedule's time zone.
        now: the current time, aware.
        anchor: when a rate schedule began counting (its creation), if it has no ``start``.
        start: the schedule's start date: nothing fires before it.
        end: the schedule's end date: nothing fires after it.
    """
    tz = ZoneInfo(zone)
    after = max(now, start) if start is not None else now
    found: datetime | None
    if expression.startswith("at("):
        found = parse_at(expression, zone)
        found = found if found is not None and found > now else None
    elif expression.startswith("rate("):
        found = _next_rate(expression, start or anchor, after)
    else:
        found = _next_cron(expression[5:-1].split(), after.astimezone(tz), tz)
    if found is None or (end is not None and found > end):
        return None
    return found.astimezone(tz)


def _next_rate(expression: str, anchor: datetime | None, after: datetime) -> datetime | None:
    if anchor is None:
        return None
    value, unit = expression[5:-1].split()
    period = timedelta(**{unit.removesuffix("s") + "s": int(value)})
    if anchor >= after:
        return anchor
    periods = (after - anchor) // period + 1
    return anchor + periods * period


def _next_cron(fields: list[str], after: datetime, tz: ZoneInfo) -> datetime | None:
    sets = [
        _values(field.upper(), low, high, i)
        for i, (field, (low, high)) in enumerate(zip(fields, _RANGES, strict=True))
    ]
    if any(values is None for values in sets):
        return None
    minutes, hours, days, months, weekdays, years = (v or set() for v in sets)
    if fields[2] == "?":
        days = set(range(1, 32))
    if fields[4] == "?":
        weekdays = set(range(1, 8))
    start = after.date()
    for offset in range(_SEARCH_DAYS):
        day = start + timedelta(days=offset)
        if not _day_matches(day, days, months, weekdays, years):
            continue
        for hour in sorted(hours):
            for minute in sorted(minutes):
                moment = datetime.combine(day, time(hour, minute), tzinfo=tz)
                if moment > after:
                    return moment
    return None


def _day_matches(
    day: date, days: set[int], months: set[int], weekdays: set[int], years: set[int]
) -> bool:
    # Cron counts SUN as 1; Python's isoweekday counts MON as 1 and SUN as 7.
    weekday = day.isoweekday() % 7 + 1
    return day.year in years and day.month in months and day.day in days and weekday in weekdays


def _values(field: str, low: int, high: int, index: int) -> set[int] | None:
    """Return the values a field matches; None for the L, W and # forms."""
    if field == "?":
        return set()
    names = {_MONTH: _MONTHS, _DAY_OF_WEEK: _DAYS}.get(index, ())
    found: set[int] = set()
    for item in field.split(","):
        if any(mark in item for mark in "LW#"):
            return None
        body, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            first, last = low, high
        else:
            first_text, dash, last_text = body.partition("-")
            first = _number(first_text, names)
            last = _number(last_text, names) if dash else (high if step_text else first)
        if last < first:  # a range that wraps around (FRI-MON)
            found.update(range(first, high + 1, step))
            found.update(range(low, last + 1, step))
        else:
            found.update(range(first, last + 1, step))
    return found


def _number(text: str, names: tuple[str, ...]) -> int:
    return names.index(text) + 1 if text in names else int(text)
