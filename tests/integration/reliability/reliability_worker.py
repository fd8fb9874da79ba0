"""A worker process for the reliability tests: run as a script, never imported.

    python reliability_worker.py --endpoint URL --prefix PREFIX --record FILE
        [--threads N] [--wait-seconds S] [--read-timeout S] [--shutdown-timeout S]
        [--log-sqs-calls]

It registers ``record(n, sleep=0.0, exit_first=False)`` on queue ``default`` and
consumes until SIGTERM/SIGINT. Each execution appends two JSON lines to the record
file, one ``write`` each in append mode (fsynced), so processes can share it:
``{"event": "start", "n": n, "pid": ..., "start": t0}`` before the handler sleeps
``sleep`` seconds, and ``{"event": "end", ..., "end": t1}`` after. A SIGKILL in
between leaves the start alone. With ``exit_first``, an execution that finds no
``exit`` record of its task in the file appends ``{"event": "exit", ..., "end": t1}``
instead of ``end`` and calls ``sys.exit(1)``: the task fails once (a BaseException
from a handler), and must run again after its visibility timeout.

The SQS client is the library's own (`SQSQueue`, botocore's standard retries, 5
attempts), with ``sw-pid/<pid>`` added to its User-Agent so that the fault proxy
can tell which process made each request; ``--read-timeout`` lowers the 30-second
read timeout so that a delayed reply times out quickly; ``--shutdown-timeout``
sets the worker's shutdown budget. Logs go to stderr; the worker is ready when it
logs "Worker started". It exits as ``simple-worker worker`` does: 124 when its stop
reached the budget and gave up on some work.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from botocore.config import Config

from simple_worker import App
from simple_worker.adapters.sqs._queue import SQSQueue

# worker_support.py is in tests/integration, which is not on sys.path (this folder is).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from worker_support import append_record, argument_parser, configure_logging, run_worker

EXIT_GAVE_UP = 124


def build_app(args: argparse.Namespace) -> App:
    """Return the app with its one task, on an SQS client that names this process."""
    options: dict[str, object] = {"user_agent_extra": f"sw-pid/{os.getpid()}"}
    if args.read_timeout is not None:
        options["read_timeout"] = args.read_timeout
    queue = SQSQueue(endpoint_url=args.endpoint, region="us-east-1", config=Config(**options))
    app = App(queue_prefix=args.prefix, queue=queue)

    @app.register_task_handler("record")
    def record(n: int, sleep: float = 0.0, exit_first: bool = False) -> None:
        start = time.time()
        append_record(args.record, event="start", n=n, start=start)
        time.sleep(sleep)
        if exit_first and not has_exited(args.record, n):
            append_record(args.record, event="exit", n=n, start=start, end=time.time())
            sys.exit(1)
        append_record(args.record, event="end", n=n, start=start, end=time.time())

    return app


def has_exited(path: str, n: int) -> bool:
    """Whether the record file holds an ``exit`` record of task ``n``."""
    try:
        with open(path) as lines:
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:  # a line another process is still writing
                    continue
                if record.get("event") == "exit" and record.get("n") == n:
                    return True
    except FileNotFoundError:
        pass
    return False


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argument_parser("A simple-worker worker for reliability tests.")
    parser.add_argument("--read-timeout", type=float, default=None, help="botocore read timeout")
    parser.add_argument("--shutdown-timeout", type=float, default=20.0, help="stop budget")
    parser.add_argument(
        "--log-sqs-calls", action="store_true", help="log each SQS call (botocore's DEBUG line)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the worker until it stops; return the exit status."""
    args = parse_args(argv)
    configure_logging(log_sqs_requests=args.log_sqs_calls)
    workers = []

    def start() -> None:
        worker = build_app(args).worker(
            threads=args.threads,
            wait_seconds=args.wait_seconds,
            shutdown_timeout=args.shutdown_timeout,
        )
        workers.append(worker)
        worker.start()

    status = run_worker(start)
    return EXIT_GAVE_UP if status == 0 and workers[0].gave_up else status


if __name__ == "__main__":
    sys.exit(main())
