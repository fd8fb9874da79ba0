"""``simple-worker worker APP``: consume the app's queues, in one process or several.

With ``--processes 1`` (the default) the worker runs in this process. With more,
this process becomes a supervisor (`simple_worker.cli.supervisor`) that runs each
worker as ``python -m simple_worker worker APP ... --processes 1``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING

from simple_worker.cli.common import (
    EXIT_OK,
    add_app_argument,
    add_queues_argument,
    add_retry_arguments,
    build_worker,
    positive_int,
    seconds,
    wait_seconds,
)
from simple_worker.cli.supervisor import DEFAULT_SHUTDOWN_TIMEOUT, supervise
from simple_worker.services.worker import Worker

if TYPE_CHECKING:
    from simple_worker.cli.common import Commands

logger = logging.getLogger(__name__)

_PARENT_CHECK_INTERVAL = 1.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

EPILOG = """\
exit status: 0 after a graceful stop; 1 an unexpected error, or (with --processes)
a worker process that did not stop cleanly; 2 a usage or configuration error (bad
app path, missing queues); 128+N when a second signal N forced the stop; 137 when
--shutdown-timeout expired and worker processes were killed.
"""


def register(commands: Commands) -> None:
    """Add the ``worker`` command."""
    parser = commands.add_parser(
        "worker",
        help="consume tasks until SIGTERM/SIGINT",
        description="Load the App and consume its queues until SIGTERM or SIGINT, then "
        "stop gracefully: running tasks finish, received ones are released.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_app_argument(parser)
    add_queues_argument(parser, "consume")
    parser.add_argument(
        "--threads", type=positive_int, default=1, help="tasks run at once per process (default: 1)"
    )
    parser.add_argument(
        "--processes",
        type=positive_int,
        default=1,
        help="worker processes, each with --threads threads, under a supervisor that "
        "restarts one that dies (default: 1, no supervisor)",
    )
    parser.add_argument(
        "--wait-seconds",
        type=wait_seconds,
        default=20,
        help="long-poll time, 0 to 20 (default: 20)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=seconds,
        metavar="S",
        help="with --processes > 1: seconds to wait for worker processes to stop after "
        f"SIGTERM/SIGINT before killing them (default: {DEFAULT_SHUTDOWN_TIMEOUT:g})",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=LOG_LEVELS, help="logging level (default: INFO)"
    )
    parser.add_argument(
        "--log-format",
        default="text",
        choices=("text", "json"),
        help="text lines, or one JSON object per line with every structured field (default: text)",
    )
    parser.add_argument(
        "--heartbeat-file",
        metavar="PATH",
        help="touch PATH every few seconds while consuming normally, for a liveness probe "
        "(it goes stale once receives have failed for a minute, or the worker stopped)",
    )
    add_retry_arguments(parser)
    # Given by the supervisor to its worker processes, which stop if it disappears.
    parser.add_argument("--parent-pid", type=positive_int, help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the ``worker`` command; return its exit status."""
    if args.processes > 1:
        return supervise(args)
    return run_in_process(args)


def run_in_process(args: argparse.Namespace) -> int:
    """Run one worker in this process until it stops; return 0 (or raise `SystemExit`).

    Raises:
        SimpleWorkerError: the app does not load, an option is out of range, or a
            queue is missing.
    """
    early = _EarlyStop()
    early.install()
    if args.shutdown_timeout is not None and args.parent_pid is None:
        logger.warning(
            "--shutdown-timeout applies to --processes > 1; with one process, your process "
            "manager's stop timeout decides (systemd TimeoutStopSec, Kubernetes "
            "terminationGracePeriodSeconds)"
        )
    _, worker = build_worker(args)
    early.attach(worker)
    if args.parent_pid is not None:
        threading.Thread(
            target=_stop_when_orphaned,
            args=(worker, args.parent_pid),
            name="simple-worker-parent-watch",
            daemon=True,
        ).start()
    worker.start()
    return EXIT_OK


class _EarlyStop:
    """Handles SIGTERM/SIGINT until the worker's own handlers take over in ``start()``.

    A signal that arrives while the app is importing or the queues are checked
    stops the worker as soon as it exists (it then starts and stops at once), rather
    than killing the process mid-import or being lost. ``Worker.start`` installs its
    own handlers for its run, and puts these back afterwards.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._worker: Worker | None = None

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._handle)

    def attach(self, worker: Worker) -> None:
        self._worker = worker
        if self.signum is not None:
            worker.stop()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is not None:
            raise SystemExit(128 + signum)
        self.signum = signum
        logger.info("Received %s while starting: stopping", signal.Signals(signum).name)
        if self._worker is not None:
            self._worker.stop()


def _stop_when_orphaned(worker: Worker, parent_pid: int) -> None:
    """Stop the worker gracefully if the supervisor that started it has gone."""
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_CHECK_INTERVAL)
    logger.warning("The supervisor (pid %d) has gone: stopping", parent_pid)
    worker.stop()
