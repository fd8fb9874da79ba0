"""EventBridge Scheduler's schedule expressions: cron, rate and at. Pure: no I/O, no clock.

- ``cron(minutes hours day-of-month month day-of-week year)``: six fields; one of
  day-of-month and day-of-week is ``?``, the other a value or ``*``.
- ``rate(value unit)``: a whole number of at least 1 and ``minute``/``hour``/``day``,
  singular for 1 and plural (``minutes``...) above.
- ``at(yyyy-mm-ddThh:mm:ss)``: once, at that wall-clock time in the schedule's zone.

The checks refuse what Scheduler would refuse, so a mistake shows where the
schedule is declared rather than when it is synced. Time zones are IANA names,
looked up in the standard library's database (`zoneinfo`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@attrs.frozen
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    step: bool = True
    any_: bool = False
    """Whether ``?`` is allowed (day-of-month and day-of-week)."""


_FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31, any_=True),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 1, 7, _DAYS, step=False, any_=True),
    _Field("year", 1970, 2199),
)
_RATE = re.compile(r"(?:rate\()?\s*(\d+)\s+([a-z]+)\s*\)?")
_RATE_UNITS = {"minute": 60, "hour": 3_600, "day": 86_400}
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_DAY_OF_MONTH_SPECIAL = re.compile(r"L|LW|(\d{1,2})W")
_DAY_OF_WEEK_SPECIAL = re.compile(r"L|(\w{1,3})L|(\w{1,3})#[1-5]")


class ExpressionError(ValueError):
    """An expression or time zone breaks Scheduler's rules; the message says which."""


def cron_expression(text: str) -> str:
    """Return ``cron(...)`` for ``text`` (with or without ``cron(...)`` around it).

    Raises:
        ExpressionError: the fields break Scheduler's cron rules.
    """
    inner = text.strip()
    if inner.startswith("cron(") and inner.endswith(")"):
        inner = inner[5:-1]
    fields = inner.split()
    if len(fields) != len(_FIELDS):
        raise ExpressionError(
            f"cron {text!r} has {len(fields)} fields; EventBridge Scheduler's cron has 6: "
            "minutes hours day-of-month month day-of-week year, e.g. '0 2 * * ? *'"
        )
    for field, value in zip(_FIELDS, fields, strict=True):
        _check_field(field, value.upper())
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ExpressionError(
            f"cron {text!r}: exactly one of day-of-month ({day_of_month}) and day-of-week "
            f"({day_of_week}) must be '?', e.g. '0 2 * * ? *' or '0 2 ? * MON-FRI *'"
        )
    return f"cron({' '.join(fields)})"


def _check_field(field: _Field, value: str) -> None:
    if value == "?":
        if not field.any_:
            raise ExpressionError(f"'?' is for day-of-month or day-of-week, not {field.name}")
        return
    items = value.split(",")
    if field.name == "day-of-week" and "#" in value and len(items) > 1:
        raise ExpressionError(f"day-of-week {value!r}: a '#' item must stand alone")
    for item in items:
        if not _special(field, item):
            _check_item(field, item)


def _special(field: _Field, item: str) -> bool:
    """Whether ``item`` is a valid L, W or # form; raises if it is one with a bad value."""
    if field.name == "day-of-month":
        match = _DAY_OF_MONTH_SPECIAL.fullmatch(item)
        if match is not None and match.group(1):
            _value(field, match.group(1))
        return match is not None
    if field.name == "day-of-week":
        match = _DAY_OF_WEEK_SPECIAL.fullmatch(item)
        day = match and (match.group(1) or match.group(2))
        if day:
            _value(field, day)
        return match is not None
    return False


def _check_item(field: _Field, item: str) -> None:
    body, slash, step = item.partition("/")
    if slash:
        if not field.step:
            raise ExpressionError(f"{field.name} takes no '/' step, got {item!r}")
        if not step.isdecimal() or int(step) < 1:
            raise ExpressionError(f"{field.name} step {step!r} must be a whole number >= 1")
    if body == "*":
        return
    low, dash, high = body.partition("-")
    _value(field, low)
    if dash:
        _value(field, high)


def _value(field: _Field, text: str) -> int:
    if text in field.names:
        return field.names.index(text) + 1
    if not text.isdecimal() or not field.low <= int(text) <= field.high:
        names = f" or {field.names[0]}-{field.names[-1]}" if field.names else ""
        raise ExpressionError(f"{field.name} value {text!r} is not {field.low}-{field.high}{names}")
    return int(text)


def rate_expression(text: str) -> tuple[str, timedelta]:
    """Return ``rate(value unit)`` and its period for ``"5 minutes"`` or ``"rate(5 minutes)"``.

    Raises:
        ExpressionError: not a whole number of at least 1 and a unit Scheduler knows,
            singular for 1 and plural above.
    """
    match = _RATE.fullmatch(text.strip())
    if match is None or (text.strip().startswith("rate(") != text.strip().endswith(")")):
        raise ExpressionError(
            f"rate {text!r} is not 'VALUE UNIT', e.g. '5 minutes', '1 hour' or '2 days'"
        )
    value, unit = int(match.group(1)), match.group(2)
    if value < 1:
        raise ExpressionError(f"rate {text!r}: the value must be 1 or more")
    singular = unit.removesuffix("s")
    if singular not in _RATE_UNITS:
        raise ExpressionError(f"rate {text!r}: the unit is minute(s), hour(s) or day(s)")
    wanted = singular if value == 1 else singular + "s"
    if unit != wanted:
        raise ExpressionError(
            f"rate {text!r}: EventBridge Scheduler wants '{value} {wanted}' "
            "(singular for 1, plural above)"
        )
    return f"rate({value} {unit})", timedelta(seconds=value * _RATE_UNITS[singular])


def at_expression(moment: datetime, zone: str) -> str:
    """Return ``at(yyyy-mm-ddThh:mm:ss)`` for ``moment`` in ``zone``.

    A naive ``moment`` is a wall-clock time in ``zone``; an aware one is converted to it.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(zone))
    return f"at({moment.replace(tzinfo=None, microsecond=0).isoformat(timespec='seconds')})"


def parse_at(expression: str, zone: str) -> datetime | None:
    """Return the moment of an ``at(...)`` expression, aware, or None if it is not one."""
    match = _AT.fullmatch(expression)
    if match is None:
        return None
    return datetime.fromisoformat(match.group(1)).replace(tzinfo=ZoneInfo(zone))


def check_timezone(zone: str) -> str:
    """Return ``zone`` if it is an IANA time zone name (``Europe/Berlin``, ``UTC``).

    Raises:
        ExpressionError: no such zone in the time zone database.
    """
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ExpressionError(
            f"time zone {zone!r} is unknown: use an IANA name such as 'Europe/Berlin' or 'UTC'"
        ) from None
    return zone
