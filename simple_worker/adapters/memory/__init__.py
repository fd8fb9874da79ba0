"""In-memory queues and payload store: testing mode, no AWS."""

from simple_worker.adapters.memory._payloads import InMemoryPayloadStore
from simple_worker.adapters.memory._queue import InMemoryQueue

__all__ = ["InMemoryPayloadStore", "InMemoryQueue"]
