"""Observability: HTTP endpoints, health and liveness, Prometheus, OpenTelemetry, JSON logs.

Private: the public doors are `simple_worker.prometheus`, `simple_worker.opentelemetry`
and `simple_worker.JsonLogFormatter`.
"""
