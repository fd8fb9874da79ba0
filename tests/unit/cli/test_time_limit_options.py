"""The worker command's time-limit options, their environment variables, and the supervisor's."""

import pytest

from simple_worker.cli import build_parser
from simple_worker.cli._supervisor import child_command, default_hard_limit


def parse(*argv):
    return build_parser().parse_args(["worker", "m:app", *argv])


def test_time_limits_default_to_none():
    args = parse()
    assert (args.time_limit, args.hard_time_limit) == (None, None)


def test_time_limits_are_read_from_the_command_line_and_the_environment(monkeypatch):
    assert parse("--time-limit", "30", "--hard-time-limit", "90").time_limit == 30
    monkeypatch.setenv("SIMPLE_WORKER_TIME_LIMIT", "12.5")
    monkeypatch.setenv("SIMPLE_WORKER_HARD_TIME_LIMIT", "40")
    args = parse()
    assert (args.time_limit, args.hard_time_limit) == (12.5, 40)
    assert parse("--time-limit", "3").time_limit == 3  # the command line wins


@pytest.mark.parametrize("text", ["0", "-1", "soon", "inf"])
def test_a_time_limit_must_be_seconds_above_0(text, capsys):
    with pytest.raises(SystemExit):
        parse("--time-limit", text)
    assert "--time-limit" in capsys.readouterr().err


def test_time_limits_are_passed_on_to_worker_processes():
    command = child_command(parse("--time-limit", "30", "--hard-time-limit", "75"), parent_pid=1)
    assert command[command.index("--time-limit") + 1] == "30"
    assert command[command.index("--hard-time-limit") + 1] == "75"
    assert "--time-limit" not in child_command(parse(), parent_pid=1)


def test_the_default_hard_limit_is_twice_the_longest_time_limit_of_the_apps_tasks():
    assert default_hard_limit([None, 5.0, 2.0], None) == 10.0
    assert default_hard_limit([None, 5.0], 60.0) == 120.0  # the worker's limit for the first
    assert default_hard_limit([None], None) is None
    assert default_hard_limit([], 3.0) is None
