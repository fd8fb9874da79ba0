"""One ``/metrics`` and ``/healthz`` for all the worker processes of a supervisor.

The supervisor makes a private temporary directory, removed at exit: the worker
processes write their metrics there (prometheus_client's multiprocess mode,
``PROMETHEUS_MULTIPROC_DIR``), and each touches a heartbeat file of its own,
whose age says whether it consumes.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Protocol

from simple_worker.adapters.observability._health import HEALTH_PATH, ProcessesHealth
from simple_worker.adapters.observability._http_server import Endpoint, HttpServer, http_servers


class Supervised(Protocol):
    """What the endpoints read of a supervisor: its processes and whether it stops."""

    @property
    def stopping(self) -> bool:
        """Whether the supervisor is stopping its processes."""
        ...

    def processes(self) -> list[tuple[int, int | None]]:
        """Return each process's index and PID (None while it is not running)."""
        ...


logger = logging.getLogger(__name__)


class SharedEndpoints:
    """One ``/metrics`` and ``/healthz`` for all the worker processes; a context manager.

    On entry it makes a private temporary directory (when an endpoint is asked
    for); on exit it closes the servers and removes the directory.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self._args = args
        self.directory: Path | None = None
        self._servers: list[HttpServer] = []

    def __enter__(self) -> SharedEndpoints:
        if self._args.metrics_port is not None or self._args.health_port is not None:
            self.directory = Path(tempfile.mkdtemp(prefix="simple-worker-"))
            if self._metrics_directory() is not None:
                (self.directory / "metrics").mkdir()
            logger.info(
                "Worker processes share %s for their metrics and heartbeats; removed at exit",
                self.directory,
                extra={"path": str(self.directory)},
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for server in self._servers:
            server.close()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    def env(self) -> dict[str, str]:
        """Return the environment variables the worker processes need."""
        metrics = self._metrics_directory()
        # Read by prometheus_client when it is imported: in the children only.
        return {} if metrics is None else {"PROMETHEUS_MULTIPROC_DIR": str(metrics)}

    def child_options(self, index: int) -> list[str]:
        """Return the options that make worker process ``index`` report to the supervisor."""
        options: list[str] = []
        if self._metrics_directory() is not None:
            options.append("--metrics-multiprocess")
        if self._args.health_port is not None:
            options += ["--process-heartbeat-file", str(self.beat_file(index))]
        return options

    def beat_file(self, index: int) -> Path:
        """Return the heartbeat file of worker process ``index``."""
        if self.directory is None:
            raise RuntimeError("SharedEndpoints is used outside its with block")
        return self.directory / f"process-{index}.alive"

    def process_exited(self, index: int, pid: int) -> None:
        """Forget an exited process: its gauges, and its heartbeat (its successor beats anew)."""
        metrics = self._metrics_directory()
        if metrics is not None:
            from simple_worker.adapters.observability._prometheus import (  # noqa: PLC0415 - optional
                forget_process,
            )

            forget_process(str(metrics), pid)
        if self._args.health_port is not None:
            self.beat_file(index).unlink(missing_ok=True)

    def serve(self, supervisor: Supervised) -> None:
        """Start serving the endpoints asked for, about ``supervisor``'s processes.

        Raises:
            ConfigurationError: a port cannot be bound, or equal ports have different hosts.
        """
        endpoints: list[Endpoint] = []
        args, metrics = self._args, self._metrics_directory()
        if args.health_port is not None:
            health = ProcessesHealth(
                supervisor.processes, self.beat_file, lambda: supervisor.stopping
            )
            endpoints.append(
                Endpoint(args.health_host, args.health_port, HEALTH_PATH, health.answer)
            )
        if metrics is not None:
            from simple_worker.adapters.observability._prometheus import (  # noqa: PLC0415 - optional
                METRICS_PATH,
                multiprocess_route,
            )

            route = multiprocess_route(str(metrics))
            endpoints.append(Endpoint(args.metrics_host, args.metrics_port, METRICS_PATH, route))
        self._servers = http_servers(endpoints)
        for server in self._servers:
            server.start()

    def _metrics_directory(self) -> Path | None:
        if self._args.metrics_port is None or self.directory is None:
            return None
        return self.directory / "metrics"
