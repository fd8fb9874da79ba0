"""``check`` warns where a task's time limit outlasts its queue's visibility, on moto."""


def test_check_warns_where_the_time_limit_outlasts_the_visibility_timeout(run_main, prefix):
    run_main("queues", "create", "cli_app:app")  # visibility timeout 60 s

    within = run_main("check", "cli_app:app", "--time-limit", "50")
    longer = run_main("check", "cli_app:app", "--time-limit", "120")
    beyond = run_main("check", "cli_app:app", "--time-limit", "50000")

    assert within.returncode == 0, within.stdout
    assert "0 problem(s), 0 warning(s)" in within.stdout
    assert longer.returncode == 0, longer.stdout  # a warning, not a problem
    assert f"{prefix}default  WARNING" in longer.stdout
    assert "time limit (120 s, +5 s grace) is longer than the visibility timeout (60 s)" in (
        longer.stdout
    )
    assert "fix: raise VisibilityTimeout to 126 s or more" in longer.stdout
    assert "longer than SQS's 12-hour visibility ceiling" in beyond.stdout
