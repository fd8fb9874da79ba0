import pytest

from simple_worker import App, MessageDecodeError, TooManyTasks
from simple_worker.testing.clock import FakeClock


@pytest.fixture
def app():
    return App(testing_mode=True)


def test_run_all_runs_tasks_that_tasks_enqueue(app):
    ran = []

    @app.register_task_handler("countdown")
    def countdown(n):
        ran.append(n)
        if n > 0:
            app.add_task("countdown", n=n - 1)

    app.add_task("countdown", n=3)

    report = app.testing_worker().run_all()

    assert ran == [3, 2, 1, 0]
    assert len(report.succeeded) == 4


def test_run_all_reraises_the_first_handler_error_by_default(app):
    @app.register_task_handler("boom")
    def boom(n):
        raise ValueError(f"boom {n}")

    app.add_task("boom", n=1)

    with pytest.raises(ValueError, match="boom 1"):
        app.testing_worker().run_all()


def test_run_all_collects_failures_when_asked_and_keeps_going(app):
    ran = []

    @app.register_task_handler("maybe")
    def maybe(n):
        ran.append(n)
        if n % 2:
            raise RuntimeError(n)

    app.add_tasks("maybe", [{"n": n} for n in range(4)])

    report = app.testing_worker().run_all(raise_errors=False)

    assert ran == [0, 1, 2, 3]
    assert [r.task.payload["n"] for r in report.failed] == [1, 3]
    assert [type(r.error) for r in report.failed] == [RuntimeError, RuntimeError]
    assert len(report.succeeded) == 2


def test_a_failed_task_stays_in_the_queue_as_on_sqs(app):
    app.register_task_handler("boom")(lambda: 1 / 0)
    app.add_task("boom")

    app.testing_worker().run_all(raise_errors=False)

    stats = app.queue.stats("default")
    assert (stats.visible, stats.in_flight) == (0, 1)


def test_tasks_received_with_a_failing_one_are_released_for_the_next_run(app):
    ran = []

    @app.register_task_handler("t")
    def t(n):
        if n == 0:
            raise RuntimeError("first fails")
        ran.append(n)

    app.add_tasks("t", [{"n": n} for n in range(3)])

    with pytest.raises(RuntimeError):
        app.testing_worker().run_all()
    app.testing_worker().run_all()

    assert ran == [1, 2]


def test_run_all_stops_an_endless_chain_with_a_clear_error(app):
    @app.register_task_handler("forever")
    def forever():
        app.add_task("forever")

    app.add_task("forever")

    with pytest.raises(TooManyTasks, match="ran 50 tasks"):
        app.testing_worker().run_all(max_tasks=50)


def test_run_all_refuses_a_message_that_is_not_an_envelope(app, send_raw):
    app.register_task_handler("t")(lambda: None)
    send_raw(app, "not json")

    with pytest.raises(MessageDecodeError, match="not valid JSON"):
        app.testing_worker().run_all()


def test_run_all_reports_messages_that_cannot_run_without_running_them(app, send_raw):
    ran = []
    app.register_task_handler("t")(lambda a: ran.append(a))
    send_raw(app, '{"task_name": "other", "task_payload": {}}')
    send_raw(app, '{"task_name": "t", "task_payload": {"b": 1}}')
    app.add_task("t", a=1)

    report = app.testing_worker().run_all(raise_errors=False)

    assert ran == [1]
    assert [type(r.error).__name__ for r in report.rejected] == ["UnknownTask", "PayloadMismatch"]
    assert app.queue.stats("default").in_flight == 2


def test_run_all_runs_messages_in_the_0_2_format(app, send_raw):
    seen = []
    app.register_task_handler("legacy")(lambda a, b: seen.append((a, b)))
    send_raw(app, '{"task_name": "legacy", "task_payload": {"a": 1, "b": 2}}')

    app.testing_worker().run_all()

    assert seen == [(1, 2)]


def test_run_all_on_empty_queues_returns_an_empty_report(app):
    app.register_task_handler("t")(lambda: None)

    report = app.testing_worker().run_all()

    assert report.runs == ()


def test_on_a_fifo_queue_a_failed_task_holds_back_the_rest_of_its_group():
    clock = FakeClock()
    app = App(testing_mode=True, clock=clock)
    ran = []

    @app.register_task_handler("step", queue="jobs.fifo", group_by="order")
    def step(order, n):
        ran.append((order, n))
        if ran.count(("a", 1)) == 1 and (order, n) == ("a", 1):
            raise RuntimeError("a-1 fails once")

    app.add_tasks("step", [{"order": o, "n": n} for o in ("a", "b") for n in (1, 2)])
    worker = app.testing_worker()

    worker.run_all(raise_errors=False)
    assert ran == [("a", 1), ("b", 1), ("b", 2)]

    clock.advance(30)  # a-1's visibility timeout: it comes back first, then a-2
    worker.run_all()
    assert ran[3:] == [("a", 1), ("a", 2)]
