"""Logging set-up that the command and `App.worker` share: text for people, or JSON lines.

The text format puts a task's short id on every line logged while it runs (the
worker's lines about it, and the handler's own), so that one task's lines can
be told from another's when threads interleave them.
"""

from __future__ import annotations

import logging
import sys

from simple_worker.adapters.observability._json_log import JsonLogFormatter
from simple_worker.consumer._current import current_task

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
"""The command's text lines, before `TextLogFormatter` adds the task's id."""

SHORT_ID = 8
"""Characters of a task id shown on text lines: enough to tell a worker's tasks apart."""


class TextLogFormatter(logging.Formatter):
    """The command's text format, with ``[task 9f0c1a2b]`` on every line of a task.

    The id is the record's ``task_id`` field (the worker's lines about a task), else
    that of the task running on the logging thread (a handler's own lines).
    """

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        """Return the line, with the task's short id before the message when there is one."""
        task_id = getattr(record, "task_id", None)
        if task_id is None:
            try:
                task_id = current_task().id
            except RuntimeError:  # no task on this thread
                task_id = None
        line = super().formatMessage(record)
        if not task_id:
            return line
        head, _, message = line.partition(f"{record.name}: ")
        return f"{head}{record.name}: [task {str(task_id)[:SHORT_ID]}] {message}"


def configure_logging(level: str = "WARNING", log_format: str = "text") -> None:
    """Log to stderr at ``level``, as ``text`` or ``json`` lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter() if log_format == "json" else TextLogFormatter())
    logging.basicConfig(level=level, handlers=[handler])
    # The level is simple-worker's: at DEBUG, botocore and urllib3 would log every
    # request, signature and header; their warnings still come through.
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def configure_default_logging() -> bool:
    """Log as the command does (INFO, text, stderr) if the process configured no logging.

    Returns:
        Whether it configured logging: not when any handler is set up already.
    """
    if logging.getLogger("simple_worker").hasHandlers():
        return False
    configure_logging("INFO", "text")
    return True
