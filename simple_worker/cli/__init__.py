"""The ``simple-worker`` command (also ``python -m simple_worker``).

Built on the standard library's argparse: the commands are few and plain, and the
library's users then need no extra dependency.

Commands: ``worker`` (consume; ``--processes`` for a supervisor), ``queues create``,
``check``, ``stats``, ``redrive``, ``dlq show``, ``enqueue``, ``purge``, ``schedules``
(``sync``, ``list``, ``role-policy``) and ``dashboard``; each has ``--help``.
The command layer parses, prints and maps errors to exit statuses; queue
operations go through `simple_worker.adapters.sqs._admin`.

Exit statuses: 0 success; 1 an unexpected error, a failed SQS call, or a problem
found (``check``); 2 a usage or configuration error (bad app path, missing queues,
a task ``add_task`` refuses, no AWS credentials), with a one-line message and no
traceback (the user's, when their module raised while it was imported); 124 when a
worker's stop reached its shutdown budget and left work to SQS; 128 + N when a
signal N forced the stop (130 after Ctrl-C); 141 when stdout's reader went away
(``| head``), quietly.

``main`` installs the ``worker`` command's signal handlers before it imports
anything heavy (`EarlyStop`): a SIGTERM while the command starts is a graceful stop.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

# Only this, before anything heavy: `main` catches the stop signals before it imports
# the commands, boto3 and the user's app, which take a tenth of a second or more.
from simple_worker.adapters.system._signals import EarlyStop

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

__all__ = ["build_parser", "main"]

EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: stdout's reader went away, as a shell reports for a tool SIGPIPE killed."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    early = EarlyStop()
    if arguments[:1] == ["worker"]:
        early.install()  # see `EarlyStop`: a signal from here on stops gracefully
    try:
        return _run(arguments, early)
    except BrokenPipeError:
        # Whoever read stdout stopped (`simple-worker check APP | head -1`): stop quietly,
        # as a Unix tool killed by SIGPIPE does, and keep the exit flush from failing too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    finally:
        early.restore()


def _run(arguments: list[str], early: EarlyStop) -> int:
    # Imported here, after the signal handlers: see the imports above.
    from simple_worker.cli._common import (  # noqa: PLC0415
        EXIT_FAILURE,
        EXIT_INTERRUPTED,
        EXIT_USAGE,
        err,
        one_line,
    )
    from simple_worker.cli._logs import configure_logging  # noqa: PLC0415
    from simple_worker.domain._errors import (  # noqa: PLC0415
        ConfigurationError,
        QueueServiceError,
        SimpleWorkerError,
    )

    args = build_parser().parse_args(arguments)
    args.early_stop = early
    # Only the worker logs as it goes; the other commands print their results, and their
    # errors are the one line below (a library warning would repeat it).
    configure_logging(getattr(args, "log_level", "ERROR"), getattr(args, "log_format", "text"))
    try:
        return int(args.run(args))
    except QueueServiceError as error:
        err(f"simple-worker: {one_line(error)}")
        # No credentials is a configuration error, though SQS never got the call.
        return EXIT_USAGE if isinstance(error, ConfigurationError) else EXIT_FAILURE
    except SimpleWorkerError as error:
        # The user's code raised while the app loaded: its traceback says where.
        user_traceback = getattr(error, "user_traceback", "")
        if user_traceback:
            sys.stderr.write(user_traceback)
        err(f"simple-worker: {one_line(error)}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("simple-worker: interrupted")
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every command."""
    # Imported here, after the signal handlers: see the imports above.
    from simple_worker import __version__  # noqa: PLC0415
    from simple_worker.cli import (  # noqa: PLC0415
        _check,
        _dashboard,
        _dlq,
        _messages,
        _queues,
        _redrive,
        _schedules,
        _stats,
        _worker,
    )
    from simple_worker.cli._common import Parser  # noqa: PLC0415

    parser = Parser(
        prog="simple-worker",
        description="Run simple-worker workers, and operate the app's SQS queues.",
        epilog="Run 'simple-worker COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for module in (
        _worker,
        _queues,
        _check,
        _stats,
        _redrive,
        _dlq,
        _messages,
        _schedules,
        _dashboard,
    ):
        module.register(commands)
    return parser
