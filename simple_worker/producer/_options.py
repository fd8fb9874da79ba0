"""The producer's options, checked where `App` takes them."""

from __future__ import annotations

from simple_worker.domain._errors import ConfigurationError
from simple_worker.producer._coalescer import MAX_SEND_WINDOW

MAX_SEND_CONCURRENCY = 64
"""The most calls in flight: the SQS adapter's connection pool holds 64 connections."""


def check_send_options(send_concurrency: int, send_window: float | None) -> None:
    """Refuse a ``send_concurrency`` or ``send_window`` out of range.

    Raises:
        ConfigurationError: either is out of range.
    """
    if isinstance(send_concurrency, bool) or not 1 <= send_concurrency <= MAX_SEND_CONCURRENCY:
        raise ConfigurationError(
            f"send_concurrency must be 1 to {MAX_SEND_CONCURRENCY} calls in flight; "
            f"got {send_concurrency!r}."
        )
    if send_window is not None and not 0 <= send_window <= MAX_SEND_WINDOW:
        raise ConfigurationError(
            f"send_window must be 0 to {MAX_SEND_WINDOW} seconds (or None, to send each "
            f"add_task on its own); got {send_window!r}."
        )
