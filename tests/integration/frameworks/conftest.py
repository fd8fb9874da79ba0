"""Fixtures for the Flask and Django examples, run with the real frameworks.

The examples (examples/flask_shop, examples/django_shop) are imported as their
users would run them: from their own directory. `framework_cli` runs the
``simple-worker`` command there, against the session's moto server, and
`started` starts a long-running command, killed by PID at teardown if it still runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

TIMEOUT = 30.0


@pytest.fixture
def prefix(sqs_client):
    """A queue prefix of this test only; its queues are deleted afterwards."""
    name = f"fw-{uuid.uuid4().hex[:10]}-"
    yield name
    for url in sqs_client.list_queues(QueueNamePrefix=name).get("QueueUrls", []):
        sqs_client.delete_queue(QueueUrl=url)


@pytest.fixture
def example_env(moto_server, prefix):
    """The environment of a command run on moto: none of the in-process tests' settings."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SHOP_", "FLASK_", "DJANGO_"))
    }
    return {**inherited, "AWS_ENDPOINT_URL_SQS": moto_server, "SHOP_QUEUE_PREFIX": prefix}


@pytest.fixture
def run_in():
    """``run_in(directory, *command, env=...)``: run a command there to its end."""

    def run(directory, *command, env):
        return subprocess.run(  # noqa: S603 - our own commands
            list(command),
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture
def started(tmp_path):
    """``started(directory, *command, env=...)``: a running Popen, its stderr in a file."""
    processes = []

    def start(directory, *command, env):
        stderr = tmp_path / f"stderr-{len(processes)}.txt"
        with stderr.open("wb") as file:
            popen = subprocess.Popen(  # noqa: S603 - our own commands
                list(command), cwd=directory, env=env, stdout=file, stderr=file
            )
        popen.stderr_path = stderr
        processes.append(popen)
        return popen

    yield start
    for popen in processes:
        if popen.poll() is None:
            popen.kill()
            popen.wait()


def _stop(popen):
    popen.send_signal(signal.SIGTERM)
    status = popen.wait(timeout=TIMEOUT)
    return status, popen.stderr_path.read_text(errors="replace")


@pytest.fixture
def stop():
    """``stop(popen)``: SIGTERM, then the exit status and the output (stdout and stderr)."""
    return _stop


def _wait_for(condition, what):
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def wait_for():
    """``wait_for(condition, what)``: poll until true, else fail naming ``what``."""
    return _wait_for


@pytest.fixture
def command():
    """The ``simple-worker`` command, as this interpreter runs it."""
    return [sys.executable, "-m", "simple_worker"]
