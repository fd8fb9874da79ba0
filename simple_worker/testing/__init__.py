"""Support for testing code that uses simple-worker, and adapters of its ports.

`FakeClock` moves time by hand; `TestingWorker` (made by ``app.testing_worker()``)
runs queued tasks synchronously. The contract suites for third-party adapters are
in `simple_worker.testing.queue_contract` and
`simple_worker.testing.payload_store_contract` (they need pytest).
"""

from simple_worker.consumer._testing_worker import RunReport, TestingWorker
from simple_worker.testing.clock import FakeClock

__all__ = ["FakeClock", "RunReport", "TestingWorker"]
