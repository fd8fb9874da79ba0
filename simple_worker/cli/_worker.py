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
import signal
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING

from simple_worker.adapters.observability._health import HEALTH_PATH, HealthEndpoint
from simple_worker.adapters.observability._heartbeat_file import HeartbeatFile
from simple_worker.adapters.observability._http_server import DEFAULT_HOST, Endpoint, http_servers
from simple_worker.cli._common import (
    EXIT_OK,
    add_app_argument,
    add_queues_argument,
    add_retry_arguments,
    build_worker,
    port_number,
    positive_int,
    require_prometheus,
    seconds,
    wait_seconds,
)
from simple_worker.cli._supervisor import DEFAULT_SHUTDOWN_TIMEOUT, supervise
from simple_worker.consumer._worker import Worker
from simple_worker.ports.liveness import LivenessPort
from simple_worker.ports.middleware import Middleware

if TYPE_CHECKING:
    from simple_worker.app import App
    from simple_worker.cli._common import Commands

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
    add_queues_argument(parser, "consume", weighted=True)
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
    _, worker = build_worker(args, lambda app: observers(app, args))
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


def observers(app: App, args: argparse.Namespace) -> tuple[list[Middleware], list[LivenessPort]]:
    """Return the middleware and liveness ports that the endpoint options ask for.

    The servers come first among the middleware: they serve while the worker runs.

    Raises:
        ConfigurationError: a port cannot be bound, or equal ports have different hosts.
    """
    middleware: list[Middleware] = []
    liveness: list[LivenessPort] = []
    endpoints: list[Endpoint] = []
    if args.health_port is not None:
        health = HealthEndpoint(app.clock)
        middleware.append(health)
        liveness.append(health)
        endpoints.append(Endpoint(args.health_host, args.health_port, HEALTH_PATH, health.answer))
    if args.metrics_port is not None or args.metrics_multiprocess:
        # Imported only when asked for: prometheus_client is an optional dependency.
        from simple_worker.adapters.observability._prometheus import (  # noqa: PLC0415
            METRICS_PATH,
            PrometheusMetrics,
        )

        metrics = PrometheusMetrics(app)
        middleware.append(metrics)
        if args.metrics_port is not None:
            endpoints.append(
                Endpoint(args.metrics_host, args.metrics_port, METRICS_PATH, metrics.answer)
            )
    if args.process_heartbeat_file is not None:
        liveness.append(HeartbeatFile(args.process_heartbeat_file))
    return [*http_servers(endpoints), *middleware], liveness


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
