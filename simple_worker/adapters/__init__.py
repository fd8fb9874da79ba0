"""Adapters: everything that touches the outside world, grouped by technology.

``sqs`` (boto3), ``s3`` (large payloads), ``memory`` (testing mode), ``system``
(clock, signals) and ``observability`` (HTTP endpoints, health, Prometheus,
OpenTelemetry, JSON logs). Adapters import no service: not the consumer, the
producer nor `App`.

The adapters a user may pass to `App` are public here; the rest is private.
Each is imported on first use: testing mode never imports boto3, and the
``simple-worker`` command catches stop signals before importing anything heavy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simple_worker.adapters.memory import InMemoryPayloadStore, InMemoryQueue
    from simple_worker.adapters.s3 import S3PayloadStore
    from simple_worker.adapters.sqs import SQSQueue

__all__ = ["InMemoryPayloadStore", "InMemoryQueue", "S3PayloadStore", "SQSQueue"]

_HOMES = {
    "InMemoryPayloadStore": "simple_worker.adapters.memory",
    "InMemoryQueue": "simple_worker.adapters.memory",
    "S3PayloadStore": "simple_worker.adapters.s3",
    "SQSQueue": "simple_worker.adapters.sqs",
}


def __getattr__(name: str) -> object:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
