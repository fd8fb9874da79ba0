"""A worker process for the integration tests: run as a script, never imported.

    python app_main.py --endpoint URL --prefix PREFIX --record FILE
        [--threads N] [--wait-seconds S] [--queues default=3,other] [--handler-sleep S]
        [--numbered-queues N] [--log-sqs-requests]

It registers four tasks (and ``--numbered-queues`` more) and consumes until
SIGTERM/SIGINT:

- ``record(n, sleep=None)`` on queue ``default`` and ``record_other(n, sleep=None)``
  on queue ``other`` append a JSON line ``{"event": "start", ...}`` to the record
  file, sleep (``sleep``, or ``--handler-sleep`` when the task gives none), then
  append ``{"event": "end", "n": n, "pid": ..., "start": t0, "end": t1}``;
- ``boom(n)`` on queue ``default`` appends ``{"event": "boom", ...}`` and raises;
- ``exit(n)`` on queue ``default`` appends ``{"event": "exit", ...}`` and calls
  ``sys.exit(n)``, as a script's code might.
- with ``--numbered-queues N``, ``record_0`` to ``record_<N-1>`` on queues ``q0``
  to ``q<N-1>``, which record like ``record``.

``--queues`` names the queues to consume, each with an optional weight
(``name=weight``, passed as ``app.worker(queue_weights=...)``).

Each line is one ``write`` in append mode, flushed and fsynced, so several
threads and processes can share one record file.

Logs go to stderr; the worker is ready when it logs "Worker started". The exit
status is what ``start()`` leads to: 0 after a graceful stop, 128 + the signal
number after a second signal (``SystemExit`` from the library), and 2, with the
error's message and no traceback, when the library raises a `SimpleWorkerError`
such as `QueueNotFound` at start.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from simple_worker import App

# worker_support.py is in tests/integration, which is not on sys.path (this folder is).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from worker_support import append_record, argument_parser, configure_logging, run_worker


def build_app(args: argparse.Namespace) -> App:
    """Return the app, with the tasks the tests send."""
    app = App(queue_prefix=args.prefix, sqs_endpoint_url=args.endpoint, sqs_region="us-east-1")

    def run_recorded(task: str, n: int, sleep: float | None) -> None:
        start = time.time()
        append_record(args.record, event="start", task=task, n=n, start=start)
        time.sleep(args.handler_sleep if sleep is None else sleep)
        append_record(args.record, event="end", task=task, n=n, start=start, end=time.time())

    @app.register_task_handler("record")
    def record(n: int, sleep: float | None = None) -> None:
        run_recorded("record", n, sleep)

    @app.register_task_handler("record_other", queue="other")
    def record_other(n: int, sleep: float | None = None) -> None:
        run_recorded("record_other", n, sleep)

    @app.register_task_handler("boom")
    def boom(n: int) -> None:
        append_record(args.record, event="boom", task="boom", n=n, start=time.time())
        raise RuntimeError(f"boom {n}")

    @app.register_task_handler("exit")
    def exit_(n: int) -> None:
        append_record(args.record, event="exit", task="exit", n=n, start=time.time())
        sys.exit(n)

    for index in range(args.numbered_queues):
        name = f"record_{index}"

        def record_numbered(n: int, sleep: float | None = None, name: str = name) -> None:
            run_recorded(name, n, sleep)

        app.register_task_handler(name, queue=f"q{index}")(record_numbered)
    return app


def queues_and_weights(text: str | None) -> tuple[list[str] | None, dict[str, int]]:
    """Split ``--queues a=3,b`` into the names and the weights given."""
    if not text:
        return None, {}
    names, weights = [], {}
    for item in text.split(","):
        name, _, weight = item.partition("=")
        names.append(name)
        if weight:
            weights[name] = int(weight)
    return names, weights


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argument_parser("A simple-worker worker for the tests.")
    parser.add_argument(
        "--queues", default=None, help="comma-separated queues (default: every registered one)"
    )
    parser.add_argument(
        "--handler-sleep", type=float, default=0.0, help="seconds a record task sleeps by default"
    )
    parser.add_argument(
        "--numbered-queues", type=int, default=0, help="record_<i> tasks on queues q<i>"
    )
    parser.add_argument(
        "--log-sqs-requests",
        action="store_true",
        help="log each SQS request as it is made (botocore's 'Making request for ...')",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the worker until it stops; return the exit status."""
    args = parse_args(argv)
    configure_logging(log_sqs_requests=args.log_sqs_requests)
    app = build_app(args)
    queues, weights = queues_and_weights(args.queues)
    return run_worker(
        lambda: app.worker(
            queues,
            threads=args.threads,
            wait_seconds=args.wait_seconds,
            queue_weights=weights,
        ).start()
    )


if __name__ == "__main__":
    sys.exit(main())
