"""What a worker does when user code raises a BaseException, or returns a coroutine,
and when one of its own threads dies (docs/decisions.md, "Handler failures")."""

import logging
import sys
import threading

import pytest

from simple_worker import (
    App,
    HandlerReturnedAwaitable,
    Middleware,
    Outcome,
    WorkerThreadDied,
)
from simple_worker.adapters.memory._queue import InMemoryQueue


class CustomBaseError(BaseException):
    """An application's own BaseException, not an Exception."""


BASE_EXCEPTIONS = {
    "sys.exit()": lambda: sys.exit(),
    "SystemExit(3)": lambda: sys.exit(3),
    "KeyboardInterrupt": KeyboardInterrupt,
    "GeneratorExit": GeneratorExit,
    "a BaseException subclass": lambda: CustomBaseError("custom"),
}
RAISED = {
    "sys.exit()": SystemExit,
    "SystemExit(3)": SystemExit,
    "KeyboardInterrupt": KeyboardInterrupt,
    "GeneratorExit": GeneratorExit,
    "a BaseException subclass": CustomBaseError,
}


@pytest.fixture
def memory():
    queue = InMemoryQueue()
    queue.create_queue("dlq")
    queue.create_queue(
        "default", visibility_timeout=30, dead_letter_queue="dlq", max_receive_count=5
    )
    return queue


@pytest.fixture
def app(memory):
    return App(queue=memory)


async def never_awaited(n):
    raise AssertionError("the coroutine must not run")


def raiser(kind):
    def fail(n):
        error = BASE_EXCEPTIONS[kind]()  # sys.exit() raises here, the others are returned
        raise error

    return fail


@pytest.mark.parametrize("kind", BASE_EXCEPTIONS)
def test_a_base_exception_from_a_handler_fails_that_task_only_and_the_worker_goes_on(
    kind, app, memory, caplog, wait_until, worker_running
):
    ran = []
    app.register_task_handler("bad")(raiser(kind))
    app.register_task_handler("good")(lambda n: ran.append(n))
    app.add_task("bad", n=-1)

    with worker_running(app.worker(threads=1, wait_seconds=0)) as worker:
        wait_until(lambda: worker.counts["failed"] == 1)
        app.add_tasks("good", [{"n": n} for n in range(30)])  # after the failure
        wait_until(lambda: worker.counts["succeeded"] == 30)
        wait_until(lambda: memory.stats("default").in_flight == 1)

    assert sorted(ran) == list(range(30))
    stats = memory.stats("default")
    assert (stats.visible, stats.in_flight) == (0, 1), "the failed message is not deleted"
    [failed] = [r for r in caplog.records if r.levelname == "ERROR"]
    error_type = RAISED[kind].__name__
    assert failed.getMessage().startswith(f"Failed to process task bad: {error_type}")
    assert (failed.error_type, failed.outcome) == (error_type, "failed")
    assert failed.exc_info is not None
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]


@pytest.mark.parametrize("kind", BASE_EXCEPTIONS)
def test_the_testing_worker_collects_a_base_exception_as_a_failure(kind, app, memory):
    app.register_task_handler("bad")(raiser(kind))
    app.register_task_handler("good")(lambda n: None)
    app.add_task("bad", n=1)
    app.add_task("good", n=2)
    if kind == "KeyboardInterrupt":  # on the caller's thread it may be Ctrl-C: never swallowed
        with pytest.raises(KeyboardInterrupt):
            app.testing_worker().run_all(raise_errors=False)
        return

    report = app.testing_worker().run_all(raise_errors=False)

    [failed] = report.failed
    assert type(failed.error) is RAISED[kind]
    assert [run.task.name for run in report.succeeded] == ["good"]
    assert memory.stats("default").in_flight == 1


@pytest.mark.parametrize("kind", BASE_EXCEPTIONS)
def test_the_testing_worker_re_raises_the_handlers_own_base_exception_by_default(kind, app):
    app.register_task_handler("bad")(raiser(kind))
    app.add_task("bad", n=1)

    with pytest.raises(RAISED[kind]) as caught:
        app.testing_worker().run_all()

    assert type(caught.value) is RAISED[kind]


def test_a_handler_that_returns_a_coroutine_fails_and_its_message_is_not_deleted(
    app, memory, caplog, wait_until, worker_running
):
    app.register_task_handler("sneaky")(lambda n: never_awaited(n))
    app.add_task("sneaky", n=1)

    with worker_running(app.worker(wait_seconds=0)) as worker:
        wait_until(lambda: worker.counts["failed"] == 1)

    assert worker.counts["succeeded"] == 0
    stats = memory.stats("default")
    assert (stats.visible, stats.in_flight) == (0, 1)
    [failed] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert failed.error_type == "HandlerReturnedAwaitable"
    assert "returned a coroutine (never_awaited) instead of running" in str(failed.exc_info[1])


def test_the_testing_worker_fails_a_handler_that_returns_a_coroutine(app, memory):
    app.register_task_handler("sneaky")(lambda n: never_awaited(n))
    app.add_task("sneaky", n=1)

    with pytest.raises(HandlerReturnedAwaitable, match="task 'sneaky' returned a coroutine"):
        app.testing_worker().run_all()

    app.add_task("sneaky", n=2)
    report = app.testing_worker().run_all(raise_errors=False)
    assert [run.outcome for run in report.runs] == [Outcome.FAILED]
    assert memory.stats("default").in_flight == 2


def test_a_middleware_base_exception_is_logged_like_any_middleware_error_and_changes_nothing(
    app, memory, caplog, wait_until, worker_running
):
    class ExitsOnce(Middleware):
        def __init__(self):
            self.exited = False

        def after_task(self, task, message, result):
            if not self.exited:
                self.exited = True
                sys.exit(1)

    ran = []
    app.register_task_handler("t")(lambda n: ran.append(n))
    app.add_task("t", n=0)

    with worker_running(app.worker(threads=1, wait_seconds=0, middleware=[ExitsOnce()])) as w:
        wait_until(lambda: ran == [0])
        app.add_tasks("t", [{"n": n} for n in range(1, 11)])
        wait_until(lambda: w.counts["succeeded"] == 11)

    [logged] = [r for r in caplog.records if "ExitsOnce raised in" in r.getMessage()]
    assert (logged.levelname, logged.error_type, logged.hook) == (
        "ERROR",
        "SystemExit",
        "after_task",
    )
    assert ran == list(range(11))
    assert memory.stats("default").in_flight == 0, "the task succeeded: its message is deleted"


def test_a_middleware_base_exception_in_before_task_fails_the_task(app, memory):
    class ExitsBefore(Middleware):
        def before_task(self, task, message):
            raise SystemExit(2)

    ran = []
    app.register_task_handler("t")(lambda: ran.append(1))
    app.add_task("t")

    report = app.testing_worker(middleware=[ExitsBefore()]).run_all(raise_errors=False)

    assert [(r.outcome, type(r.error)) for r in report.runs] == [(Outcome.FAILED, SystemExit)]
    assert ran == []
    assert memory.stats("default").in_flight == 1


def test_a_task_thread_that_dies_stops_the_worker_loudly_and_start_raises(
    app, memory, monkeypatch, caplog
):
    ran = []
    app.register_task_handler("t")(lambda n: ran.append(n))
    app.add_tasks("t", [{"n": n} for n in range(20)])
    worker = app.worker(threads=2, wait_seconds=0)
    take = worker._held.take

    def take_with_a_bug(timeout):
        # A bug outside the guard around each message, in one of the two task threads.
        if threading.current_thread().name == "simple-worker-task-1":
            raise KeyboardInterrupt("a bug in the buffer")
        return take(timeout)

    monkeypatch.setattr(worker._held, "take", take_with_a_bug)
    raised = []

    def start():
        try:
            worker.start()
        except WorkerThreadDied as exc:
            raised.append(exc)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join(10)

    assert not thread.is_alive(), "the worker kept running with a dead task thread"
    [error] = raised
    assert isinstance(error.__cause__, KeyboardInterrupt)
    assert error.thread_name == "simple-worker-task-1"
    assert worker.stopping
    [critical] = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert critical.getMessage() == (
        "Worker thread simple-worker-task-1 died of KeyboardInterrupt: stopping the worker"
    )
    assert critical.threadName == "simple-worker-task-1"
    assert critical.exc_info is not None
    # Stopped gracefully: every task either ran (and was deleted) or was released.
    stats = memory.stats("default")
    assert (stats.in_flight, stats.visible + len(ran)) == (0, 20)
