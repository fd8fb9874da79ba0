"""The ``simple-worker`` command (also ``python -m simple_worker``).

Built on the standard library's argparse: the commands are few and plain, and
the library's users then need no extra dependency.

Exit statuses: 0 a clean stop; 1 an unexpected error; 2 a usage or configuration
error (bad app path, missing queues), with a one-line message and no traceback;
128 + N when a second signal N forced the stop.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from simple_worker import __version__
from simple_worker.cli.loading import load_app
from simple_worker.domain.errors import SimpleWorkerError

EXIT_USAGE = 2
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(getattr(args, "log_level", "INFO"))
    try:
        return int(args.run(args))
    except SimpleWorkerError as error:
        print(f"simple-worker: {error}", file=sys.stderr)  # noqa: T201 - the CLI's own output
        return EXIT_USAGE


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format=_LOG_FORMAT, stream=sys.stderr)
    if level != "DEBUG":
        # botocore's INFO lines (where it found credentials) are noise in a worker's log.
        logging.getLogger("botocore").setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simple-worker", description="Run simple-worker workers and tools."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    worker = commands.add_parser(
        "worker",
        help="consume tasks until SIGTERM/SIGINT",
        description="Load the App and consume its queues until SIGTERM or SIGINT.",
    )
    worker.add_argument("app", help="the App to run, as module.path:attribute")
    worker.add_argument(
        "--queues",
        type=lambda text: [name for name in text.split(",") if name],
        help="comma-separated queues to consume, without the prefix (default: all the app's)",
    )
    worker.add_argument("--threads", type=int, default=1, help="tasks run at once (default: 1)")
    worker.add_argument(
        "--wait-seconds", type=int, default=20, help="long-poll time, 0 to 20 (default: 20)"
    )
    worker.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default: INFO)",
    )
    worker.set_defaults(run=_run_worker)
    return parser


def _run_worker(args: argparse.Namespace) -> int:
    app = load_app(args.app)
    app.worker(args.queues, threads=args.threads, wait_seconds=args.wait_seconds).start()
    return 0
