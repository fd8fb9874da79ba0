"""The visibility heartbeat when ChangeMessageVisibility fails: a worker in this process.

The worker runs on the in-memory queue behind `FlakyQueue`, which fails the calls a
test plans, and on a `FakeClock`, so visibility deadlines move only when the test
moves the clock; the heartbeat thread still ticks in real time (once a second here).
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from simple_worker import App
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.domain._errors import QueueServiceError
from simple_worker.testing.clock import FakeClock

QUEUE = "hb-default"
TIMEOUT = 10


class FlakyQueue:
    """A `QueuePort` over an in-memory queue that fails planned calls, counting all calls."""

    def __init__(self, inner):
        self._inner = inner
        self.calls = Counter()
        self._failures = Counter()
        self._lock = threading.Lock()

    def fail(self, operation, times=1):
        with self._lock:
            self._failures[operation] += times

    def _call(self, operation, *args, **kwargs):
        with self._lock:
            self.calls[operation] += 1
            failing = self._failures[operation] > 0
            if failing:
                self._failures[operation] -= 1
        if failing:
            raise QueueServiceError(f"SQS {operation} failed: injected", operation=operation)
        return getattr(self._inner, operation)(*args, **kwargs)

    def describe(self, queue):
        return self._call("describe", queue)

    def send_batch(self, queue, messages):
        return self._call("send_batch", queue, messages)

    def receive_batch(self, queue, **options):
        return self._call("receive_batch", queue, **options)

    def delete_batch(self, queue, receipts):
        return self._call("delete_batch", queue, receipts)

    def change_visibility_batch(self, queue, changes):
        return self._call("change_visibility_batch", queue, changes)

    def stats(self, queue):
        return self._call("stats", queue)


@pytest.fixture
def running(waiter):
    """A worker running one task that blocks until released; yields (memory, flaky, clock)."""
    clock = FakeClock()
    memory = InMemoryQueue(clock)
    memory.create_queue(QUEUE, visibility_timeout=TIMEOUT)
    flaky = FlakyQueue(memory)
    app = App(queue_prefix="hb-", queue=flaky, clock=clock)
    started, release = threading.Event(), threading.Event()

    @app.register_task_handler("slow")
    def slow():
        started.set()
        release.wait(30)

    app.add_task("slow")
    worker = app.worker(wait_seconds=1)
    thread = threading.Thread(target=worker.start, daemon=True)
    thread.start()
    try:
        waiter(started.is_set, 10, "the task to start")
        yield memory, flaky, clock
    finally:
        release.set()
        worker.stop()
        thread.join(10)


def test_the_heartbeat_keeps_a_running_tasks_message_invisible_past_its_timeout(running, waiter):
    memory, flaky, clock = running

    clock.advance(TIMEOUT * 0.6)  # past half the timeout: the heartbeat extends it
    waiter(lambda: flaky.calls["change_visibility_batch"] >= 1, 5, "the extension")
    clock.advance(TIMEOUT * 0.6)  # past the first deadline

    assert memory.stats(QUEUE).visible == 0


def test_a_failed_extension_is_retried_before_the_message_turns_visible(running, waiter):
    memory, flaky, clock = running
    flaky.fail("change_visibility_batch")

    clock.advance(TIMEOUT * 0.6)
    waiter(lambda: flaky.calls["change_visibility_batch"] >= 1, 5, "the failing extension")
    # A heartbeat that retries does so within its next ticks (1 s apart here); give it
    # three, however it goes: the assertion below says what happens without a retry.
    patience = time.monotonic() + 3
    while flaky.calls["change_visibility_batch"] < 2 and time.monotonic() < patience:
        time.sleep(0.05)
    clock.advance(TIMEOUT * 0.6)

    assert memory.stats(QUEUE).visible == 0, "visible again while its task runs"
