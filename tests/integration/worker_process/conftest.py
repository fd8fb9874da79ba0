"""Fixtures for tests that run real worker processes (``app_main.py``) against moto.

Workers are subprocesses talking to the session's moto server over HTTP; they
get real signals. Every worker a test starts is killed, by its PID, at teardown
if it is still running, and its stderr is shown when the test fails.
"""

from __future__ import annotations

import contextlib
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

APP_MAIN = Path(__file__).with_name("app_main.py")
READY_LINE = "Worker started"
READY_TIMEOUT = 20.0
WAIT_TIMEOUT = 20.0
_POLL_INTERVAL = 0.05


class WorkerProcess:
    """A running ``app_main.py``: its process, and its stderr (the log) as a file."""

    def __init__(self, popen: subprocess.Popen[bytes], stderr_path: Path) -> None:
        self.popen = popen
        self.stderr_path = stderr_path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def send(self, signum: int = signal.SIGTERM) -> None:
        """Send a signal to this worker's PID."""
        self.popen.send_signal(signum)

    def wait(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for the exit; return the exit status."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"worker {self.pid} still running after {timeout} s:\n{self.stderr()}")

    def wait_ready(self) -> None:
        """Wait (at most 20 s) until the worker logs that it started; fail if it exits first."""
        _wait_until(
            lambda: READY_LINE in self.stderr() or not self.running(),
            READY_TIMEOUT,
            lambda: f"worker {self.pid} to start:\n{self.stderr()}",
        )
        if not self.running():
            pytest.fail(f"worker exited with {self.popen.returncode}:\n{self.stderr()}")

    def wait_for_log(self, text: str, timeout: float = WAIT_TIMEOUT) -> None:
        """Wait (bounded) until the worker's log contains ``text``."""
        _wait_until(
            lambda: text in self.stderr(),
            timeout,
            lambda: f"{text!r} in the log of worker {self.pid}:\n{self.stderr()}",
        )

    def stop(self, timeout: float = WAIT_TIMEOUT) -> int:
        """SIGTERM, then wait for the exit; return the exit status."""
        self.send(signal.SIGTERM)
        return self.wait(timeout)


def _wait_until(condition, timeout=WAIT_TIMEOUT, message="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            pytest.fail(f"timed out after {timeout} s waiting for {text}")
        time.sleep(_POLL_INTERVAL)


@pytest.fixture
def wait_until():
    """``wait_until(condition, timeout=20, message=...)``: poll until it is truthy; return it.

    Fails the test after ``timeout`` seconds (a bound, not a measurement); ``message``
    (a string, or a callable for details gathered at that moment) says what was awaited.
    """
    return _wait_until


def read_records(path):
    """Every complete JSON line of a record file; none if it does not exist yet."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


@pytest.fixture
def record_file(tmp_path):
    """The file this test's workers append their task records to."""
    return tmp_path / "records.jsonl"


@pytest.fixture
def records(record_file):
    """``records(event=None, file=record_file)``: the records so far, or those of one event."""

    def read(event=None, file=record_file):
        return [r for r in read_records(file) if event is None or r["event"] == event]

    return read


@pytest.fixture
def prefix():
    """A queue prefix no other test uses; queue ``default`` is ``prefix + "default"``."""
    return f"wp-{uuid.uuid4().hex[:12]}-"


class QueueHandle:
    """A queue a test created, seen through the test's own SQS client."""

    def __init__(self, sqs_client, url: str) -> None:
        self._sqs = sqs_client
        self.url = url

    @property
    def arn(self) -> str:
        return self._attributes("QueueArn")["QueueArn"]

    def counts(self) -> tuple[int, int]:
        """``(visible, in_flight)``: SQS's ApproximateNumberOfMessages(NotVisible)."""
        attributes = self._attributes(
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"
        )
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )

    def send(self, body: str) -> str:
        """Send a raw body, as any producer could; return the message id."""
        return self._sqs.send_message(QueueUrl=self.url, MessageBody=body)["MessageId"]

    def receive(self) -> list[str]:
        """The bodies one ReceiveMessage (up to 10, a 1-second poll) returns."""
        response = self._sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        return [message["Body"] for message in response.get("Messages", [])]

    def _attributes(self, *names: str) -> dict[str, str]:
        return self._sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=list(names))[
            "Attributes"
        ]


@pytest.fixture
def create_queue(sqs_client, prefix):
    """``create_queue(name="default", **attributes)``: create ``prefix + name``; a `QueueHandle`.

    The queues are deleted after the test (after its workers are killed).
    """
    created = []

    def create(name="default", **attributes):
        url = sqs_client.create_queue(
            QueueName=prefix + name,
            Attributes={key: str(value) for key, value in attributes.items()},
        )["QueueUrl"]
        created.append(url)
        return QueueHandle(sqs_client, url)

    yield create
    for url in created:
        with contextlib.suppress(sqs_client.exceptions.QueueDoesNotExist):
            sqs_client.delete_queue(QueueUrl=url)


@pytest.fixture
def producer(moto_server, prefix):
    """An `App` in the test process with ``app_main.py``'s tasks (same names and signatures)."""
    app = App(queue_prefix=prefix, sqs_endpoint_url=moto_server, sqs_region="us-east-1")

    @app.register_task_handler("record")
    def record(n, sleep=None): ...

    @app.register_task_handler("record_other", queue="other")
    def record_other(n, sleep=None): ...

    @app.register_task_handler("boom")
    def boom(n): ...

    return app


@pytest.fixture
def start_worker(moto_server, prefix, record_file, tmp_path, create_queue):
    """``start_worker(threads=1, wait_seconds=1, queues=None, ..., ready=True)``: a worker.

    Spawns ``app_main.py`` for this test's prefix and record file; with ``ready``,
    waits (at most 20 s) until it logs "Worker started". Returns a `WorkerProcess`.
    Requests `create_queue` so that workers are killed before their queues go.
    """
    started = []

    def start(
        *,
        threads=1,
        wait_seconds=1,
        queues=None,
        handler_sleep=None,
        log_sqs_requests=False,
        ready=True,
    ):
        command = [
            sys.executable,
            str(APP_MAIN),
            *("--endpoint", moto_server, "--prefix", prefix, "--record", str(record_file)),
            *("--threads", str(threads), "--wait-seconds", str(wait_seconds)),
        ]
        if queues is not None:
            command += ["--queues", ",".join(queues)]
        if handler_sleep is not None:
            command += ["--handler-sleep", str(handler_sleep)]
        if log_sqs_requests:
            command += ["--log-sqs-requests"]
        stderr_path = tmp_path / f"worker-{len(started)}.stderr"
        with stderr_path.open("wb") as stderr:
            popen = subprocess.Popen(  # noqa: S603 - our own script, run with our interpreter
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        worker = WorkerProcess(popen, stderr_path)
        started.append(worker)
        if ready:
            worker.wait_ready()
        return worker

    yield start
    for worker in started:
        if worker.running():
            worker.popen.kill()
            worker.popen.wait()
        sys.stdout.write(f"--- worker {worker.pid} stderr ---\n{worker.stderr()}\n")
