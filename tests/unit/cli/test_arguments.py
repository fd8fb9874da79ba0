"""The command line's parsing: every command, its defaults, and one-line usage errors."""

import pytest

from simple_worker.cli import build_parser, main
from simple_worker.cli._common import comma_list, intervals, positive_int, seconds, wait_seconds

COMMANDS = [
    ["worker"],
    ["queues"],
    ["queues", "create"],
    ["check"],
    ["stats"],
    ["redrive"],
    ["enqueue"],
    ["purge"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])

    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: simple-worker {' '.join(command)}")


def test_the_worker_defaults():
    args = build_parser().parse_args(["worker", "app:app"])

    assert (args.app, args.queues, args.threads, args.processes) == ("app:app", None, 1, 1)
    assert (args.wait_seconds, args.shutdown_timeout) == (20, 20.0)
    assert (args.log_level, args.log_format) == ("INFO", "text")
    assert (args.retry_backoff, args.retry_intervals, args.parent_pid) == (None, None, None)


def test_the_worker_options():
    args = build_parser().parse_args(
        [
            *("worker", "m:app", "--queues", "a,b", "--threads", "4", "--processes", "3"),
            *("--wait-seconds", "0", "--shutdown-timeout", "12.5", "--log-level", "DEBUG"),
            *("--log-format", "json", "--retry-intervals", "5,60"),
        ]
    )

    assert args.queues == ["a", "b"]
    assert (args.threads, args.processes, args.wait_seconds) == (4, 3, 0)
    assert (args.shutdown_timeout, args.log_level, args.log_format) == (12.5, "DEBUG", "json")
    assert args.retry_intervals == [5, 60]


def test_queues_create_defaults():
    args = build_parser().parse_args(["queues", "create", "m:app"])

    assert (args.max_receive_count, args.visibility_timeout) == (10, 60)
    assert (args.dlq_suffix, args.update) == ("-dlq", False)


def test_stats_watch_takes_an_optional_interval():
    parse = build_parser().parse_args

    assert parse(["stats", "m:app"]).watch is None
    assert parse(["stats", "m:app", "--watch"]).watch == 2.0
    assert parse(["stats", "m:app", "--watch", "0.5"]).watch == 0.5


def test_enqueue_takes_pairs_or_a_payload():
    args = build_parser().parse_args(["enqueue", "m:app", "task", "a=1", "b=x"])

    assert (args.task_name, args.pairs, args.payload) == ("task", ["a=1", "b=x"], None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["worker", "m:app", "--threads", "0"], "expected a whole number of at least 1, got '0'"),
        (["worker", "m:app", "--wait-seconds", "21"], "expected a whole number from 0 to 20"),
        (["worker", "m:app", "--log-format", "xml"], "invalid choice: 'xml'"),
        (["worker", "m:app", "--retry-backoff", "5", "--retry-intervals", "5"], "not allowed"),
        (["worker", "m:app", "--shutdown-timeout", "-1"], "a number of seconds, 0 or more"),
        (["worker"], "the following arguments are required: APP"),
        (["queues"], "the following arguments are required: COMMAND"),
        (["redrive", "m:app"], "the following arguments are required: --queue"),
        (["redrive", "m:app", "--queue", "q", "--method", "magic"], "invalid choice"),
        (["nope"], "invalid choice: 'nope'"),
    ],
)
def test_usage_errors_are_one_line_with_status_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)

    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert message in error
    assert error.count("\n") == 1
    assert error.rstrip().endswith("--help)")


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [
        (comma_list, " a, b,,c ", ["a", "b", "c"]),
        (positive_int, "7", 7),
        (wait_seconds, "0", 0),
        (seconds, "2.5", 2.5),
        (intervals, "0,60,43200", [0, 60, 43200]),
    ],
)
def test_argument_types_parse(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (comma_list, ","),
        (positive_int, "1.5"),
        (positive_int, "-3"),
        (wait_seconds, "x"),
        (seconds, "nan"),
        (seconds, "inf"),
        (intervals, "10,43201"),
    ],
)
def test_argument_types_refuse(parse, text):
    with pytest.raises(Exception, match="expected"):
        parse(text)
