"""``simple-worker worker --processes P``: the supervisor and its worker processes, for real.

Real processes, real signals, moto over HTTP. Waits are bounded polls for a
condition; nothing asserts on time.
"""

import json
import os
import signal
from collections import Counter


def start_supervisor(start_cli, *options, env=None):
    return start_cli(
        "worker", "cli_app:app", "--processes", "2", "--wait-seconds", "1", *options, env=env
    )


def wait_for_workers(supervisor, wait_until, count=2):
    wait_until(
        lambda: supervisor.stderr().count("Worker started on") >= count,
        message=lambda: f"{count} workers to start; log:\n{supervisor.stderr()}",
    )


def payload_ns(messages):
    return sorted(json.loads(m["Body"])["task_payload"]["n"] for m in messages)


def test_the_supervisor_restarts_a_worker_process_killed_with_sigkill(
    create_queue, producer, start_cli, records, wait_until
):
    create_queue("default")
    supervisor = start_supervisor(start_cli)
    wait_for_workers(supervisor, wait_until)
    first = supervisor.children()

    os.kill(first[0], signal.SIGKILL)
    wait_until(
        lambda: supervisor.children()[0] != first[0],
        message=lambda: f"a new worker process 0; log:\n{supervisor.stderr()}",
    )
    wait_for_workers(supervisor, wait_until, count=3)
    producer.add_tasks("record", [{"n": n} for n in range(10)])
    wait_until(lambda: len(records("end")) == 10, message="the tasks to run")
    supervisor.send(signal.SIGTERM)

    assert supervisor.wait() == 0
    log = supervisor.stderr()
    assert f"Worker process 0 (pid {first[0]}) exited unexpectedly (killed by SIGKILL)" in log
    assert supervisor.children()[1] == first[1]  # the other one was left alone
    assert "Every worker process stopped cleanly" in log


def test_sigterm_lets_tasks_in_flight_finish_then_exits_0(
    create_queue, producer, start_cli, records, counts, wait_until
):
    create_queue("default", VisibilityTimeout=30)
    producer.add_tasks("record", [{"n": n, "sleep": 0.5} for n in range(8)])
    supervisor = start_supervisor(start_cli, "--threads", "2")
    wait_until(lambda: len(records("start")) >= 3, message="tasks to start")

    supervisor.send(signal.SIGTERM)

    assert supervisor.wait() == 0
    started = Counter(r["n"] for r in records("start"))
    ended = Counter(r["n"] for r in records("end"))
    assert started == ended  # every task that started, finished
    visible, in_flight = counts("default")
    assert (visible, in_flight) == (8 - len(ended), 0)  # finished: deleted; others: released


def test_workers_give_up_tasks_still_running_at_the_end_of_the_budget_and_nothing_is_lost(
    create_queue, producer, start_cli, records, counts, drain, wait_until, pid_running
):
    create_queue("default", VisibilityTimeout=2)
    producer.add_tasks("record", [{"n": n, "sleep": 600} for n in range(2)])
    supervisor = start_supervisor(start_cli, "--shutdown-timeout", "1", "--threads", "2")
    wait_until(lambda: len(records("start")) == 2, message="both tasks to start")
    children = supervisor.children().values()

    supervisor.send(signal.SIGTERM)

    assert supervisor.wait() == 124
    log = supervisor.stderr()
    assert log.count("Task record still running at the end of the 1 s shutdown budget") == 2
    assert "killing them" not in log  # they stopped by themselves, within the budget
    wait_until(lambda: counts("default") == (2, 0), message="the tasks' messages to reappear")
    assert payload_ns(drain("default")) == [0, 1]
    assert records("end") == []
    assert not any(pid_running(pid) for pid in children)


def test_workers_still_running_past_the_budget_and_its_margin_are_killed(
    create_queue, start_cli, wait_until, pid_running
):
    create_queue("default")
    supervisor = start_supervisor(
        start_cli, "--shutdown-timeout", "0", env={"CLI_TEST_CHILD_IMPORT_SLEEP": "600"}
    )
    wait_until(lambda: supervisor.stderr().count("cli_app is importing") == 2)
    children = supervisor.children().values()

    supervisor.send(signal.SIGTERM)

    assert supervisor.wait() == 128 + signal.SIGKILL
    assert "still running after 5 s: killing them" in supervisor.stderr()
    assert not any(pid_running(pid) for pid in children)


def test_a_second_signal_kills_the_workers_at_once(
    create_queue, producer, start_cli, records, wait_until
):
    create_queue("default", VisibilityTimeout=5)
    producer.add_task("record", n=1, sleep=600)
    supervisor = start_supervisor(start_cli)
    wait_until(lambda: records("start"), message="the task to start")

    supervisor.send(signal.SIGTERM)
    wait_until(lambda: "stopping 2 worker process(es)" in supervisor.stderr())
    supervisor.send(signal.SIGINT)

    assert supervisor.wait() == 128 + signal.SIGINT
    assert "Second signal: killing the worker processes now" in supervisor.stderr()


def test_worker_processes_failing_with_a_configuration_error_are_not_restarted(
    create_queue, start_cli
):
    create_queue("default")
    supervisor = start_supervisor(start_cli, env={"CLI_TEST_BREAK_CHILDREN": "1"})

    assert supervisor.wait() == 2
    log = supervisor.stderr()
    assert "this worker process is broken on purpose" in log  # the worker's own message
    assert "exited with status 2, a configuration error" in log
    assert log.count("Started worker process") == 2  # never restarted


def test_missing_queues_stop_the_supervisor_before_it_starts_any_process(cli):
    result = cli("worker", "cli_app:app", "--processes", "3")

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "queue does not exist" in result.stderr
    assert "Started worker process" not in result.stderr


def test_worker_processes_stop_by_themselves_when_the_supervisor_is_killed(
    create_queue, start_cli, wait_until, pid_running
):
    create_queue("default")
    supervisor = start_supervisor(start_cli)
    wait_for_workers(supervisor, wait_until)
    children = list(supervisor.children().values())

    supervisor.send(signal.SIGKILL)
    supervisor.wait()

    wait_until(
        lambda: not any(pid_running(pid) for pid in children),
        message="the orphaned worker processes to stop",
    )
