"""Retry policies: how long a failed task's message stays invisible before SQS redelivers it.

The policy only sets the visibility of the same message; the queue's redrive
policy (``maxReceiveCount``) still decides when it goes to the dead-letter queue.
No policy (the default) leaves the message to the queue's visibility timeout.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Protocol

import attrs

from simple_worker.domain._errors import ConfigurationError
from simple_worker.ports.queue import MAX_VISIBILITY_TIMEOUT


class RetryPolicy(Protocol):
    """Chooses the delay before a failed task is delivered again."""

    def delay(self, receive_count: int) -> int:
        """Return seconds (0 to 43,200) until the message that failed on this receive returns."""


@attrs.frozen
class ExponentialBackoff:
    """``base * factor ** (receive_count - 1)`` seconds, capped, with full jitter.

    Full jitter (a random delay between half and all of the step) spreads the
    retries of many tasks that failed together, for example during an outage.
    """

    base: float = 10.0
    factor: float = 2.0
    cap: int = MAX_VISIBILITY_TIMEOUT
    jitter: bool = True
    random: Callable[[], float] = attrs.field(default=random.random, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.base <= 0 or self.factor < 1 or not 0 < self.cap <= MAX_VISIBILITY_TIMEOUT:
            raise ConfigurationError(
                "ExponentialBackoff needs base > 0, factor >= 1 and 0 < cap <= 43200 "
                f"(SQS's 12-hour limit); got base={self.base}, factor={self.factor}, "
                f"cap={self.cap}."
            )

    def delay(self, receive_count: int) -> int:
        """Return the delay after the ``receive_count``-th receive failed."""
        exponent = max(receive_count - 1, 0)
        step = min(float(self.cap), self.base * self.factor ** min(exponent, 64))
        if self.jitter:
            step *= 0.5 + 0.5 * self.random()
        return min(self.cap, round(step))


@attrs.frozen
class RetryIntervals:
    """Fixed delays by attempt, like Shoryuken's ``retry_intervals``: the last one repeats."""

    intervals: Sequence[int] = attrs.field(converter=tuple)

    def __attrs_post_init__(self) -> None:
        if not self.intervals or not all(0 <= i <= MAX_VISIBILITY_TIMEOUT for i in self.intervals):
            raise ConfigurationError(
                "RetryIntervals needs at least one interval, each 0 to 43200 seconds "
                f"(SQS's 12-hour limit); got {list(self.intervals)}."
            )

    def delay(self, receive_count: int) -> int:
        """Return the interval for this attempt; past the list, its last interval."""
        index = min(max(receive_count - 1, 0), len(self.intervals) - 1)
        return int(self.intervals[index])
