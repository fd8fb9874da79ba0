"""Logging for the command: text for people, or one JSON object per line for log pipelines."""

from __future__ import annotations

import logging
import sys

from simple_worker.adapters.observability._json_log import JsonLogFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"

JsonFormatter = JsonLogFormatter
"""The formatter's former name, kept for code that imported it from here."""


def configure_logging(level: str = "WARNING", log_format: str = "text") -> None:
    """Log to stderr at ``level``, as ``text`` or ``json`` lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonLogFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    logging.basicConfig(level=level, handlers=[handler])
    # The level is simple-worker's: at DEBUG, botocore and urllib3 would log every
    # request, signature and header; their warnings still come through.
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
