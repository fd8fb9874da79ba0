"""A `logging` formatter that writes one JSON object per line, for log pipelines.

Used by ``simple-worker worker --log-format json``, and usable from code::

    handler = logging.StreamHandler()
    handler.setFormatter(simple_worker.JsonLogFormatter())
    logging.basicConfig(level="INFO", handlers=[handler])
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

# Every attribute a LogRecord has by itself; anything else on a record came from `extra=`.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))
) | {"message", "asctime", "taskName"}


class JsonLogFormatter(logging.Formatter):
    """Formats a record as one JSON object: the standard fields and every ``extra=`` field.

    Fields: ``timestamp`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``,
    ``message``, ``process`` (the PID: several worker processes share a log), then
    the record's extra fields (``task_name``, ``task_id``, ``message_id``, ``queue``,
    ``receive_count``, ``duration``, ``outcome``, ``error_type``, ...), and
    ``exception`` (the formatted traceback) when there is one. A value JSON cannot
    hold is written as its ``str``. Lines are ASCII: other characters are written
    as JSON escapes (6 bytes each; 12 for one outside the BMP, such as an emoji).
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a single line of JSON."""
        moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
        entry: dict[str, object] = {
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{moment.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ASCII: a lone surrogate cannot fail the handler's encoding, any pipeline
        # reads the line, and message text is bounded in these escaped bytes (excerpt).
        return json.dumps(entry, default=str, ensure_ascii=True)
