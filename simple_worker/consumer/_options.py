"""How a worker consumes: its options, checked when they are made. Pure.

See ``App.worker`` for each option.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from simple_worker.consumer._event_loop import DEFAULT_ASYNC_CONCURRENCY
from simple_worker.consumer._retry import RetryPolicy
from simple_worker.domain._errors import ConfigurationError
from simple_worker.domain._limits import check_time_limit
from simple_worker.ports.queue import MAX_BATCH_SIZE, MAX_WAIT_SECONDS

DEFAULT_SHUTDOWN_TIMEOUT = 20.0
"""Seconds from a stop request to the end of `Worker.start`, whatever the queue does.

Inside Kubernetes' default 30-second grace period, with room for the process to exit.
"""


@attrs.frozen
class WorkerOptions:
    """How a worker consumes; see ``App.worker`` for each option.

    ``queue_weights`` are by full queue name; a queue not named weighs 1.
    """

    threads: int = 1
    wait_seconds: int = MAX_WAIT_SECONDS
    buffer_size: int | None = None
    retry_policy: RetryPolicy | None = None
    delete_max_wait: float = 1.0
    receivers_per_queue: int = 8
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    queue_weights: Mapping[str, int] = attrs.field(factory=dict, hash=False)
    time_limit: float | None = None
    hard_time_limit: float | None = None
    async_concurrency: int = DEFAULT_ASYNC_CONCURRENCY

    def __attrs_post_init__(self) -> None:
        if self.threads < 1:
            raise ConfigurationError(f"threads must be at least 1; got {self.threads}.")
        if self.async_concurrency < 1:
            raise ConfigurationError(
                f"async_concurrency must be at least 1; got {self.async_concurrency}."
            )
        if not 0 <= self.wait_seconds <= MAX_WAIT_SECONDS:
            raise ConfigurationError(
                f"wait_seconds must be 0 to {MAX_WAIT_SECONDS} (SQS's long-poll limit); "
                f"got {self.wait_seconds}."
            )
        if self.receivers_per_queue < 1:
            raise ConfigurationError(
                f"receivers_per_queue must be at least 1; got {self.receivers_per_queue}."
            )
        if self.buffer_size is not None and self.buffer_size < 1:
            raise ConfigurationError(f"buffer_size must be at least 1; got {self.buffer_size}.")
        if not 0 <= self.shutdown_timeout < math.inf:
            raise ConfigurationError(
                f"shutdown_timeout must be a number of seconds, 0 or more; "
                f"got {self.shutdown_timeout}."
            )
        check_time_limit(self.time_limit)
        check_time_limit(self.hard_time_limit, "hard_time_limit")
        for name, weight in self.queue_weights.items():
            if type(weight) is not int or weight < 1:
                raise ConfigurationError(
                    f"The weight of queue {name} must be a whole number of at least 1; "
                    f"got {weight!r}."
                )

    def capacity(self, queues: int, *, with_async: bool = False) -> int:
        """Return the buffer's size for ``queues`` queues; each queue's long poll needs a place.

        ``buffer_size`` if given, raised to the number of queues. By default, room
        for a full batch beside one per thread (``max(20, 2 * threads)``), and one
        place more for each other queue's long poll, so that one busy queue among
        idle ones receives as much at once as a lone queue. When some of the tasks
        are async (``with_async``), the event loop's slots count as threads: at
        least half of ``async_concurrency``, so that the loop's freed slots are
        filled from the buffer while the next receives are under way.
        """
        if self.buffer_size is not None:
            return max(self.buffer_size, queues)
        runners = 2 * self.threads
        if with_async:
            runners = max(runners, self.async_concurrency // 2)
        return max(2 * MAX_BATCH_SIZE, runners) + queues - 1

    def weights(self, queue_names: Sequence[str]) -> dict[str, int]:
        """Return every consumed queue's weight, by full name.

        Raises:
            ConfigurationError: ``queue_weights`` names a queue not consumed.
        """
        unknown = [name for name in self.queue_weights if name not in queue_names]
        if unknown:
            raise ConfigurationError(
                f"queue_weights names queues the worker does not consume: {', '.join(unknown)}. "
                f"It consumes {', '.join(queue_names) or 'no queue'}."
            )
        return {name: self.queue_weights.get(name, 1) for name in queue_names}
