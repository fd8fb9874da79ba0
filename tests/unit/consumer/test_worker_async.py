"""The worker with ``async def`` handlers: their coroutines run on the worker's event loop.

In-memory queues, a real worker on threads; waits are on conditions, never timed.
"""

import asyncio
import contextvars
import json
import threading
from collections import Counter
from contextlib import asynccontextmanager, contextmanager

import pytest

from simple_worker import App, ConfigurationError, Middleware, TaskExecutor, current_task
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.ports.executor import TaskOutcome
from simple_worker.ports.middleware import Outcome


@pytest.fixture
def memory():
    queue = InMemoryQueue()
    queue.create_queue("dlq")
    for name in ("default", "other"):
        queue.create_queue(
            name, visibility_timeout=30, dead_letter_queue="dlq", max_receive_count=3
        )
    return queue


@pytest.fixture
def app(memory):
    return App(queue=memory)


class Gauge:
    """Records how many coroutines run at once, and the most there ever were."""

    def __init__(self):
        self.now = 0
        self.most = 0

    @contextmanager
    def running(self):
        self.now += 1  # on the loop's one thread: no lock needed
        self.most = max(self.most, self.now)
        try:
            yield
        finally:
            self.now -= 1


def test_async_tasks_each_run_once_on_the_event_loop_up_to_async_concurrency(
    app, memory, wait_until, worker_running
):
    ran = Counter()
    threads = set()
    gauge = Gauge()

    @app.register_task_handler("fetch")
    async def fetch(n):
        with gauge.running():
            threads.add(threading.current_thread().name)
            await asyncio.sleep(0.01)
            ran[n] += 1

    app.add_tasks("fetch", [{"n": n} for n in range(200)])
    with worker_running(app.worker(async_concurrency=20, wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 200)
        wait_until(lambda: memory.bodies("default") == [])

    assert ran == Counter(range(200))
    assert 1 < gauge.most <= 20
    assert threads == {"simple-worker-event-loop"}


def test_sync_and_async_handlers_of_one_app_run_on_task_threads_and_on_the_loop(
    app, memory, wait_until, worker_running
):
    where = {}

    @app.register_task_handler("sync_one")
    def sync_one(n):
        where[("sync_one", n)] = threading.current_thread().name

    @app.register_task_handler("async_one")
    async def async_one(n):
        await asyncio.sleep(0)
        where[("async_one", n)] = threading.current_thread().name

    @app.register_task_handler("async_other", queue="other")
    async def async_other(n):
        where[("async_other", n)] = threading.current_thread().name

    for name in ("sync_one", "async_one", "async_other"):
        app.add_tasks(name, [{"n": n} for n in range(20)])

    with worker_running(app.worker(threads=2, wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 60)
        wait_until(lambda: memory.bodies("default") == memory.bodies("other") == [])

    assert len(where) == 60
    for (name, _), thread in where.items():
        if name == "sync_one":
            assert thread.startswith("simple-worker-task-")
        else:
            assert thread == "simple-worker-event-loop"


def test_a_sync_only_worker_starts_no_event_loop(app, wait_until, worker_running):
    app.register_task_handler("t")(lambda: None)
    app.add_task("t")

    with worker_running(app.worker(wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 1)
        names = {thread.name for thread in threading.enumerate()}

    assert "simple-worker-event-loop" not in names


def test_the_buffer_counts_the_loop_slots_when_async_handlers_are_consumed(app):
    async def handler():
        pass

    app.register_task_handler("t")(handler)
    assert app.worker(async_concurrency=100).options.capacity(1, with_async=True) == 50
    assert app.worker(async_concurrency=100)._held.capacity == 50
    assert app.worker(async_concurrency=10)._held.capacity == 20


def test_async_concurrency_below_one_is_refused(app):
    with pytest.raises(ConfigurationError, match="async_concurrency must be at least 1"):
        app.worker(async_concurrency=0)


def cancel_itself():
    async def handler():
        asyncio.current_task().cancel()
        await asyncio.sleep(1)

    return handler


def raising(error):
    async def handler():
        await asyncio.sleep(0)
        raise error

    return handler


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        (raising(ValueError("no")), ValueError),
        (raising(SystemExit(3)), SystemExit),
        (raising(KeyboardInterrupt()), KeyboardInterrupt),
        (raising(asyncio.CancelledError()), asyncio.CancelledError),
        (cancel_itself(), asyncio.CancelledError),
    ],
    ids=["ValueError", "SystemExit", "KeyboardInterrupt", "CancelledError", "cancelled"],
)
def test_whatever_a_coroutine_raises_fails_that_task_only_and_keeps_its_message(
    app, memory, wait_until, worker_running, handler, error_type
):
    failures = []

    class Record(Middleware):
        def after_task(self, task, message, result):
            if result.outcome is Outcome.FAILED:
                failures.append(type(result.error))

    app.register_task_handler("bad")(handler)

    @app.register_task_handler("good")
    async def good(n):
        await asyncio.sleep(0)

    app.add_task("bad")
    app.add_tasks("good", [{"n": n} for n in range(5)])
    with worker_running(app.worker(wait_seconds=1, middleware=[Record()])) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 5 and worker.counts["failed"] == 1)
        # The loop goes on after it: a task sent now runs too.
        app.add_task("good", n=5)
        wait_until(lambda: worker.counts["succeeded"] == 6)

    assert failures == [error_type]
    assert [json.loads(body)["task_name"] for body in memory.bodies("default")] == ["bad"]


def test_current_task_is_each_coroutines_own_across_awaits(app, wait_until, worker_running):
    seen = {}

    @app.register_task_handler("t")
    async def handler(n):
        before = current_task().id
        await asyncio.sleep(0.01)  # the others run meanwhile
        seen[n] = (before, current_task().id, current_task().payload["n"])

    ids = app.add_tasks("t", [{"n": n} for n in range(30)])
    with worker_running(app.worker(async_concurrency=30, wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 30)

    assert seen == {n: (ids[n], ids[n], n) for n in range(30)}


SPAN = contextvars.ContextVar("span", default=None)


def test_middleware_wraps_async_tasks_in_the_coroutines_own_context(
    app, wait_until, worker_running
):
    calls = []
    seen_in_handler = {}

    class Tracing(Middleware):
        def before_task(self, task, message):
            SPAN.set(f"span-{task.payload['n']}")
            calls.append(("before", task.payload["n"]))

        def after_task(self, task, message, result):
            calls.append(("after", task.payload["n"], result.outcome, SPAN.get()))

    @app.register_task_handler("t")
    async def handler(n):
        await asyncio.sleep(0.01)
        seen_in_handler[n] = SPAN.get()
        if n == 3:
            raise ValueError("three")

    app.add_tasks("t", [{"n": n} for n in range(10)])
    worker = app.worker(async_concurrency=10, wait_seconds=1, middleware=[Tracing()])
    with worker_running(worker):
        wait_until(lambda: worker.counts["succeeded"] == 9 and worker.counts["failed"] == 1)

    assert seen_in_handler == {n: f"span-{n}" for n in range(10)}
    afters = sorted(call[1:] for call in calls if call[0] == "after")
    assert afters == [
        (n, Outcome.FAILED if n == 3 else Outcome.SUCCEEDED, f"span-{n}") for n in range(10)
    ]
    assert sorted(call[1] for call in calls if call[0] == "before") == list(range(10))


TENANT = contextvars.ContextVar("tenant", default=None)


class TenantExecutor(TaskExecutor):
    """A 0.2.x-style executor: its sync context() wraps async handlers too."""

    @contextmanager
    def context(self):
        token = TENANT.set("acme")
        try:
            yield
        finally:
            TENANT.reset(token)


class PoolExecutor(TaskExecutor):
    """Overrides async_context() for asynchronous set-up."""

    opened = 0

    @asynccontextmanager
    async def async_context(self):
        await asyncio.sleep(0)
        PoolExecutor.opened += 1
        token = TENANT.set("pool")
        try:
            yield
        finally:
            TENANT.reset(token)


@pytest.mark.parametrize(
    ("executor", "expected"), [(TenantExecutor, "acme"), (PoolExecutor, "pool")]
)
def test_an_executors_context_wraps_async_handlers(
    app, wait_until, worker_running, executor, expected
):
    seen = []

    @app.register_task_handler("t")
    async def handler(n):
        await asyncio.sleep(0)
        seen.append(TENANT.get())

    app.add_tasks("t", [{"n": n} for n in range(3)])
    with worker_running(app.worker(task_executor_cls=executor, wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 3)

    assert seen == [expected] * 3


def test_an_executor_without_run_async_fails_async_tasks_saying_what_to_do(
    app, memory, wait_until, worker_running, caplog
):
    class SyncOnly:
        def __init__(self, handler):
            self.handler = handler

        def run(self, task):
            self.handler(**task.payload)
            return TaskOutcome()

    @app.register_task_handler("t")
    async def handler():
        pass

    app.add_task("t")
    with worker_running(app.worker(task_executor_cls=SyncOnly, wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["failed"] == 1)

    assert "has no run_async method" in caplog.text
    assert len(memory.bodies("default")) == 1


def test_stop_lets_running_coroutines_finish_deletes_them_and_releases_the_buffer(
    app, memory, wait_until, worker_running
):
    started = []
    go = threading.Event()

    @app.register_task_handler("t")
    async def handler(n):
        started.append(n)
        while not go.is_set():
            await asyncio.sleep(0.01)

    app.add_tasks("t", [{"n": n} for n in range(30)])
    worker = app.worker(async_concurrency=5, buffer_size=10, wait_seconds=1)
    with worker_running(worker):
        try:
            # Five coroutines run, a task thread waits for a slot with a sixth message.
            wait_until(lambda: len(started) == 5 and worker.running_count() == 6)
            wait_until(lambda: worker.buffered_count() > 0)
            worker.stop()
            # Let them finish once the buffer is closed: else a freed slot could
            # take one more message in the moment before the stop closes it.
            wait_until(lambda: worker.buffered_count() == 0)
        finally:
            go.set()

    # The sixth starts once a slot frees up: taken, it runs to its end too.
    assert worker.counts["succeeded"] == 6
    assert not worker.gave_up
    # The other 24 (those buffered released) are visible again at once, none hidden.
    stats = memory.stats("default")
    assert (stats.visible, stats.in_flight) == (24, 0)


def test_a_coroutine_still_running_at_the_end_of_the_budget_is_left_to_sqs(
    app, memory, wait_until, worker_running, caplog
):
    started = threading.Event()

    @app.register_task_handler("stuck")
    async def stuck():
        started.set()
        await asyncio.Event().wait()

    app.add_task("stuck")
    worker = app.worker(wait_seconds=1, shutdown_timeout=1)
    with worker_running(worker):
        wait_until(started.is_set)

    assert worker.gave_up
    assert "Task stuck still running at the end of the 1 s shutdown budget" in caplog.text
    assert len(memory.bodies("default")) == 1


def test_the_started_line_says_how_many_coroutines_may_run(app, worker_running, caplog):
    async def handler():
        pass

    app.register_task_handler("t")(handler)
    with caplog.at_level("INFO"), worker_running(app.worker(async_concurrency=7, wait_seconds=1)):
        pass

    assert "Worker started on default with 1 thread(s) and up to 7 coroutine(s)" in caplog.text


def test_the_heartbeat_keeps_a_long_coroutine_from_being_delivered_twice(
    wait_until, worker_running
):
    memory = InMemoryQueue()
    memory.create_queue("short", visibility_timeout=1)
    app = App(queue=memory)
    runs = []

    @app.register_task_handler("long", queue="short")
    async def long_task(n):
        runs.append(n)
        await asyncio.sleep(2.5)  # more than twice the queue's visibility timeout

    app.add_tasks("long", [{"n": n} for n in range(3)])
    with worker_running(app.worker(wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 3)

    assert sorted(runs) == [0, 1, 2]
    assert memory.bodies("short") == []
