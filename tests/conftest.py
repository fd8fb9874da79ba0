"""Fixtures shared by the unit and the integration tests.

A sub-directory's conftest may define a fixture of the same name (the command
tests' ``wait_until`` takes a ``message=``); for its tests, that one wins.
"""

import threading
import time
from contextlib import contextmanager

import pytest

from simple_worker.ports.queue import OutgoingMessage

# Detailed assert messages in the contract suite, which lives in the package.
pytest.register_assert_rewrite("simple_worker.testing.queue_contract")


def _wait_until(predicate, timeout=10.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


@contextmanager
def _running(worker, timeout=10.0):
    thread = threading.Thread(target=worker.start)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(timeout)
        assert not thread.is_alive(), "the worker did not stop"


@pytest.fixture
def wait_until():
    """``wait_until(predicate, timeout=10.0, interval=0.01)``: poll (real time) until it holds.

    Fails with an `AssertionError` after ``timeout`` seconds, polling every ``interval``.
    """
    return _wait_until


@pytest.fixture
def worker_running():
    """``with worker_running(worker, timeout=10.0) as worker:`` runs ``worker.start()``.

    On a thread; on exit the worker is stopped, and the thread must end within ``timeout``.
    """
    return _running


def _send_raw(app, body, queue="default"):
    app.queue.send_batch(queue, [OutgoingMessage(id="raw", body=body)])


@pytest.fixture
def send_raw():
    """``send_raw(app, body, queue="default")``: put ``body`` on the app's queue as it is.

    No envelope: the message any producer could send, such as ``"not json"``.
    """
    return _send_raw


# --- OpenTelemetry: spans to an in-memory exporter, through a provider per test -------
# (imported in the fixtures, so that only the tests using them need the SDK)


@pytest.fixture
def exporter():
    """The SDK's `InMemorySpanExporter`: the spans `provider` finished."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: PLC0415
        InMemorySpanExporter,
    )

    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter):
    """A `TracerProvider` of this test only (never the global one), exporting to `exporter`."""
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: PLC0415

    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()
