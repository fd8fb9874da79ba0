"""Tracing with OpenTelemetry: ``App(middleware=[OpenTelemetryMiddleware()])``.

Needs the extra: ``pip install 'simple-worker[opentelemetry]'``; importing this
module without it raises an ImportError that says so.
"""

from simple_worker.adapters.observability._opentelemetry import OpenTelemetryMiddleware

__all__ = ["OpenTelemetryMiddleware"]
