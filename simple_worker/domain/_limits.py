"""Per-task limits: how long a task may run, and how many of a name run at once. Pure.

Checked when a handler is registered or a worker is made, so that a wrong value
fails at start-up, never mid-run.
"""

from __future__ import annotations

import math

from simple_worker.domain._errors import ConfigurationError

MAX_TIME_LIMIT = 7 * 24 * 3600.0
"""The longest time limit taken: a week; longer is taken for a mistake in units."""


def check_time_limit(value: object, what: str = "time_limit") -> float | None:
    """Return ``value`` as seconds, or None for no limit.

    Raises:
        ConfigurationError: not a positive number of seconds (a bool, NaN, 0,
            negative or over a week).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigurationError(f"{what} must be a number of seconds, not {value!r}.")
    if not 0 < value <= MAX_TIME_LIMIT:
        raise ConfigurationError(
            f"{what} must be more than 0 and at most {MAX_TIME_LIMIT:g} seconds (a week); "
            f"got {value}. Leave it out for no limit."
        )
    return float(value)


def check_max_concurrency(value: object) -> int | None:
    """Return ``value``, a whole number of at least 1, or None for no limit.

    Raises:
        ConfigurationError: not a whole number of at least 1.
    """
    if value is None:
        return None
    if type(value) is not int or value < 1:
        raise ConfigurationError(
            f"max_concurrency must be a whole number of at least 1; got {value!r}. "
            "Leave it out for no limit."
        )
    return value
