"""Wiring that `App` and the command share: payload stores and a worker's endpoints.

The one place that builds a worker's health endpoint, metrics and heartbeat files,
for ``app.worker(...)`` and ``simple-worker worker`` alike (the supervisor serves
its processes' endpoints with `SharedEndpoints`, from what they write here).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from simple_worker.adapters.memory._payloads import InMemoryPayloadStore
from simple_worker.adapters.observability._health import HEALTH_PATH, HealthEndpoint
from simple_worker.adapters.observability._heartbeat_file import HeartbeatFile
from simple_worker.adapters.observability._http_server import Endpoint, http_servers
from simple_worker.domain._errors import ConfigurationError
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.liveness import LivenessPort
from simple_worker.ports.middleware import Middleware
from simple_worker.ports.payload_store import PayloadStorePort
from simple_worker.ports.queue import QueuePort

Listen = tuple[str, int]
"""Where an endpoint listens: host and port (0 picks a free one)."""


def worker_observers(
    clock: ClockPort,
    queue: QueuePort,
    *,
    health: Listen | None = None,
    metrics: Listen | None = None,
    count_metrics: bool = False,
    heartbeat_files: Iterable[str | os.PathLike[str]] = (),
) -> tuple[list[Middleware], list[LivenessPort]]:
    """Return the middleware and liveness ports that serve a worker's endpoints.

    ``health`` serves ``/healthz``, ``metrics`` serves ``/metrics`` (one server
    when both share a port); ``count_metrics`` counts metrics without serving
    them (a supervisor serves them for its processes). The servers come first
    among the middleware: they start with the worker and close after it.

    Raises:
        ConfigurationError: a port cannot be bound, equal ports have different
            hosts, or metrics are asked for without prometheus_client.
    """
    middleware: list[Middleware] = []
    liveness: list[LivenessPort] = [HeartbeatFile(path) for path in heartbeat_files]
    endpoints: list[Endpoint] = []
    if health is not None:
        endpoint = HealthEndpoint(clock)
        middleware.append(endpoint)
        liveness.append(endpoint)
        endpoints.append(Endpoint(*health, HEALTH_PATH, endpoint.answer))
    if metrics is not None or count_metrics:
        require_prometheus()
        # Imported only when asked for: prometheus_client is an optional dependency.
        from simple_worker.adapters.observability._prometheus import (  # noqa: PLC0415
            METRICS_PATH,
            PrometheusMetrics,
        )

        counted = PrometheusMetrics()
        counted.instrument_queue(queue)
        middleware.append(counted)
        if metrics is not None:
            endpoints.append(Endpoint(*metrics, METRICS_PATH, counted.answer))
    return [*http_servers(endpoints), *middleware], liveness


def require_prometheus() -> None:
    """Check that prometheus_client can be imported, for metrics.

    Raises:
        ConfigurationError: it cannot; the message says what to install.
    """
    try:
        import prometheus_client  # noqa: F401, PLC0415 - an optional dependency, checked first
    except ImportError as exc:
        raise ConfigurationError(
            "Metrics (--metrics-port, metrics_port=) need the prometheus_client package: "
            "pip install 'simple-worker[prometheus]'"
        ) from exc


def choose_payload_store(
    bucket: str | None,
    store: PayloadStorePort | None,
    *,
    testing_mode: bool,
    s3_endpoint_url: str | None,
    sqs_endpoint_url: str | None,
    region: str | None,
) -> PayloadStorePort | None:
    """Return the store for `App`'s large-payload options, or None when they are off.

    A bucket means S3 in ``region``, through ``s3_endpoint_url``, else the SQS one
    (a local emulator serves both), else the standard AWS configuration; in
    testing mode it means memory, so that tests need no AWS.

    Raises:
        ConfigurationError: both a bucket and a store, an S3 endpoint without a
            bucket, or a bucket name S3 cannot have.
    """
    if store is not None:
        if bucket is not None:
            raise ConfigurationError(
                "Give large_payload_bucket or large_payload_store, not both: the store "
                "already names its bucket."
            )
        return store
    if bucket is None:
        if s3_endpoint_url is not None:
            raise ConfigurationError(
                "s3_endpoint_url is for large payloads: give large_payload_bucket too."
            )
        return None
    if testing_mode:
        return InMemoryPayloadStore(bucket)
    # Imported here so that apps without large payloads do not import the S3 adapter.
    from simple_worker.adapters.s3._payloads import S3PayloadStore  # noqa: PLC0415

    return S3PayloadStore(bucket, endpoint_url=s3_endpoint_url or sqs_endpoint_url, region=region)
