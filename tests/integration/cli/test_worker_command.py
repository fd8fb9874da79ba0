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
    assert "aws sqs create-queue --queue-name cli-missing-default" in result.stderr
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
