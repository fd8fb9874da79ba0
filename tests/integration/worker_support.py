"""What the worker scripts of the integration tests share: imported by them, in their process.

The scripts (``worker_process/app_main.py``, ``reliability/reliability_worker.py``)
run as ``python <script>``, which puts only the script's own folder on ``sys.path``;
each puts this folder (tests/integration) in front before importing this module.
It needs the standard library and simple_worker only: a worker does not import pytest.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable

from simple_worker import SimpleWorkerError

LOG_FORMAT = "%(asctime)s %(process)d %(threadName)s %(levelname)s %(name)s: %(message)s"


def append_record(path: str, **fields: object) -> None:
    """Append one JSON line to ``path`` with a single write, then fsync it."""
    line = json.dumps({**fields, "pid": os.getpid()}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def argument_parser(description: str) -> argparse.ArgumentParser:
    """A parser of the options every worker script takes; a script adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--endpoint", required=True, help="the SQS endpoint URL")
    parser.add_argument("--prefix", required=True, help="the queue prefix")
    parser.add_argument("--record", required=True, help="the file tasks append records to")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--wait-seconds", type=int, default=20, help="long-poll time")
    return parser


RECEIVE_REQUESTS = (
    "Making request for OperationModel(name=ReceiveMessage)",
    "Making request for ReceiveMessage directly",
)
"""How the log of ``configure_logging(log_sqs_requests=True)`` starts a receive's line."""


def configure_logging(*, log_sqs_requests: bool) -> None:
    """Log to stderr, botocore only from WARNING up unless ``log_sqs_requests``.

    With it, botocore's endpoint logs one "Making request for OperationModel(name=...)"
    line per call (not per attempt), and the SQS adapter one "Making request for
    ReceiveMessage directly" per call it makes without botocore's (`RECEIVE_REQUESTS`).
    """
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=LOG_FORMAT)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    if log_sqs_requests:
        logging.getLogger("botocore.endpoint").setLevel(logging.DEBUG)
        logging.getLogger("simple_worker.adapters.sqs._direct").setLevel(logging.DEBUG)


def run_worker(start: Callable[[], None]) -> int:
    """Call ``start``, which runs a worker until it stops; return the exit status.

    0 once it returns; 2, with the error's message and no traceback, when the library
    raises a `SimpleWorkerError` (such as `QueueNotFound` at start). A `SystemExit`
    (128 + the signal number, after a second signal) goes through.
    """
    try:
        start()
    except SimpleWorkerError as error:
        # What the future `simple-worker` CLI will do for users (and own): an error the
        # library detected is a message saying what to do next, not a traceback.
        sys.stderr.write(f"{error}\n")
        return 2
    return 0
