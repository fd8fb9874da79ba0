"""A worker process for the reliability tests: run as a script, never imported.

    python reliability_worker.py --endpoint URL --prefix PREFIX --record FILE
        [--threads N] [--wait-seconds S] [--read-timeout S] [--log-sqs-calls]

It registers ``record(n, sleep=0.0)`` on queue ``default`` and consumes until
SIGTERM/SIGINT. Each execution appends two JSON lines to the record file, one
``write`` each in append mode (fsynced), so processes can share it:
``{"event": "start", "n": n, "pid": ..., "start": t0}`` before the handler sleeps
``sleep`` seconds, and ``{"event": "end", ..., "end": t1}`` after. A SIGKILL in
between leaves the start alone.

The SQS client is the library's own (`SQSQueue`, botocore's standard retries, 5
attempts), with ``sw-pid/<pid>`` added to its User-Agent so that the fault proxy
can tell which process made each request; ``--read-timeout`` lowers the 30-second
read timeout so that a delayed reply times out quickly. Logs go to stderr; the
worker is ready when it logs "Worker started".
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

from botocore.config import Config

from simple_worker import App, SimpleWorkerError
from simple_worker.adapters.sqs import SQSQueue

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


def build_app(args: argparse.Namespace) -> App:
    """Return the app with its one task, on an SQS client that names this process."""
    options: dict[str, object] = {"user_agent_extra": f"sw-pid/{os.getpid()}"}
    if args.read_timeout is not None:
        options["read_timeout"] = args.read_timeout
    queue = SQSQueue(endpoint_url=args.endpoint, region="us-east-1", config=Config(**options))
    app = App(queue_prefix=args.prefix, queue=queue)

    @app.register_task_handler("record")
    def record(n: int, sleep: float = 0.0) -> None:
        start = time.time()
        append_record(args.record, event="start", n=n, start=start)
        time.sleep(sleep)
        append_record(args.record, event="end", n=n, start=start, end=time.time())

    return app


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description="A simple-worker worker for reliability tests.")
    parser.add_argument("--endpoint", required=True, help="the SQS endpoint URL")
    parser.add_argument("--prefix", required=True, help="the queue prefix")
    parser.add_argument("--record", required=True, help="the file tasks append records to")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--wait-seconds", type=int, default=20, help="long-poll time")
    parser.add_argument("--read-timeout", type=float, default=None, help="botocore read timeout")
    parser.add_argument(
        "--log-sqs-calls", action="store_true", help="log each SQS call (botocore's DEBUG line)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the worker until it stops; return the exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=LOG_FORMAT)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    if args.log_sqs_calls:
        # One "Making request for OperationModel(name=...)" line per call, not per attempt.
        logging.getLogger("botocore.endpoint").setLevel(logging.DEBUG)
    try:
        app = build_app(args)
        app.worker(threads=args.threads, wait_seconds=args.wait_seconds).start()
    except SimpleWorkerError as error:
        sys.stderr.write(f"{error}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
