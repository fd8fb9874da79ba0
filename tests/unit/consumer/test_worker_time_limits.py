"""Time limits in the threaded worker, on an in-memory queue with a fake clock.

The watchdog and the task threads wait in real time; the clock says when a
limit has passed, so the tests move it instead of waiting for a limit.
"""

import contextlib
import threading

import pytest

from simple_worker import (
    App,
    ConfigurationError,
    RetryIntervals,
    TaskExecutor,
    TaskStuck,
    TaskTimeLimitExceeded,
    current_task,
)
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.consumer._time_limits import GRACE
from simple_worker.testing import FakeClock


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def memory(clock):
    queue = InMemoryQueue(clock)
    queue.create_queue("dlq")
    queue.create_queue(
        "default", visibility_timeout=30, dead_letter_queue="dlq", max_receive_count=2
    )
    queue.create_queue("zero", visibility_timeout=0)
    return queue


@pytest.fixture
def app(memory, clock):
    return App(queue=memory, clock=clock)


def spin_until(flag):
    """A handler's endless Python loop: it ends only when interrupted (or ``flag`` is set)."""
    n = 0
    while not flag.is_set():
        n += 1


def test_a_task_in_an_endless_loop_fails_at_its_limit_and_its_message_stays(
    app, memory, clock, wait_until, worker_running
):
    started, never = threading.Event(), threading.Event()
    ran = []

    @app.register_task_handler("spin", time_limit=2)
    def spin():
        started.set()
        spin_until(never)

    app.register_task_handler("quick")(lambda n: ran.append(n))
    app.add_task("spin")

    with worker_running(app.worker(threads=2, wait_seconds=0)) as worker:
        assert started.wait(5)
        app.add_tasks("quick", [{"n": n} for n in range(5)])
        wait_until(lambda: len(ran) == 5)  # the other thread runs other tasks meanwhile
        clock.advance(2.5)
        wait_until(lambda: worker.counts["failed"] == 1)
        # Not deleted: once the others' deletes are out, it alone is left, in flight
        # until its visibility timeout.
        wait_until(lambda: len(memory.bodies("default")) == 1)
        assert memory.stats("default").in_flight == 1
        assert worker.counts["succeeded"] == 5

    assert len(memory.bodies("default")) == 1


def test_the_worker_default_limit_applies_to_tasks_without_their_own(
    app, clock, wait_until, worker_running
):
    started, never = threading.Event(), threading.Event()
    errors = []

    class Recording(TaskExecutor):
        def failure_handler(self, task, exc):
            errors.append(exc)

    @app.register_task_handler("spin")
    def spin():
        started.set()
        spin_until(never)

    app.add_task("spin")
    worker = app.worker(task_executor_cls=Recording, time_limit=1, wait_seconds=0)
    with worker_running(worker):
        assert started.wait(5)
        clock.advance(1.5)
        wait_until(lambda: worker.counts["failed"] == 1)

    assert isinstance(errors[0], TaskTimeLimitExceeded)
    assert errors[0].time_limit == 1


def test_a_task_past_its_limit_follows_the_retry_policy_then_the_dead_letter_queue(
    app, memory, clock, wait_until, worker_running
):
    receives = []
    never = threading.Event()

    @app.register_task_handler("spin", time_limit=2)
    def spin():
        receives.append(current_task().delivery.receive_count)
        spin_until(never)

    app.add_task("spin")
    worker = app.worker(wait_seconds=0, retry_policy=RetryIntervals([0]))
    with worker_running(worker):
        for count in (1, 2):
            wait_until(lambda count=count: receives == list(range(1, count + 1)))
            clock.advance(2.5)
            wait_until(lambda count=count: worker.counts["failed"] == count)
        wait_until(lambda: len(memory.bodies("dlq")) == 1)

    assert receives == [1, 2]
    assert memory.bodies("default") == []


def test_a_time_limit_works_on_a_queue_whose_visibility_timeout_is_0(
    app, memory, clock, wait_until, worker_running
):
    started, never = threading.Event(), threading.Event()

    @app.register_task_handler("spin", queue="zero", time_limit=2)
    def spin():
        started.set()
        spin_until(never)

    app.add_task("spin")
    with worker_running(app.worker(wait_seconds=0)) as worker:
        assert started.wait(5)
        clock.advance(2.5)
        wait_until(lambda: worker.counts["failed"] == 1)
        never.set()  # its next delivery ends at once

    assert worker.counts["succeeded"] <= 1
    assert worker.counts["failed"] == 1


def test_a_handler_that_swallows_the_interrupt_and_returns_fails_and_is_not_deleted(
    app, memory, clock, wait_until, worker_running
):
    started, never = threading.Event(), threading.Event()
    caught = []

    @app.register_task_handler("stubborn", time_limit=2)
    def stubborn():
        started.set()
        try:
            spin_until(never)
        except BaseException as exc:  # noqa: BLE001 - what a careless handler does
            caught.append(exc)
        return "done anyway"

    app.add_task("stubborn")
    with worker_running(app.worker(wait_seconds=0)) as worker:
        assert started.wait(5)
        clock.advance(2.5)
        wait_until(lambda: worker.counts["failed"] == 1)

    assert isinstance(caught[0], TaskTimeLimitExceeded)
    assert worker.counts["succeeded"] == 0
    assert len(memory.bodies("default")) == 1


def test_a_task_that_ignores_its_interrupt_fails_and_its_message_is_delivered_again(
    app, memory, clock, wait_until, worker_running
):
    started, release = threading.Event(), threading.Event()
    interrupts, runs = [], []

    @app.register_task_handler("hung", time_limit=2)
    def hung():
        runs.append(current_task().delivery.receive_count)
        started.set()
        while not release.is_set():  # stands for a blocking call that ignores the interrupt
            try:
                release.wait(0.01)
            except TaskTimeLimitExceeded as exc:
                interrupts.append(exc)

    app.add_task("hung")
    with worker_running(app.worker(wait_seconds=0)) as worker:
        assert started.wait(5)
        clock.advance(14)  # past half the visibility timeout: extended while in its limit
        wait_until(lambda: interrupts)
        clock.advance(2 + GRACE)  # past its limit and the grace
        clock.advance(31)  # the last extension's visibility runs out
        # SQS delivers it again (the worker may receive it at once, so what is checked
        # is the second run, not a visible count). That the heartbeat stops extending
        # it is test_heartbeat_lets_go.py's.
        release.set()  # it returns, after its limit: failed
        wait_until(lambda: len(runs) == 2)
        wait_until(lambda: worker.counts["failed"] == 1 and worker.counts["succeeded"] == 1)
    assert runs == [1, 2]


def test_a_task_past_the_hard_limit_stops_the_worker_which_releases_its_other_messages(
    app, memory, clock, wait_until
):
    started, release = threading.Event(), threading.Event()

    @app.register_task_handler("hung", time_limit=2)
    def hung():
        started.set()
        while not release.is_set():
            with contextlib.suppress(TaskTimeLimitExceeded):
                release.wait(0.01)

    app.register_task_handler("later")(lambda n: None)
    app.add_task("hung")
    worker = app.worker(wait_seconds=0, hard_time_limit=20, shutdown_timeout=30)
    raised = []

    def run():
        try:
            worker.start()
        except TaskStuck as exc:
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert started.wait(5)
        app.add_tasks("later", [{"n": n} for n in range(3)])
        wait_until(lambda: worker.buffered_count() == 3)
        clock.advance(21)
        thread.join(10)  # well inside the 30 s budget: the stuck task is not waited for
        assert not thread.is_alive()
    finally:
        release.set()
        worker.stop()
        thread.join(10)

    assert [exc.task_name for exc in raised] == ["hung"]
    assert "hard time limit" in str(raised[0])
    assert worker.gave_up
    assert memory.stats("default").visible == 3  # released at once


@pytest.mark.parametrize("value", [0, -1, float("nan"), "5", True, 8 * 24 * 3600])
def test_register_task_handler_refuses_a_time_limit_that_is_not_positive_seconds(app, value):
    with pytest.raises(ConfigurationError, match="time_limit"):
        app.register_task_handler("t", time_limit=value)


@pytest.mark.parametrize("value", [0, -2, 1.5, "2", True])
def test_register_task_handler_refuses_a_max_concurrency_below_one(app, value):
    with pytest.raises(ConfigurationError, match="max_concurrency"):
        app.register_task_handler("t", max_concurrency=value)


def test_the_worker_refuses_time_limits_that_are_not_positive_seconds(app):
    app.register_task_handler("t")(lambda: None)
    with pytest.raises(ConfigurationError, match="time_limit"):
        app.worker(time_limit=0)
    with pytest.raises(ConfigurationError, match="hard_time_limit"):
        app.worker(hard_time_limit=-1)


def test_an_async_task_awaiting_forever_is_cancelled_at_its_limit_and_its_message_stays(
    app, memory, clock, wait_until, worker_running, caplog
):
    import asyncio  # noqa: PLC0415 - this test only

    started, cancelled, ran = threading.Event(), threading.Event(), []

    @app.register_task_handler("hang", time_limit=2)
    async def hang():
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    @app.register_task_handler("quick_async")
    async def quick_async(n):
        ran.append((n, current_task().name))

    app.add_task("hang")

    with worker_running(app.worker(threads=1, wait_seconds=0)) as worker:
        assert started.wait(5)
        app.add_tasks("quick_async", [{"n": n} for n in range(5)])
        wait_until(lambda: len(ran) == 5)  # the loop runs other coroutines meanwhile
        clock.advance(2.5)
        assert cancelled.wait(5)
        wait_until(lambda: worker.counts["failed"] == 1)
        wait_until(lambda: len(memory.bodies("default")) == 1)  # not deleted
        assert memory.stats("default").in_flight == 1
        assert worker.counts["succeeded"] == 5
    assert sorted(ran) == [(n, "quick_async") for n in range(5)]
    failed = [r for r in caplog.records if getattr(r, "outcome", None) == "failed"]
    assert [r.error_type for r in failed] == ["TaskTimeLimitExceeded"]
