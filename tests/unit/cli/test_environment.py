"""Worker options from SIMPLE_WORKER_* variables: command line, then environment, then default."""

import pytest

from simple_worker.cli import build_parser, main


def parse(*argv):
    return build_parser().parse_args(list(argv))


def test_worker_options_fall_back_to_their_environment_variables(monkeypatch):
    monkeypatch.setenv("SIMPLE_WORKER_THREADS", "8")
    monkeypatch.setenv("SIMPLE_WORKER_PROCESSES", "2")
    monkeypatch.setenv("SIMPLE_WORKER_QUEUES", "emails,default")
    monkeypatch.setenv("SIMPLE_WORKER_WAIT_SECONDS", "5")
    monkeypatch.setenv("SIMPLE_WORKER_SHUTDOWN_TIMEOUT", "40")
    monkeypatch.setenv("SIMPLE_WORKER_LOG_LEVEL", "debug")
    monkeypatch.setenv("SIMPLE_WORKER_LOG_FORMAT", "json")

    args = parse("worker", "m:app")

    assert (args.threads, args.processes, args.queues) == (8, 2, ["emails", "default"])
    assert (args.wait_seconds, args.shutdown_timeout) == (5, 40.0)
    assert (args.log_level, args.log_format) == ("DEBUG", "json")


def test_the_command_line_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("SIMPLE_WORKER_THREADS", "8")
    monkeypatch.setenv("SIMPLE_WORKER_LOG_LEVEL", "DEBUG")

    args = parse("worker", "m:app", "-t", "2", "-l", "warning")

    assert (args.threads, args.log_level) == (2, "WARNING")


def test_an_empty_variable_is_no_value(monkeypatch):
    monkeypatch.setenv("SIMPLE_WORKER_THREADS", "")

    assert parse("worker", "m:app").threads == 1


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SIMPLE_WORKER_THREADS", "0", "SIMPLE_WORKER_THREADS='0' is not valid: expected a whole"),
        ("SIMPLE_WORKER_LOG_LEVEL", "loud", "SIMPLE_WORKER_LOG_LEVEL='loud' is not valid"),
        ("SIMPLE_WORKER_LOG_FORMAT", "xml", "expected one of text, json; fix or unset it"),
    ],
)
def test_a_bad_variable_is_a_usage_error_that_names_it(
    monkeypatch, capsys, variable, value, message
):
    monkeypatch.setenv(variable, value)

    with pytest.raises(SystemExit) as exit_:
        main(["worker", "m:app"])

    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_bad_variable_does_not_break_the_other_commands(monkeypatch):
    monkeypatch.setenv("SIMPLE_WORKER_THREADS", "many")

    assert parse("stats", "m:app").app == "m:app"


def test_the_short_flags(monkeypatch):
    args = parse("worker", "m:app", "-t", "4", "-p", "3", "-Q", "a,b", "-l", "DEBUG")

    assert (args.threads, args.processes, args.queues, args.log_level) == (
        4,
        3,
        ["a", "b"],
        "DEBUG",
    )


def test_the_help_names_each_variable(capsys):
    with pytest.raises(SystemExit):
        main(["worker", "--help"])

    help_text = " ".join(capsys.readouterr().out.split())
    for name in ("THREADS", "PROCESSES", "QUEUES", "WAIT_SECONDS", "SHUTDOWN_TIMEOUT", "LOG_LEVEL"):
        assert f"environment: SIMPLE_WORKER_{name}" in help_text


def test_async_concurrency_defaults_to_100_and_falls_back_to_its_variable(monkeypatch):
    assert parse("worker", "m:app").async_concurrency == 100
    assert parse("worker", "m:app", "--async-concurrency", "7").async_concurrency == 7

    monkeypatch.setenv("SIMPLE_WORKER_ASYNC_CONCURRENCY", "250")

    assert parse("worker", "m:app").async_concurrency == 250
    assert parse("worker", "m:app", "--async-concurrency", "7").async_concurrency == 7
