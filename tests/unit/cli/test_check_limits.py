"""``check``'s time-limit findings, from registrations alone."""

from simple_worker import App
from simple_worker.cli._check_limits import has_time_limits, time_limit_findings


def registrations():
    app = App(testing_mode=True, queue_prefix="p-")
    app.register_task_handler("own", time_limit=100)(lambda: None)
    app.register_task_handler("free")(lambda: None)
    app.register_task_handler("elsewhere", queue="other", time_limit=10**5)(lambda: None)
    return app.registry.registrations()


def test_a_task_whose_limit_outlasts_the_visibility_timeout_is_warned_about():
    found = time_limit_findings(registrations(), "p-default", 60, None)
    assert [(level, text.split(" time limit")[0]) for level, text, _ in found] == [
        ("warning", "task own's")
    ]


def test_the_worker_default_counts_for_tasks_without_their_own():
    found = time_limit_findings(registrations(), "p-default", 60, 300)
    assert len(found) == 2
    assert time_limit_findings(registrations(), "p-default", 600, 30) == []


def test_a_queue_with_visibility_0_is_judged_by_the_workers_own_hiding_time():
    assert len(time_limit_findings(registrations(), "p-default", 0, None)) == 1


def test_a_limit_beyond_twelve_hours_is_warned_about_whatever_the_visibility():
    ((_, text, fix),) = time_limit_findings(registrations(), "p-other", 43_200, None)
    assert "12-hour visibility ceiling" in text
    assert "time_limit under" in fix


def test_only_queues_with_a_limited_task_are_read_again():
    assert has_time_limits(registrations(), "p-default", None)
    assert not has_time_limits(
        [r for r in registrations() if r.task_name == "free"], "p-default", None
    )
    assert has_time_limits(registrations(), "p-default", 5.0)
