"""The supervisor's pure parts: restart backoff, worker command line, exit statuses."""

import signal
import sys

import pytest

from simple_worker.cli import build_parser
from simple_worker.cli._supervisor import (
    EXIT_KILLED,
    RestartBackoff,
    Supervisor,
    child_command,
    describe_exit,
    shutdown_status,
)


def test_restart_pauses_double_from_1_to_30_seconds_while_a_worker_keeps_dying_young():
    backoff = RestartBackoff()

    assert [backoff.delay(lived=0.5) for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_worker_that_lived_a_minute_restarts_the_sequence():
    backoff = RestartBackoff()
    for _ in range(4):
        backoff.delay(lived=1)

    assert backoff.delay(lived=60) == 1
    assert backoff.delay(lived=59) == 2


def test_a_worker_process_gets_the_same_options_with_one_process_and_its_parent():
    args = build_parser().parse_args(
        [
            *("worker", "m:app", "--queues", "a,b", "--threads", "4", "--processes", "3"),
            *("--wait-seconds", "5", "--shutdown-timeout", "9", "--log-level", "DEBUG"),
            *("--log-format", "json", "--retry-backoff", "2.5"),
        ]
    )

    assert child_command(args, parent_pid=42) == [
        sys.executable, "-m", "simple_worker", "worker", "m:app",
        "--queues", "a,b", "--threads", "4", "--async-concurrency", "100", "--wait-seconds", "5",
        "--log-level", "DEBUG", "--log-format", "json", "--shutdown-timeout", "9",
        "--retry-backoff", "2.5", "--processes", "1", "--parent-pid", "42",
    ]  # fmt: skip


def test_log_payloads_is_passed_on_to_the_worker_processes():
    args = build_parser().parse_args(["worker", "m:app", "--log-payloads"])

    assert "--log-payloads" in child_command(args, parent_pid=1)
    assert "--log-payloads" not in child_command(
        build_parser().parse_args(["worker", "m:app"]), parent_pid=1
    )


def test_retry_intervals_are_passed_on():
    args = build_parser().parse_args(["worker", "m:app", "--retry-intervals", "1,2,3"])

    command = child_command(args, parent_pid=1)

    assert command[command.index("--retry-intervals") + 1] == "1,2,3"
    assert "--queues" not in command


@pytest.mark.parametrize(
    ("code", "text"),
    [(0, "status 0"), (3, "status 3"), (-9, "killed by SIGKILL"), (-15, "killed by SIGTERM")],
)
def test_exits_are_described_for_people(code, text):
    assert describe_exit(code) == text


@pytest.mark.parametrize(
    ("codes", "status"),
    [
        ([0, 0, 0], 0),
        ([0, -signal.SIGTERM], 0),  # stopped by the signal before it had started
        ([0, -signal.SIGINT], 1),  # a signal other than the one sent
        ([0, 1], 1),
        ([0, 143], 1),
        ([2, 0], 2),
        ([0, 124], 124),  # one reached its shutdown budget and left work to SQS
        ([124, -signal.SIGTERM], 124),
        ([124, 1], 1),
        ([124, 2], 2),
        ([], 0),
    ],
)
def test_the_shutdown_status_is_0_only_when_every_worker_stopped_cleanly(codes, status):
    assert shutdown_status(codes, signal.SIGTERM) == status


def test_killed_workers_make_status_137():
    assert EXIT_KILLED == 137


def test_the_shutdown_budget_is_passed_on_to_every_worker_process():
    default = child_command(build_parser().parse_args(["worker", "m:app"]), parent_pid=1)
    given = child_command(
        build_parser().parse_args(["worker", "m:app", "--shutdown-timeout", "7.5"]), parent_pid=1
    )

    assert default[default.index("--shutdown-timeout") + 1] == "20"
    assert given[given.index("--shutdown-timeout") + 1] == "7.5"


def test_the_heartbeat_file_is_passed_on_to_every_worker_process():
    args = build_parser().parse_args(
        ["worker", "m:app", "--processes", "2", "--heartbeat-file", "run/alive"]
    )

    command = child_command(args, parent_pid=1)

    assert command[command.index("--heartbeat-file") + 1] == "run/alive"


def test_a_supervisor_asked_to_stop_before_it_runs_starts_no_process():
    supervisor = Supervisor(lambda index: ["false"], 2, shutdown_timeout=1)

    supervisor.request_stop()

    assert supervisor.run() == 0
    assert supervisor.processes() == [(0, None), (1, None)]
