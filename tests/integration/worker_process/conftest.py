"""Fixtures for tests that run real worker processes (``app_main.py``) against moto.

Workers are subprocesses talking to the session's moto server over HTTP; they
get real signals. They are started by the integration conftest's `worker_launcher`:
every worker a test starts is killed, by its PID, at teardown if it is still
running, and its stderr is shown when the test fails.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from simple_worker import App

APP_MAIN = Path(__file__).with_name("app_main.py")
MAX_NUMBERED_QUEUES = 12


@pytest.fixture
def wait_until(waiter):
    """``wait_until(condition, timeout=20, message=...)``: poll until it is truthy; return it.

    Fails the test after ``timeout`` seconds (a bound, not a measurement); ``message``
    (a string, or a callable for details gathered at that moment) says what was awaited.
    """
    return waiter


@pytest.fixture
def record_file(tmp_path):
    """The file this test's workers append their task records to."""
    return tmp_path / "records.jsonl"


@pytest.fixture
def records(record_file, read_records):
    """``records(event=None, file=record_file)``: the records so far, or those of one event."""

    def read(event=None, file=record_file):
        return read_records(file, event)

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
def create_queue(sqs_client, prefix, named_queue):
    """``create_queue(name="default", **attributes)``: create ``prefix + name``; a `QueueHandle`.

    The queues are deleted after the test (after its workers are killed; see `named_queue`).
    """

    def create(name="default", **attributes):
        return QueueHandle(sqs_client, named_queue(prefix + name, **attributes))

    return create


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

    @app.register_task_handler("exit")
    def exit_(n): ...

    for index in range(MAX_NUMBERED_QUEUES):  # as app_main.py's --numbered-queues
        app.register_task_handler(f"record_{index}", queue=f"q{index}")(lambda n, sleep=None: None)
    return app


@pytest.fixture
def start_worker(moto_server, prefix, record_file, create_queue, worker_launcher):
    """``start_worker(threads=1, wait_seconds=1, queues=None, ..., ready=True)``: a worker.

    Spawns ``app_main.py`` for this test's prefix and record file (``queues`` may give
    weights, ``"default=3"``; ``numbered_queues=N`` adds tasks on q0..q<N-1>); with ``ready``,
    waits (at most 20 s) until it logs "Worker started". Returns a `WorkerProcess`.
    Requests `create_queue` before `worker_launcher`, so that workers are killed
    before their queues go.
    """

    def start(
        *, queues=None, handler_sleep=None, log_sqs_requests=False, numbered_queues=0, **settings
    ):
        # settings: threads, wait_seconds and ready, as `WorkerLauncher.start` takes them;
        # queues: names, each with an optional weight ("default=3")
        options = []
        if queues is not None:
            options += ["--queues", ",".join(queues)]
        if numbered_queues:
            options += ["--numbered-queues", str(numbered_queues)]
        if handler_sleep is not None:
            options += ["--handler-sleep", str(handler_sleep)]
        if log_sqs_requests:
            options += ["--log-sqs-requests"]
        return worker_launcher.start(
            APP_MAIN, moto_server, prefix, record_file, *options, **settings
        )

    return start
