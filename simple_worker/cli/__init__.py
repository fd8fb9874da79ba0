"""The ``simple-worker`` command (also ``python -m simple_worker``).

Built on the standard library's argparse: the commands are few and plain, and the
library's users then need no extra dependency.

Commands: ``worker`` (consume; ``--processes`` for a supervisor), ``queues create``,
``check``, ``stats``, ``redrive``, ``enqueue`` and ``purge``; each has ``--help``.
The command layer parses, prints and maps errors to exit statuses; queue
operations go through `simple_worker.adapters.sqs._admin`.

Exit statuses: 0 success; 1 an unexpected error, a failed SQS call, or a problem
found (``check``); 2 a usage or configuration error (bad app path, missing queues,
a task ``add_task`` refuses), with a one-line message and no traceback; 128 + N
when a signal N forced the stop (130 after Ctrl-C).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from simple_worker import __version__
from simple_worker.cli import _check as check
from simple_worker.cli import _messages as messages
from simple_worker.cli import _queues as queues
from simple_worker.cli import _redrive as redrive
from simple_worker.cli import _stats as stats
from simple_worker.cli import _worker as worker
from simple_worker.cli._common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Parser,
    err,
    one_line,
)
from simple_worker.cli._logs import configure_logging
from simple_worker.domain._errors import QueueServiceError, SimpleWorkerError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
    # Only the worker logs as it goes; the other commands print their results, and their
    # errors are the one line below (a library warning would repeat it).
    configure_logging(getattr(args, "log_level", "ERROR"), getattr(args, "log_format", "text"))
    try:
        return int(args.run(args))
    except QueueServiceError as error:
        err(f"simple-worker: {one_line(error)}")
        return EXIT_FAILURE
    except SimpleWorkerError as error:
        err(f"simple-worker: {one_line(error)}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("simple-worker: interrupted")
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every command."""
    parser = Parser(
        prog="simple-worker",
        description="Run simple-worker workers, and operate the app's SQS queues.",
        epilog="Run 'simple-worker COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for module in (worker, queues, check, stats, redrive, messages):
        module.register(commands)
    return parser
