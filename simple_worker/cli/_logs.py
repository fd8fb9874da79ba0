"""Logging for the command: text for people, or one JSON object per line for log pipelines.

The set-up itself is `simple_worker._logging`'s, shared with ``app.worker()``.
"""

from __future__ import annotations

from simple_worker._logging import TEXT_FORMAT, TextLogFormatter, configure_logging
from simple_worker.adapters.observability._json_log import JsonLogFormatter

__all__ = ["TEXT_FORMAT", "JsonFormatter", "TextLogFormatter", "configure_logging"]

JsonFormatter = JsonLogFormatter
"""The formatter's former name, kept for code that imported it from here."""
