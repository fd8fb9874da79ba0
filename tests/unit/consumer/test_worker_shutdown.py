"""The shutdown budget: a stop ends within ``shutdown_timeout`` whatever the queue does.

The queue here is the in-memory one, wrapped so that deletes and visibility changes
block (on an `Event`) once the test says the queue hangs: as SQS that accepts
connections and never answers. Bounds on joins are bounds, not measurements.
"""

import logging
import threading
from contextlib import contextmanager

import attrs
import pytest

from simple_worker import App, ConfigurationError, current_task
from simple_worker.adapters.memory._queue import InMemoryQueue

BUDGET = 1.0
BOUND = BUDGET + 4.0
"""Seconds a test allows `start` to return after a stop: the budget, with room to spare."""


@attrs.define
class HangingQueue:
    """The in-memory queue, whose deletes and visibility changes hang once `hang` is set.

    A hung call waits until `answer` is set (at the latest, at the end of the test).
    """

    inner: InMemoryQueue
    hang: threading.Event = attrs.field(factory=threading.Event)
    answer: threading.Event = attrs.field(factory=threading.Event)
    hung_calls: list = attrs.field(factory=list)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def delete_batch(self, queue, receipts):
        self._maybe_hang("delete_batch")
        return self.inner.delete_batch(queue, receipts)

    def change_visibility_batch(self, queue, changes):
        self._maybe_hang("change_visibility_batch")
        return self.inner.change_visibility_batch(queue, changes)

    def _maybe_hang(self, name):
        if self.hang.is_set():
            self.hung_calls.append(name)
            self.answer.wait()


@pytest.fixture
def memory():
    queue = InMemoryQueue()
    queue.create_queue("dlq")
    queue.create_queue(
        "default", visibility_timeout=30, dead_letter_queue="dlq", max_receive_count=3
    )
    return queue


@pytest.fixture
def hanging(memory):
    queue = HangingQueue(memory)
    yield queue
    queue.answer.set()  # lets the abandoned calls end


@pytest.fixture
def app(hanging):
    return App(queue=hanging)


@contextmanager
def started(worker):
    """Run ``worker.start()`` on a thread; yield the thread (joined, bounded, at exit)."""
    thread = threading.Thread(target=worker.start)
    thread.start()
    try:
        yield thread
    finally:
        worker.stop()
        thread.join(BOUND)


def message_ids_of_running_tasks(app, count, *, finish):
    """Register task ``t`` (it waits for ``finish``), send ``count``; return the ids list.

    The list fills with each task's message id as it starts.
    """
    ids = []

    @app.register_task_handler("t")
    def t(n):
        ids.append(current_task().delivery.message_id)
        finish.wait(30)

    app.add_tasks("t", [{"n": n} for n in range(count)])
    return ids


def test_stop_returns_within_the_budget_when_deletes_hang_and_logs_what_it_gave_up(
    app, hanging, memory, caplog, wait_until
):
    finish = threading.Event()
    ids = message_ids_of_running_tasks(app, 2, finish=finish)
    caplog.set_level(logging.INFO, logger="simple_worker")
    worker = app.worker(threads=2, wait_seconds=1, shutdown_timeout=BUDGET)

    with started(worker) as thread:
        wait_until(lambda: len(ids) == 2)
        hanging.hang.set()
        worker.stop()
        finish.set()  # the tasks finish at once; their deletes hang
        thread.join(BOUND)
        assert not thread.is_alive(), "start did not return after the budget"

    assert worker.gave_up
    assert worker.counts["succeeded"] == 2
    assert "delete_batch" in hanging.hung_calls
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Gave up")]
    assert "Gave up deleting 2 finished task message(s) from default" in line
    assert all(message_id in line for message_id in ids)
    stats = memory.stats("default")
    assert (stats.visible, stats.in_flight) == (0, 2)  # not deleted: they come back


def test_a_task_still_running_at_the_end_of_the_budget_is_left_to_sqs_and_named(
    app, memory, caplog, wait_until
):
    finish = threading.Event()
    ids = message_ids_of_running_tasks(app, 1, finish=finish)
    caplog.set_level(logging.INFO, logger="simple_worker")
    worker = app.worker(wait_seconds=1, shutdown_timeout=BUDGET)

    try:
        with started(worker) as thread:
            wait_until(lambda: len(ids) == 1)
            worker.stop()
            thread.join(BOUND)
            assert not thread.is_alive(), "start did not return after the budget"
    finally:
        finish.set()

    assert worker.gave_up
    [record] = [r for r in caplog.records if "still running" in r.getMessage()]
    assert record.getMessage().startswith(
        "Task t still running at the end of the 1 s shutdown budget"
    )
    assert (record.message_id, record.task_name, record.outcome) == (ids[0], "t", "given_up")
    assert memory.stats("default").in_flight == 1  # not deleted


def test_buffered_messages_whose_release_hangs_are_given_up_and_named(
    app, hanging, memory, caplog, wait_until
):
    finish = threading.Event()
    ids = message_ids_of_running_tasks(app, 4, finish=finish)
    caplog.set_level(logging.INFO, logger="simple_worker")
    worker = app.worker(threads=1, wait_seconds=1, shutdown_timeout=BUDGET)

    with started(worker) as thread:
        wait_until(lambda: len(ids) == 1 and worker.buffered_count() == 3)
        hanging.hang.set()
        worker.stop()
        wait_until(lambda: worker.buffered_count() == 0)  # handed over to be released
        finish.set()
        thread.join(BOUND)
        assert not thread.is_alive(), "start did not return after the budget"

    assert worker.gave_up
    assert "change_visibility_batch" in hanging.hung_calls
    [line] = [r.getMessage() for r in caplog.records if "Gave up releasing" in r.getMessage()]
    assert "Gave up releasing 3 received message(s) that had not started" in line
    assert ids[0] not in line  # the one that ran is not among them
    assert memory.stats("default").in_flight == 4


def test_a_stop_that_settles_everything_in_time_gives_up_nothing(app, memory, wait_until):
    finish = threading.Event()
    ids = message_ids_of_running_tasks(app, 3, finish=finish)
    worker = app.worker(threads=3, wait_seconds=1, shutdown_timeout=10)

    with started(worker) as thread:
        wait_until(lambda: len(ids) == 3)
        worker.stop()
        finish.set()
        thread.join(BOUND)

    assert not worker.gave_up
    assert worker.counts["succeeded"] == 3
    assert memory.bodies("default") == []


@pytest.mark.parametrize("timeout", [-1, float("inf"), float("nan")])
def test_a_shutdown_timeout_out_of_range_is_refused(app, timeout):
    with pytest.raises(ConfigurationError, match="shutdown_timeout"):
        app.worker(shutdown_timeout=timeout)
