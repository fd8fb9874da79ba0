"""Middleware around every message and the worker, in the testing worker and the real one."""

import logging

import pytest

from simple_worker import App, ConfigurationError, Middleware, Outcome
from simple_worker.adapters.memory._queue import InMemoryQueue


class Recorder(Middleware):
    """Appends every call it gets, tagged with its name, to a shared list."""

    def __init__(self, name, events):
        self.name = name
        self.events = events

    def before_task(self, task, message):
        self.events.append((self.name, "before", task.name))

    def after_task(self, task, message, result):
        self.events.append((self.name, "after", task.name, result.outcome.value))

    def on_rejected(self, message, error):
        self.events.append((self.name, "rejected", type(error).__name__))

    def worker_started(self, worker):
        self.events.append((self.name, "started"))

    def worker_stopped(self, worker):
        self.events.append((self.name, "stopped"))


class Raising(Middleware):
    """Raises in the methods named in ``hooks``."""

    def __init__(self, *hooks):
        self.hooks = hooks

    def _maybe_raise(self, hook):
        if hook in self.hooks:
            raise RuntimeError(f"middleware bug in {hook}")

    def before_task(self, task, message):
        self._maybe_raise("before_task")

    def after_task(self, task, message, result):
        self._maybe_raise("after_task")

    def on_rejected(self, message, error):
        self._maybe_raise("on_rejected")

    def worker_started(self, worker):
        self._maybe_raise("worker_started")

    def worker_stopped(self, worker):
        self._maybe_raise("worker_stopped")


@pytest.fixture
def app():
    return App(testing_mode=True)


def test_several_middleware_wrap_each_task_like_nested_with_blocks(app):
    events = []
    app.register_task_handler("t")(lambda: events.append(("handler",)))
    app.add_task("t")

    app.testing_worker(middleware=[Recorder("a", events), Recorder("b", events)]).run_all()

    assert events == [
        ("a", "started"),
        ("b", "started"),
        ("a", "before", "t"),
        ("b", "before", "t"),
        ("handler",),
        ("b", "after", "t", "succeeded"),
        ("a", "after", "t", "succeeded"),
        ("b", "stopped"),
        ("a", "stopped"),
    ]


def test_after_task_sees_a_failure_with_its_error_and_duration(app):
    results = []

    class Keep(Middleware):
        def after_task(self, task, message, result):
            results.append(result)

    app.register_task_handler("boom")(lambda: 1 / 0)
    app.add_task("boom")

    app.testing_worker(middleware=[Keep()]).run_all(raise_errors=False)

    [result] = results
    assert result.outcome is Outcome.FAILED
    assert isinstance(result.error, ZeroDivisionError)
    assert result.duration >= 0
    assert result.task.delivery.queue == "default"
    assert result.task.delivery.receive_count == 1


def test_a_message_that_cannot_run_goes_to_on_rejected_only(app, send_raw):
    events = []
    app.register_task_handler("t")(lambda: None)
    send_raw(app, "not json")

    report = app.testing_worker(middleware=[Recorder("a", events)]).run_all(raise_errors=False)

    assert len(report.rejected) == 1
    assert events == [("a", "started"), ("a", "rejected", "MessageDecodeError"), ("a", "stopped")]


def test_a_raising_before_task_fails_the_task_without_running_it_and_keeps_the_message(app, caplog):
    events = []
    app.register_task_handler("t")(lambda: events.append(("handler",)))
    app.add_task("t")
    middleware = [Recorder("a", events), Raising("before_task"), Recorder("c", events)]

    report = app.testing_worker(middleware=middleware).run_all(raise_errors=False)

    [failed] = report.failed
    assert str(failed.error) == "middleware bug in before_task"
    # Only the middleware entered before the raise are left, in reverse order.
    assert events == [
        ("a", "started"),
        ("c", "started"),
        ("a", "before", "t"),
        ("a", "after", "t", "failed"),
        ("c", "stopped"),
        ("a", "stopped"),
    ]
    assert app.queue.stats("default").in_flight == 1  # not deleted: SQS delivers it again
    [logged] = [r for r in caplog.records if r.getMessage().startswith("Middleware Raising")]
    assert (logged.hook, logged.task_name, logged.error_type) == (
        "before_task",
        "t",
        "RuntimeError",
    )


def test_a_raising_before_task_is_raised_by_run_all_like_a_handler_error(app):
    app.register_task_handler("t")(lambda: None)
    app.add_task("t")

    with pytest.raises(RuntimeError, match="middleware bug in before_task"):
        app.testing_worker(middleware=[Raising("before_task")]).run_all()


def test_errors_in_the_other_hooks_are_logged_and_change_nothing(app, caplog, send_raw):
    events = []
    app.register_task_handler("t")(lambda: events.append(("handler",)))
    app.add_task("t")
    send_raw(app, "not json")
    hooks = ("after_task", "on_rejected", "worker_started", "worker_stopped")

    report = app.testing_worker(middleware=[Raising(*hooks), Recorder("b", events)]).run_all(
        raise_errors=False
    )

    assert len(report.succeeded) == 1
    assert app.queue.stats("default").visible + app.queue.stats("default").in_flight == 1
    assert ("handler",) in events
    assert ("b", "stopped") in events
    logged = {r.hook for r in caplog.records if r.getMessage().startswith("Middleware Raising")}
    assert logged == set(hooks)
    assert all(r.exc_info for r in caplog.records if r.getMessage().startswith("Middleware"))


def test_any_object_with_some_of_the_methods_is_a_middleware(app):
    seen = []

    class OnlyAfter:
        def after_task(self, task, message, result):
            seen.append(result.outcome)

    app.register_task_handler("t")(lambda: None)
    app.add_task("t")

    app.testing_worker(middleware=[OnlyAfter()]).run_all()

    assert seen == [Outcome.SUCCEEDED]


# The real worker, in-process: the same middleware path.


@pytest.fixture
def real_app():
    queue = InMemoryQueue()
    queue.create_queue("dlq")
    queue.create_queue(
        "default", visibility_timeout=30, dead_letter_queue="dlq", max_receive_count=3
    )
    return App(queue=queue)


def test_the_real_worker_calls_the_middleware_in_order_for_tasks_rejections_start_and_stop(
    real_app, wait_until, worker_running, send_raw
):
    events = []
    real_app.register_task_handler("t")(lambda: events.append(("handler",)))
    real_app.add_task("t")
    send_raw(real_app, "not json")
    worker = real_app.worker(
        wait_seconds=1, middleware=[Recorder("a", events), Recorder("b", events)]
    )

    with worker_running(worker):
        wait_until(lambda: worker.counts["succeeded"] == 1 and worker.counts["rejected"] >= 1)

    assert events[:2] == [("a", "started"), ("b", "started")]
    assert events[-2:] == [("b", "stopped"), ("a", "stopped")]
    task_events = [e for e in events if e[0] == "handler" or e[1] in {"before", "after"}]
    assert task_events == [
        ("a", "before", "t"),
        ("b", "before", "t"),
        ("handler",),
        ("b", "after", "t", "succeeded"),
        ("a", "after", "t", "succeeded"),
    ]
    assert ("a", "rejected", "MessageDecodeError") in events
    assert ("b", "rejected", "MessageDecodeError") in events


def test_the_real_worker_outlives_middleware_that_raises_everywhere(
    real_app, caplog, wait_until, worker_running
):
    ran = []
    real_app.register_task_handler("t")(lambda n: ran.append(n))
    real_app.add_tasks("t", [{"n": n} for n in range(3)])
    hooks = ("after_task", "on_rejected", "worker_started", "worker_stopped")
    caplog.set_level(logging.INFO, logger="simple_worker")

    with worker_running(real_app.worker(wait_seconds=1, middleware=[Raising(*hooks)])) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 3)

    assert sorted(ran) == [0, 1, 2]
    assert any(r.getMessage() == "Worker stopped" for r in caplog.records)


def test_a_raising_before_task_in_the_real_worker_leaves_the_message_for_redelivery(
    real_app, wait_until, worker_running
):
    ran = []
    real_app.register_task_handler("t")(lambda: ran.append(1))
    real_app.add_task("t")

    worker = real_app.worker(wait_seconds=1, middleware=[Raising("before_task")])
    with worker_running(worker):
        wait_until(lambda: worker.counts["failed"] == 1)

    assert ran == []
    stats = real_app.queue.stats("default")
    assert (stats.visible, stats.in_flight) == (0, 1)


@pytest.mark.parametrize("misspelt", ["after_tasks", "before_tsk", "worker_start", "on_reject"])
def test_a_middleware_with_a_misspelt_hook_is_refused(misspelt):
    middleware = type("Typo", (), {misspelt: lambda self, *args: None})()

    with pytest.raises(ConfigurationError, match=f"{misspelt}.*did you mean"):
        App(testing_mode=True, middleware=[middleware])
    with pytest.raises(ConfigurationError, match=misspelt):
        App(testing_mode=True).worker(middleware=[middleware])


def test_a_middleware_with_other_methods_of_its_own_is_accepted():
    class Helpers(Middleware):
        def serve(self):
            return None

        def after_task(self, task, message, result):
            return None

    App(testing_mode=True, middleware=[Helpers()]).worker(middleware=[Helpers()])
