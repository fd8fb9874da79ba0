"""Fixtures for the ``simple-worker`` command tests: the real command in subprocesses, on moto.

Every command runs as ``python -m simple_worker ...`` in this directory (so
``cli_app:app`` imports), against the session's moto server on 127.0.0.1, with
queues named by a per-test prefix and deleted afterwards. Processes a test starts
are killed by PID at teardown if still running, with the worker processes a
supervisor logged that it started.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from simple_worker import App
from simple_worker.cli import main

HERE = Path(__file__).parent
COMMAND = [sys.executable, "-m", "simple_worker"]
WAIT_TIMEOUT = 30.0
_POLL = 0.05
_STARTED = re.compile(r"Started worker process (\d+) \(pid (\d+)\)")


def _wait_until(condition, *, timeout=WAIT_TIMEOUT, message="the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            pytest.fail(f"timed out waiting for {text}")
        time.sleep(_POLL)


@pytest.fixture
def wait_until():
    """``wait_until(condition, timeout=30, message=...)``: poll until true, else fail."""
    return _wait_until


class CliProcess:
    """A running command, its stdout and stderr captured in files."""

    def __init__(self, popen, stdout_path, stderr_path):
        self.popen = popen
        self.stdout_path = stdout_path
        self.stderr_path = stderr_path

    @property
    def pid(self):
        return self.popen.pid

    def stdout(self):
        return self.stdout_path.read_text(errors="replace")

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def send(self, signum):
        self.popen.send_signal(signum)

    def wait(self, timeout=WAIT_TIMEOUT):
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # PYTHONFAULTHANDLER is set: SIGABRT makes it print every thread's stack.
            self.popen.send_signal(signal.SIGABRT)
            self.popen.wait(timeout=10)
            stacks = self.stderr()[-6000:]
            raise AssertionError(
                f"the command did not exit within {timeout} s; its stacks:\n{stacks}"
            ) from None

    def children(self):
        """``{process index: pid}`` of the worker processes this supervisor started last."""
        return {int(index): int(pid) for index, pid in _STARTED.findall(self.stderr())}

    def all_children(self):
        return [int(pid) for _, pid in _STARTED.findall(self.stderr())]


def pid_alive(pid):
    """Whether ``pid`` runs (a zombie, dead but not reaped, does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
def pid_running():
    """``pid_running(pid)``: whether the process runs (not gone, not a zombie)."""
    return pid_alive


@pytest.fixture
def prefix(sqs_client):
    """A queue prefix of this test only; its queues are deleted afterwards."""
    name = f"cli-{uuid.uuid4().hex[:10]}-"
    yield name
    for url in sqs_client.list_queues(QueueNamePrefix=name).get("QueueUrls", []):
        sqs_client.delete_queue(QueueUrl=url)


@pytest.fixture
def record_file(tmp_path):
    return tmp_path / "records.jsonl"


@pytest.fixture
def records(record_file):
    """``records(event=None)``: the lines ``cli_app``'s ``record`` task wrote, by event."""

    def read(event=None):
        if not record_file.exists():
            return []
        lines = [json.loads(line) for line in record_file.read_text().splitlines() if line]
        return [line for line in lines if event is None or line["event"] == event]

    return read


@pytest.fixture
def cli_env(moto_server, prefix, record_file):
    return {
        **os.environ,
        "AWS_ENDPOINT_URL_SQS": moto_server,
        "CLI_TEST_PREFIX": prefix,
        "CLI_TEST_RECORD": str(record_file),
    }


@pytest.fixture
def cli(cli_env):
    """``cli(*args, input=None, env={})``: run the command to its end; a CompletedProcess."""

    def run(*args, input=None, env=None, timeout=60):  # noqa: A002 - as subprocess.run names it
        return subprocess.run(  # noqa: S603 - our own command
            [*COMMAND, *args],
            cwd=HERE,
            env={**cli_env, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


class Result:
    """What `run_main` returns: named like `subprocess.CompletedProcess`'s fields."""

    def __init__(self, returncode, stdout, stderr):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


@pytest.fixture
def run_main(cli_env, monkeypatch, capsys):
    """``run_main(*args)``: the command's `main` in this process, a `Result`.

    Much faster than a subprocess (no interpreter and boto3 start-up), for the
    variations of a command that a subprocess test already covers end to end.
    ``cli_app`` is imported afresh each time, with this test's prefix.
    """
    monkeypatch.chdir(HERE)
    monkeypatch.syspath_prepend(str(HERE))
    for name in ("AWS_ENDPOINT_URL_SQS", "CLI_TEST_PREFIX", "CLI_TEST_RECORD"):
        monkeypatch.setenv(name, cli_env[name])

    def run(*args):
        sys.modules.pop("cli_app", None)
        capsys.readouterr()
        try:
            status = main(list(args))
        except SystemExit as exit_:
            status = exit_.code
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    yield run
    sys.modules.pop("cli_app", None)


@pytest.fixture
def on_a_terminal(cli_env):
    """``on_a_terminal(answer, *args)``: run the command, its stdin a terminal holding ``answer``.

    For the commands that ask before they delete (``purge``, ``redrive
    --drop-if-unrunnable``): they ask only where stdin is a terminal.
    """

    def run(answer, *args):
        controller, terminal = pty.openpty()
        try:
            os.write(controller, answer.encode())
            return subprocess.run(  # noqa: S603 - our own command
                [*COMMAND, *args],
                cwd=HERE,
                env=cli_env,
                stdin=terminal,
                capture_output=True,
                timeout=60,
                check=False,
            )
        finally:
            os.close(terminal)
            os.close(controller)

    return run


@pytest.fixture
def start_cli(cli_env, tmp_path):
    """``start_cli(*args, env={})``: start the command; a `CliProcess`. Killed at teardown."""
    started = []

    def start(*args, env=None):
        n = len(started)
        stdout_path, stderr_path = tmp_path / f"out-{n}.txt", tmp_path / f"err-{n}.txt"
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            popen = subprocess.Popen(  # noqa: S603 - our own command
                [*COMMAND, *args],
                cwd=HERE,
                env={**cli_env, "PYTHONFAULTHANDLER": "1", **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        process = CliProcess(popen, stdout_path, stderr_path)
        started.append(process)
        return process

    yield start
    for process in started:
        for pid in process.all_children():
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait()


@pytest.fixture
def create_queue(sqs_client, prefix):
    """``create_queue(name, dlq=True, max_receive_count=5, **attributes)``: the queue's URL.

    Creates ``prefix + name`` (and ``prefix + name + "-dlq"`` with a redrive policy).
    """

    def create(name="default", *, dlq=True, max_receive_count=5, **attributes):
        attributes = {key: str(value) for key, value in attributes.items()}
        if dlq:
            dlq_name = f"{prefix}{name.removesuffix('.fifo')}-dlq" + (
                ".fifo" if name.endswith(".fifo") else ""
            )
            fifo = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
            dlq_url = sqs_client.create_queue(QueueName=dlq_name, Attributes=fifo)["QueueUrl"]
            arn = sqs_client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
                    "maxReceiveCount": str(max_receive_count),
                }
            )
        if name.endswith(".fifo"):
            attributes["FifoQueue"] = "true"
        return sqs_client.create_queue(QueueName=prefix + name, Attributes=attributes)["QueueUrl"]

    return create


@pytest.fixture
def queue_url(sqs_client, prefix):
    """``queue_url(name)``: the URL of ``prefix + name``."""
    return lambda name: sqs_client.get_queue_url(QueueName=prefix + name)["QueueUrl"]


@pytest.fixture
def counts(sqs_client, queue_url):
    """``counts(name)``: (visible, in flight) of ``prefix + name``."""

    def read(name):
        attributes = sqs_client.get_queue_attributes(
            QueueUrl=queue_url(name),
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        )["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )

    return read


@pytest.fixture
def drain(sqs_client, queue_url):
    """``drain(name)``: receive every visible message of ``prefix + name``, as boto3 gives them.

    Each is hidden for a minute, so each is received once.
    """

    def receive_all(name):
        received = []
        while True:
            messages = sqs_client.receive_message(
                QueueUrl=queue_url(name),
                MaxNumberOfMessages=10,
                VisibilityTimeout=60,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return received
            received += messages

    return receive_all


def _load_fault_proxy():
    path = HERE.parent / "reliability" / "fault_proxy.py"
    spec = importlib.util.spec_from_file_location("cli_fault_proxy", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fault_proxy(moto_server):
    """The reliability tests' `FaultProxy` in front of the moto server; closed after the test.

    Give the command ``env={"AWS_ENDPOINT_URL_SQS": fault_proxy.url}`` to go through it.
    """
    proxy = _load_fault_proxy().FaultProxy(int(moto_server.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


@pytest.fixture
def producer(moto_server, prefix):
    """An App with the prefix and ``cli_app``'s task names, to enqueue tasks."""
    app = App(queue_prefix=prefix, sqs_endpoint_url=moto_server)
    app.register_task_handler("touch")(lambda path: None)
    app.register_task_handler("record")(lambda n, sleep=0.0: None)
    app.register_task_handler("fail")(lambda n: None)
    return app
