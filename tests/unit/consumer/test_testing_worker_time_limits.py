"""Time limits in the testing worker: judged by the app's clock once a task returns."""

import pytest

from simple_worker import App, TaskTimeLimitExceeded
from simple_worker.testing import FakeClock


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def app(clock):
    return App(testing_mode=True, clock=clock)


def test_a_task_that_ran_past_its_limit_fails_loudly(app, clock):
    app.register_task_handler("slow", time_limit=2)(lambda: clock.advance(3))
    app.add_task("slow")

    with pytest.raises(TaskTimeLimitExceeded, match="time limit of 2 s"):
        app.testing_worker().run_all()


def test_a_task_within_its_limit_succeeds(app, clock):
    app.register_task_handler("quick", time_limit=2)(lambda: clock.advance(1.5))
    app.add_task("quick")
    assert app.testing_worker().run_all().task_names() == ["quick"]


def test_the_testing_worker_default_limit_applies_to_tasks_without_their_own(app, clock):
    app.register_task_handler("own", time_limit=10)(lambda: clock.advance(5))
    app.register_task_handler("slow")(lambda: clock.advance(5))
    app.add_task("own")
    app.add_task("slow")

    report = app.testing_worker(time_limit=4).run_all(raise_errors=False)

    assert [run.task.name for run in report.succeeded] == ["own"]
    assert [run.task.name for run in report.failed] == ["slow"]
    assert isinstance(report.failed[0].error, TaskTimeLimitExceeded)
    assert len(app.queue.bodies("default")) == 1  # not deleted, as on SQS
