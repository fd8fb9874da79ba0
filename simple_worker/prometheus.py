"""Prometheus metrics for simple-worker: ``pip install 'simple-worker[prometheus]'``.

::

    from simple_worker.prometheus import PrometheusMetrics

    metrics = PrometheusMetrics(app)            # its own registry; counts the app's SQS calls
    worker = app.worker(middleware=[metrics])
    metrics.serve(9100)                         # GET /metrics on 127.0.0.1:9100
    worker.start()

``simple-worker worker APP --metrics-port 9100`` does the same from the command
line, with one endpoint for all of ``--processes``. The metrics are listed in the
README's Observability section. Importing this module needs prometheus_client; without
it, the ImportError says what to install.
"""

try:
    import prometheus_client  # noqa: F401 - only to say what to install when it is missing
except ImportError as exc:
    raise ModuleNotFoundError(
        "simple_worker.prometheus needs the prometheus_client package: "
        "pip install 'simple-worker[prometheus]'",
        name=exc.name,
    ) from exc

from simple_worker.adapters.observability._prometheus import (
    DEFAULT_BUCKETS,
    METRICS_PATH,
    PrometheusMetrics,
)

__all__ = ["DEFAULT_BUCKETS", "METRICS_PATH", "PrometheusMetrics"]
