import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from simple_worker import App

HERE = Path(__file__).parent


def run_command(args, env, **kwargs):
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "simple_worker", *args],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kwargs,
    )


@pytest.fixture
def env(moto_server):
    return {**os.environ, "AWS_ENDPOINT_URL_SQS": moto_server, "CLI_TEST_PREFIX": "cli-missing-"}


def test_version_prints_the_package_version(env):
    result = run_command(["--version"], env)

    assert result.returncode == 0
    assert result.stdout.startswith("simple-worker ")


@pytest.mark.parametrize(
    ("app_path", "message"),
    [
        ("no_such_module:app", "Cannot import module 'no_such_module'"),
        ("cli_app:missing", "Module 'cli_app' has no attribute 'missing'"),
        ("cli_app:not_an_app", "cli_app:not_an_app is a str, not a simple_worker.App"),
    ],
)
def test_a_bad_app_path_is_one_line_and_exit_status_2(env, app_path, message):
    result = run_command(["worker", app_path], env)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_queues_exit_2_naming_them_without_a_traceback(env):
    result = run_command(["worker", "cli_app:app"], env)

    assert result.returncode == 2
    assert "1 queue does not exist: cli-missing-default" in result.stderr
    assert "simple-worker queues create MODULE:APP" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_worker_command_runs_tasks_and_stops_cleanly_on_sigterm(
    env, moto_server, sqs_client, tmp_path
):
    prefix = f"cli-{uuid.uuid4().hex[:12]}-"
    sqs_client.create_queue(QueueName=f"{prefix}default")
    producer = App(queue_prefix=prefix, sqs_endpoint_url=moto_server)
    producer.register_task_handler("touch")(lambda path: None)
    marker = tmp_path / "ran"
    producer.add_task("touch", path=str(marker))

    worker = subprocess.Popen(
        [sys.executable, "-m", "simple_worker", "worker", "cli_app:app", "--wait-seconds", "1"],
        cwd=HERE,
        env={**env, "CLI_TEST_PREFIX": prefix},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.read_text(encoding="utf-8") == "ran"
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()

    assert worker.returncode == 0
    assert "Worker stopped" in stderr


def test_json_logs_are_one_object_per_line_with_every_structured_field(
    create_queue, producer, start_cli, records, wait_until
):
    create_queue("default", VisibilityTimeout=30)
    ok_id = producer.add_task("record", n=1)
    failed_id = producer.add_task("fail", n=2)

    worker = start_cli("worker", "cli_app:app", "--wait-seconds", "1", "--log-format", "json")
    wait_until(lambda: "Failed to process task" in worker.stderr() and records("end"))
    worker.send(signal.SIGTERM)

    assert worker.wait() == 0
    entries = [json.loads(line) for line in worker.stderr().splitlines()]
    assert all({"timestamp", "level", "logger", "message", "process"} <= set(e) for e in entries)
    done = next(e for e in entries if e["message"] == "Processed task record successfully")
    assert (done["task_name"], done["task_id"], done["level"]) == ("record", ok_id, "INFO")
    failure = next(e for e in entries if e["message"].startswith("Failed to process task fail"))
    assert (failure["task_id"], failure["error_type"], failure["level"]) == (
        failed_id,
        "ValueError",
        "ERROR",
    )
    assert "Traceback" in failure["exception"]
    assert "task 2 fails on purpose" in failure["exception"]
    assert any(e["message"] == "Worker stopped" and e.get("succeeded") == 1 for e in entries)


def test_a_signal_while_the_app_imports_stops_the_worker_cleanly(
    create_queue, start_cli, wait_until
):
    create_queue("default")
    worker = start_cli(
        "worker", "cli_app:app", "--wait-seconds", "1", env={"CLI_TEST_IMPORT_SLEEP": "1"}
    )
    wait_until(lambda: "cli_app is importing" in worker.stderr())
    worker.send(signal.SIGTERM)

    assert worker.wait() == 0
    assert "before the worker started: not starting" in worker.stderr()


def test_a_task_thread_that_dies_stops_the_worker_command_with_status_1(
    create_queue, producer, start_cli, records, wait_until
):
    create_queue("default")
    producer.add_task("record", n=1)
    worker = start_cli(
        "worker",
        "cli_app:app",
        "--wait-seconds",
        "1",
        "--threads",
        "2",
        env={"CLI_TEST_BREAK_TASK_THREADS": "1"},
    )

    assert worker.wait() == 1
    stderr = worker.stderr()
    assert "CRITICAL" in stderr
    assert "Worker thread simple-worker-task-0 died of RuntimeError: stopping the worker" in stderr
    assert "a bug outside the per-message guard" in stderr  # its traceback
    assert "Worker stopped" in stderr  # gracefully: received messages were released
    assert "simple-worker: Worker thread simple-worker-task-" in stderr.splitlines()[-1]
    assert records() == []
