import pytest

from simple_worker import (
    App,
    ConfigurationError,
    MessageDecodeError,
    Outcome,
    RetryIntervals,
    TooManyTasks,
)
from simple_worker.testing import TestingWorker
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


def test_a_failed_task_comes_back_after_the_retry_policys_delay():
    clock = FakeClock()
    app = App(testing_mode=True, clock=clock)
    attempts = []

    @app.register_task_handler("flaky")
    def flaky():
        attempts.append(clock.monotonic())
        if len(attempts) < 3:
            raise ConnectionError("not yet")

    app.add_task("flaky")
    worker = app.testing_worker(retry_policy=RetryIntervals([10, 60]))

    assert [r.outcome for r in worker.run_all(raise_errors=False).runs] == [Outcome.FAILED]
    clock.advance(9)
    assert worker.run_all(raise_errors=False).runs == ()
    clock.advance(1)
    assert [r.outcome for r in worker.run_all(raise_errors=False).runs] == [Outcome.FAILED]
    clock.advance(59)
    assert worker.run_all(raise_errors=False).runs == ()
    clock.advance(1)
    assert [r.outcome for r in worker.run_all().runs] == [Outcome.SUCCEEDED]
    assert attempts == [0.0, 10.0, 70.0]


def test_without_a_retry_policy_a_failed_task_comes_back_after_the_visibility_timeout():
    clock = FakeClock()
    app = App(testing_mode=True, clock=clock)
    app.queue.create_queue("default", visibility_timeout=45)
    app.register_task_handler("boom")(lambda: 1 / 0)
    app.add_task("boom")
    worker = app.testing_worker()

    worker.run_all(raise_errors=False)
    clock.advance(44)
    assert worker.run_all(raise_errors=False).runs == ()
    clock.advance(1)
    assert len(worker.run_all(raise_errors=False).failed) == 1


def test_a_message_whose_visibility_ran_out_behind_a_slow_task_is_not_run(caplog):
    clock = FakeClock()
    app = App(testing_mode=True, clock=clock)
    app.queue.create_queue("default", visibility_timeout=30)
    ran = []

    @app.register_task_handler("slow")
    def slow(n):
        ran.append(n)
        if len(ran) == 1:
            clock.advance(31)  # past the visibility timeout of the batch it came in

    app.add_tasks("slow", [{"n": 1}, {"n": 2}])

    report = app.testing_worker().run_all()

    # Task 2 waited past its visibility: not run then. Task 1's own receipt expired
    # too, so its delete failed and it ran again, as SQS would deliver it again.
    assert [r.outcome for r in report.runs] == [
        Outcome.SUCCEEDED,
        Outcome.EXPIRED,
        Outcome.SUCCEEDED,
        Outcome.SUCCEEDED,
    ]
    assert ran == [1, 1, 2]
    assert "Could not delete a finished task's message" in caplog.text


def test_clear_empties_waiting_failed_and_dead_lettered_tasks():
    clock = FakeClock()
    app = App(testing_mode=True, clock=clock)
    app.queue.create_queue("default-dlq")
    app.queue.create_queue("default", dead_letter_queue="default-dlq", max_receive_count=1)
    app.register_task_handler("t")(lambda: None)
    app.register_task_handler("boom")(lambda: 1 / 0)
    app.add_task("boom")
    app.testing_worker().run_all(raise_errors=False)  # in flight now
    clock.advance(30)
    app.testing_worker().run_all(raise_errors=False)  # moved to the dead-letter queue
    app.add_task("t")

    assert app.testing_worker().clear() == 2

    clock.advance(3600)
    assert app.testing_worker().run_all().runs == ()
    assert app.queue.bodies("default-dlq") == []


def test_clear_lets_a_test_start_clean_when_tests_share_one_app():
    app = App(testing_mode=True)
    ran = []
    app.register_task_handler("t")(lambda n: ran.append(n))
    app.add_task("t", n="left over by an earlier test")

    app.testing_worker().clear()
    app.add_task("t", n="mine")
    app.testing_worker().run_all()

    assert ran == ["mine"]


def test_clear_refuses_a_queue_it_cannot_purge():
    class NoPurge:
        def describe(self, queue):
            raise AssertionError("not reached")

    worker = TestingWorker(NoPurge(), ["q"], dispatcher=None, clock=FakeClock())

    with pytest.raises(ConfigurationError, match="in-memory"):
        worker.clear()
