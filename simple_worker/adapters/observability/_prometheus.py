"""Prometheus metrics of a worker: a middleware, plus event hooks on the SQS client.

Needs prometheus_client (the ``simple-worker[prometheus]`` extra). It imports
neither boto3 nor botocore: it registers handlers on the events of the client the
`SQSQueue` already holds (``after-call.sqs``, ``after-call-error.sqs``), so every
SQS call the app makes is counted once, whatever part of the library made it.

In prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set before
the import, as ``simple-worker worker --processes`` does), values go to files that
the serving process merges; gauges are then summed over live processes and set
by a thread every ``refresh_interval`` seconds instead of at scrape time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from simple_worker.adapters.observability._http_server import (
    DEFAULT_HOST,
    HttpAnswer,
    HttpServer,
    Route,
)
from simple_worker.ports.middleware import Middleware
from simple_worker.ports.queue import ObservableQueue, QueueCall

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
DEFAULT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
"""Task duration buckets, in seconds: from quick calls to fifteen-minute jobs."""


class _HasQueue(Protocol):
    @property
    def queue(self) -> object: ...


@runtime_checkable
class _Counted(Protocol):
    def running_count(self) -> int: ...

    def buffered_count(self) -> int: ...


class PrometheusMetrics(Middleware):
    """Counts tasks, their durations and the SQS calls of an app, for Prometheus.

    A middleware: pass it to ``app.worker(middleware=[metrics])`` (or
    ``App(middleware=[...])``). Given the app, it also counts the SQS calls of the
    app's client; with an in-memory queue there are none to count. Thread-safe.

    Args:
        app: the `App` (any object with a ``queue``) whose SQS calls to count.
        registry: where the metrics are registered; default: a registry of
            their own, so two instances (or your own metrics) never clash.
        buckets: the task duration histogram's buckets, in seconds.
        refresh_interval: in multiprocess mode, seconds between gauge updates.
    """

    def __init__(
        self,
        app: _HasQueue | None = None,
        *,
        registry: CollectorRegistry | None = None,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        refresh_interval: float = 1.0,
    ) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        self._refresh_interval = refresh_interval
        self._multiprocess = values.ValueClass is not values.MutexValue
        self._workers: list[_Counted] = []
        self._lock = threading.Lock()
        self._refresher: threading.Thread | None = None
        self._stop_refreshing = threading.Event()
        self.tasks = Counter(
            "simple_worker_tasks_total",
            "Messages handled, by task name and outcome; error_type names the exception.",
            ["task_name", "outcome", "error_type"],
            registry=self.registry,
        )
        self.task_duration = Histogram(
            "simple_worker_task_duration_seconds",
            "Seconds a task took (succeeded or failed), middleware and hooks included.",
            ["task_name"],
            buckets=buckets,
            registry=self.registry,
        )
        self.running = Gauge(
            "simple_worker_tasks_running",
            "Tasks running now.",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.buffered = Gauge(
            "simple_worker_messages_buffered",
            "Received messages waiting for a task thread.",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.sqs_calls = Counter(
            "simple_worker_sqs_calls_total",
            "SQS API calls, by action (botocore's retries within a call not counted).",
            ["action"],
            registry=self.registry,
        )
        self.sqs_errors = Counter(
            "simple_worker_sqs_errors_total",
            "SQS API calls that failed, by action and error code (or exception class).",
            ["action", "error_code"],
            registry=self.registry,
        )
        self.empty_receives = Counter(
            "simple_worker_sqs_empty_receives_total",
            "ReceiveMessage calls that returned no message, by queue.",
            ["queue"],
            registry=self.registry,
        )
        self.messages_received = Counter(
            "simple_worker_sqs_messages_received_total",
            "Messages ReceiveMessage returned, by queue.",
            ["queue"],
            registry=self.registry,
        )
        if not self._multiprocess:
            self.running.set_function(lambda: self._total("running"))
            self.buffered.set_function(lambda: self._total("buffered"))
        if app is not None:
            self.instrument_queue(app.queue)

    def instrument_queue(self, queue: object) -> bool:
        """Count the calls ``queue`` makes to its service, if it reports them.

        Returns:
            Whether it does (an `SQSQueue` does; an in-memory queue makes no calls).
        """
        if not isinstance(queue, ObservableQueue):
            return False
        queue.add_call_listener(self._count_call)
        return True

    def answer(self, headers: Mapping[str, str] | None = None) -> HttpAnswer:
        """Return the metrics in the format the scraper's ``Accept`` header asks for."""
        encoder, content_type = choose_encoder((headers or {}).get("accept", ""))
        return HttpAnswer(200, encoder(self.registry), content_type)

    def serve(self, port: int, host: str = DEFAULT_HOST) -> HttpServer:
        """Serve ``GET /metrics`` on ``host:port`` from a daemon thread, from now on.

        Args:
            port: the port; 0 picks a free one (``server.port``).
            host: ``127.0.0.1`` (default) for this host only; ``0.0.0.0`` for every
                interface, as a container scraped from outside needs.

        Returns:
            The server; ``server.close()`` stops it.

        Raises:
            ConfigurationError: the port cannot be bound.
        """
        server = HttpServer(host, port, {METRICS_PATH: self.answer})
        server.start()
        return server

    def after_task(self, task: Any, message: object, result: Any) -> None:  # noqa: ANN401 - duck-typed
        """Count the task by outcome and observe its duration."""
        error = result.error
        self.tasks.labels(task.name, result.outcome.value, _error_type(error)).inc()
        if result.duration is not None:
            self.task_duration.labels(task.name).observe(result.duration)

    def on_rejected(self, message: object, error: Exception) -> None:
        """Count a message that cannot run; its task name may be unknown, so it is ""."""
        self.tasks.labels("", "rejected", _error_type(error)).inc()

    def worker_started(self, worker: object) -> None:
        """Report ``worker``'s running and buffered counts from now on."""
        if not isinstance(worker, _Counted):
            return
        with self._lock:
            self._workers.append(worker)
            if self._multiprocess and self._refresher is None:
                self._stop_refreshing.clear()
                self._refresher = threading.Thread(
                    target=self._refresh_until_stopped,
                    name="simple-worker-metrics-gauges",
                    daemon=True,
                )
                self._refresher.start()

    def worker_stopped(self, worker: object) -> None:
        """Stop reporting ``worker``'s counts."""
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
            refresher = self._refresher if not self._workers else None
            if refresher is not None:
                self._refresher = None
                self._stop_refreshing.set()
        if refresher is not None:
            refresher.join()
        if self._multiprocess:
            self._refresh()

    def _total(self, which: str) -> int:
        with self._lock:
            workers = list(self._workers)
        if which == "running":
            return sum(worker.running_count() for worker in workers)
        return sum(worker.buffered_count() for worker in workers)

    def _refresh(self) -> None:
        self.running.set(self._total("running"))
        self.buffered.set(self._total("buffered"))

    def _refresh_until_stopped(self) -> None:
        while not self._stop_refreshing.wait(self._refresh_interval):
            try:
                self._refresh()
            except Exception:  # the gauges must outlive a bug
                logger.exception("Internal error updating the worker's gauges")

    def _count_call(self, call: QueueCall) -> None:
        self.sqs_calls.labels(call.action).inc()
        if call.error is not None:
            self.sqs_errors.labels(call.action, call.error).inc()
        elif call.received is not None:
            queue = call.queue or ""
            if call.received:
                self.messages_received.labels(queue).inc(call.received)
            else:
                self.empty_receives.labels(queue).inc()


def multiprocess_route(directory: str) -> Route:
    """Return a ``/metrics`` route merging the metric files every process wrote to ``directory``."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]  # unannotated upstream

    def answer(headers: Mapping[str, str]) -> HttpAnswer:
        encoder, content_type = choose_encoder(headers.get("accept", ""))
        return HttpAnswer(200, encoder(registry), content_type)

    return answer


def forget_process(directory: str, pid: int) -> None:
    """Drop an exited process's gauges (its counters and histograms keep counting)."""
    mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]  # unannotated upstream


def _error_type(error: BaseException | None) -> str:
    return "" if error is None else type(error).__name__
