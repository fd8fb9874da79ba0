"""``simple-worker worker APP``: consume the app's queues, in one process or several.

With ``--processes 1`` (the default) the worker runs in this process. With more,
this process becomes a supervisor (`simple_worker.cli._supervisor`) that runs each
worker as ``python -m simple_worker worker APP ... --processes 1``.

``--metrics-port`` and ``--health-port`` serve ``/metrics`` and ``/healthz`` while
the worker runs (one server when the ports are equal); with ``--processes`` the
supervisor serves both, for all its worker processes.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
import time
from typing import TYPE_CHECKING

from simple_worker._wiring import require_prometheus
from simple_worker.adapters.observability._http_server import DEFAULT_HOST
from simple_worker.adapters.system._signals import EarlyStop
from simple_worker.cli._common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_SHUTDOWN_TIMEOUT,
    EXIT_TASK_STUCK,
    add_app_argument,
    add_queues_argument,
    add_retry_arguments,
    build_worker,
    err,
    one_line,
    port_number,
    positive_int,
    seconds,
    time_limit,
    wait_seconds,
)
from simple_worker.cli._environment import read_from_environment
from simple_worker.cli._supervisor import KILL_MARGIN, supervise
from simple_worker.consumer._event_loop import DEFAULT_ASYNC_CONCURRENCY
from simple_worker.consumer._options import DEFAULT_SHUTDOWN_TIMEOUT
from simple_worker.consumer._time_limits import GRACE, HARD_LIMIT_FACTOR
from simple_worker.consumer._worker import Worker
from simple_worker.domain._errors import TaskStuck, WorkerThreadDied

if TYPE_CHECKING:
    from simple_worker.cli._common import Commands

logger = logging.getLogger(__name__)

_PARENT_CHECK_INTERVAL = 1.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
ENVIRONMENT_OPTIONS = (
    "queues",
    "threads",
    "async_concurrency",
    "processes",
    "wait_seconds",
    "shutdown_timeout",
    "time_limit",
    "hard_time_limit",
    "log_level",
    "log_format",
)
"""Options that fall back to ``SIMPLE_WORKER_<NAME>`` (see `simple_worker.cli._environment`).

Not the ports: every worker process of a supervisor would read them and try to
bind the supervisor's own.
"""

EPILOG = """\
environment: the options that name a variable in their help fall back to it
(SIMPLE_WORKER_THREADS=4); the command line wins over the environment, which
wins over the default.

exit status: 0 after a graceful stop; 1 an unexpected error (such as a worker
thread that died: the worker stops gracefully first), or (with --processes)
a worker process that did not stop cleanly; 2 a usage or configuration error (bad
app path, missing queues); 3 a task ran past --hard-time-limit and could not be
interrupted: the worker stopped so that the process is replaced; 124 when the
stop reached --shutdown-timeout and left tasks, deletes or releases to SQS (they
run again after their visibility timeout); 128+N when a second signal N forced
the stop; 137 (with --processes) when worker processes overran
--shutdown-timeout and were killed.
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
    add_queues_argument(parser, "consume", weighted=True)
    parser.add_argument(
        "-t",
        "--threads",
        type=positive_int,
        default=1,
        help="tasks run at once per process (default: 1)",
    )
    parser.add_argument(
        "--async-concurrency",
        type=positive_int,
        default=DEFAULT_ASYNC_CONCURRENCY,
        metavar="N",
        help="tasks of async def handlers run at once per process, as coroutines on one "
        f"event loop (default: {DEFAULT_ASYNC_CONCURRENCY})",
    )
    parser.add_argument(
        "-p",
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
        default=DEFAULT_SHUTDOWN_TIMEOUT,
        metavar="S",
        help="the most seconds a stop takes after SIGTERM/SIGINT, even if SQS does not "
        "answer: running tasks may finish until then, and what is left runs again after "
        f"its visibility timeout (default: {DEFAULT_SHUTDOWN_TIMEOUT:g}; with --processes, "
        f"worker processes still running {KILL_MARGIN:g} s later are killed)",
    )
    parser.add_argument(
        "--time-limit",
        type=time_limit,
        metavar="S",
        help="the most seconds a task may run, for tasks registered without their own "
        "time_limit: past it the task is interrupted (TaskTimeLimitExceeded), counts as "
        "failed and its message is not deleted (default: none)",
    )
    parser.add_argument(
        "--hard-time-limit",
        type=time_limit,
        metavar="S",
        help="a task still running S seconds after it started (it could not be interrupted: "
        "a blocking call in C) stops its worker process, which exits with status 3 for its "
        f"manager to replace it; at least a task's own limit + {GRACE:g} s (default: none; "
        f"with --processes, {HARD_LIMIT_FACTOR:g} x the longest time limit of the app's "
        "tasks, and the supervisor restarts the process)",
    )
    parser.add_argument(
        "-l",
        "--log-level",
        type=str.upper,
        default="INFO",
        choices=LOG_LEVELS,
        help="logging level (default: INFO)",
    )
    parser.add_argument(
        "--log-format",
        default="text",
        choices=("text", "json"),
        help="text lines, or one JSON object per line with every structured field (default: text)",
    )
    parser.add_argument(
        "--log-payloads",
        action="store_true",
        help="add each task's payload to its started and failed log lines (field 'payload'; "
        "off by default, as payloads may hold personal data)",
    )
    parser.add_argument(
        "--heartbeat-file",
        metavar="PATH",
        help="touch PATH every few seconds while consuming normally, for a liveness probe "
        "(it goes stale once receives have failed for a minute, or the worker stopped)",
    )
    add_retry_arguments(parser)
    add_endpoint_arguments(parser)
    # Given by the supervisor to its worker processes, which stop if it disappears.
    parser.add_argument("--parent-pid", type=positive_int, help=argparse.SUPPRESS)
    # Also from the supervisor: record metrics in PROMETHEUS_MULTIPROC_DIR for it to
    # serve, and touch a heartbeat file of this process for its health endpoint.
    parser.add_argument("--metrics-multiprocess", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--process-heartbeat-file", help=argparse.SUPPRESS)
    read_from_environment(parser, ENVIRONMENT_OPTIONS)
    parser.set_defaults(run=run)


def add_endpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--metrics-port``, ``--metrics-host``, ``--health-port`` and ``--health-host``."""
    group = parser.add_argument_group(
        "metrics and health endpoints",
        "HTTP endpoints served while the worker runs; equal ports share one server. "
        f"Hosts default to {DEFAULT_HOST} (this host only); in a container, "
        "use 0.0.0.0 so that Prometheus or the kubelet can reach them.",
    )
    group.add_argument(
        "--metrics-port",
        type=port_number,
        metavar="PORT",
        help="serve Prometheus metrics at GET /metrics on PORT; needs "
        "pip install 'simple-worker[prometheus]'",
    )
    group.add_argument(
        "--metrics-host",
        default=DEFAULT_HOST,
        metavar="HOST",
        help=f"address of the metrics endpoint (default: {DEFAULT_HOST})",
    )
    group.add_argument(
        "--health-port",
        type=port_number,
        metavar="PORT",
        help="serve GET /healthz on PORT: 200 while consuming normally, 503 once "
        "receives have failed for a minute or the worker is stopping",
    )
    group.add_argument(
        "--health-host",
        default=DEFAULT_HOST,
        metavar="HOST",
        help=f"address of the health endpoint (default: {DEFAULT_HOST})",
    )


def run(args: argparse.Namespace) -> int:
    """Run the ``worker`` command; return its exit status."""
    if args.metrics_port is not None or args.metrics_multiprocess:
        require_prometheus()
    if args.processes > 1:
        return supervise(args)
    return run_in_process(args)


def run_in_process(args: argparse.Namespace) -> int:
    """Run one worker in this process until it stops; return its exit status.

    0 after a graceful stop, 124 when the stop reached the shutdown budget and gave
    up on some work, 1 when a worker thread died (logged at CRITICAL) and the worker
    stopped for it (or raise `SystemExit` after a second signal).

    Raises:
        SimpleWorkerError: the app does not load, an option is out of range, or a
            queue is missing.
    """
    early = _early_stop(args)
    if early.signum is None:
        _, worker = build_worker(args)
        early.forward_to(lambda _signum: worker.stop())
        if not worker.stopping:
            if args.parent_pid is not None:
                threading.Thread(
                    target=_stop_when_orphaned,
                    args=(worker, args.parent_pid),
                    name="simple-worker-parent-watch",
                    daemon=True,
                ).start()
            try:
                worker.start()
            except WorkerThreadDied as error:
                err(f"simple-worker: {one_line(error)}")
                return EXIT_FAILURE
            except TaskStuck as error:
                err(f"simple-worker: {one_line(error)}")
                return EXIT_TASK_STUCK
            return EXIT_SHUTDOWN_TIMEOUT if worker.gave_up else EXIT_OK
    # A signal came while the app loaded: nothing was received, so nothing is left to do.
    logger.info("Received a stop signal before the worker started: not starting")
    return EXIT_OK


def _early_stop(args: argparse.Namespace) -> EarlyStop:
    """Return the `EarlyStop` that `main` installed, or install one now."""
    early: EarlyStop | None = getattr(args, "early_stop", None)
    if early is None:
        early = EarlyStop()
        early.install()
    return early


def _stop_when_orphaned(worker: Worker, parent_pid: int) -> None:
    """Stop the worker gracefully if the supervisor that started it has gone."""
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_CHECK_INTERVAL)
    logger.warning("The supervisor (pid %d) has gone: stopping", parent_pid)
    worker.stop()
