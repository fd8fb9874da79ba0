import threading
import time
from contextlib import contextmanager

import pytest


def _wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@contextmanager
def _running(worker):
    thread = threading.Thread(target=worker.start)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(10)
        assert not thread.is_alive(), "the worker did not stop"


@pytest.fixture
def wait_until():
    """Wait (real time, polling) until a predicate holds; fail after ``timeout`` seconds."""
    return _wait_until


@pytest.fixture
def worker_running():
    """A context manager running ``worker.start()`` on a thread, stopped on exit."""
    return _running
