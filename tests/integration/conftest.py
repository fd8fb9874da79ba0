"""Fixtures for integration tests: moto's SQS, on 127.0.0.1 over real HTTP or in-process.

Every test under tests/integration gets the ``integration`` marker (see
`pytest_collection_modifyitems`) and runs with dummy AWS credentials and no AWS
configuration from the machine, so nothing here can reach real AWS.

The worker processes of worker_process/ and reliability/ are started, watched and
killed by the fixtures at the end (`worker_launcher`, `waiter`, `read_records`);
what their scripts share, in the worker's process, is ``worker_support.py``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def aws_test_env(tmp_path_factory):
    """Dummy credentials and region; the machine's AWS files, profiles and endpoints ignored."""
    nowhere = tmp_path_factory.mktemp("aws") / "absent"
    with pytest.MonkeyPatch.context() as patch:
        for name in (
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_SQS",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ENDPOINT_URL_SCHEDULER",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_REGION", REGION)
        patch.setenv("AWS_CONFIG_FILE", str(nowhere))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere))
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield


@pytest.fixture(scope="session")
def moto_server():
    """A moto server in a thread of this process, on 127.0.0.1; yields its endpoint URL."""
    # Werkzeug logs one line per request; keep failures readable.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Tests count runs exactly: moto's own receive race must not deliver twice.
    runpy.run_path(str(_HERE / "atomic_sqs.py"))["make_sqs_atomic"]()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def sqs_client(moto_server):
    """A boto3 SQS client of the moto server; a new one per test, so event hooks don't leak.

    Its credentials are `aws_test_env`'s dummy ones.
    """
    return boto3.client(
        "sqs",
        endpoint_url=moto_server,
        region_name=REGION,
    )


@pytest.fixture
def mocked_sqs_client():
    """A boto3 SQS client of moto in this process (`moto.mock_aws`): no HTTP, faster.

    moto keeps one store for both modes, and `mock_aws` normally wipes it on start
    and stop, which would delete the server's queues under other tests; so it is
    started without reset, and this fixture deletes the queues its test created.
    """
    mock = mock_aws()
    mock.start(reset=False)
    client = boto3.client("sqs", region_name=REGION)
    before = set(client.list_queues().get("QueueUrls", []))
    try:
        yield client
    finally:
        for url in set(client.list_queues().get("QueueUrls", [])) - before:
            client.delete_queue(QueueUrl=url)
        mock.stop(remove_data=False)


def unique_name(prefix="test"):
    """A queue name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _queue_maker(client):
    created = []

    def make_queue(prefix="test", **attributes):
        """Create a queue named ``prefix-<uuid>`` with SQS attributes; return its name."""
        name = unique_name(prefix)
        client.create_queue(
            QueueName=name, Attributes={key: str(value) for key, value in attributes.items()}
        )
        created.append(name)
        return name

    return make_queue, created


def _delete_queues(client, names):
    for name in names:
        with contextlib.suppress(client.exceptions.QueueDoesNotExist):  # the test deleted it
            client.delete_queue(QueueUrl=client.get_queue_url(QueueName=name)["QueueUrl"])


@pytest.fixture
def make_queue(sqs_client):
    """Create uniquely named queues on the moto server, deleted after the test.

    ``make_queue(prefix="test", **attributes)``, e.g. ``make_queue(VisibilityTimeout=5)``.
    """
    make, created = _queue_maker(sqs_client)
    yield make
    _delete_queues(sqs_client, created)


@pytest.fixture
def named_queue(sqs_client):
    """``named_queue(name, **attributes)``: create queue ``name`` on the moto server; its URL.

    The queues are deleted after the test (if it did not delete them itself).
    """
    created = []

    def create(name, **attributes):
        url = sqs_client.create_queue(
            QueueName=name, Attributes={key: str(value) for key, value in attributes.items()}
        )["QueueUrl"]
        created.append(url)
        return url

    yield create
    for url in created:
        with contextlib.suppress(sqs_client.exceptions.QueueDoesNotExist):
            sqs_client.delete_queue(QueueUrl=url)


@pytest.fixture
def s3_client(moto_server):
    """A boto3 S3 client of the moto server, to look at buckets behind the library's back."""
    return boto3.client("s3", endpoint_url=moto_server, region_name=REGION)


@pytest.fixture
def make_bucket(s3_client):
    """Create uniquely named buckets on the moto server; emptied and deleted after the test."""
    created = []

    def make(prefix="test"):
        name = unique_name(prefix)
        s3_client.create_bucket(Bucket=name)
        created.append(name)
        return name

    yield make
    for name in created:
        for item in s3_client.list_objects_v2(Bucket=name).get("Contents", []):
            s3_client.delete_object(Bucket=name, Key=item["Key"])
        s3_client.delete_bucket(Bucket=name)


@pytest.fixture
def make_mocked_queue(mocked_sqs_client):
    """`make_queue` for the in-process moto of `mocked_sqs_client`."""
    make, _ = _queue_maker(mocked_sqs_client)
    return make


@pytest.fixture
def count_calls():
    """``count_calls(events)``: a live `Counter` of SQS API calls by operation name.

    ``events`` is a client's ``meta.events``, or a boto3 session's ``events`` before
    it makes the client. A call counts once, however many times botocore retried it.
    """

    def count_calls(events):
        calls = Counter()

        def count(model, **_):
            calls[model.name] += 1

        events.register("before-call.sqs.*", count)
        return calls

    return count_calls


@pytest.fixture
def sqs_calls(sqs_client, count_calls):
    """The API calls `sqs_client` makes, by operation name."""
    return count_calls(sqs_client.meta.events)


@pytest.fixture
def closed_port_url():
    """An http URL on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class TcpRelay:
    """Forwards connections from its own 127.0.0.1 port to a target port.

    `close` shuts it: open connections drop and new ones are refused, as when a
    service goes away.
    """

    def __init__(self, target_port):
        self._target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._sockets = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while not self._closed.is_set():
            try:
                downstream, _ = self._listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(("127.0.0.1", self._target_port))
            self._sockets += [downstream, upstream]
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()
        self._listener.close()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    @property
    def closed(self):
        return self._closed.is_set()

    def close(self):
        self._closed.set()
        self._thread.join()
        for sock in self._sockets:
            sock.close()


@pytest.fixture
def relay(moto_server):
    """A `TcpRelay` to the moto server; closed at the end of the test if still open."""
    tcp_relay = TcpRelay(int(moto_server.rsplit(":", 1)[1]))
    yield tcp_relay
    if not tcp_relay.closed:
        tcp_relay.close()


# --- Worker processes: a folder's worker script, run with this interpreter ------------

WORKER_READY_LINE = "Worker started"
WORKER_TIMEOUT = 20.0
"""Seconds a worker gets by default to start, to log what a test awaits, or to stop."""
_POLL_INTERVAL = 0.05


def poll_until(condition, timeout=WORKER_TIMEOUT, message="condition"):
    """Poll ``condition`` until it is truthy and return it; fail after ``timeout`` seconds.

    ``timeout`` is a bound, not a measurement; ``message`` (a string, or a callable for
    details gathered at that moment) says what was awaited.
    """
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            what = message() if callable(message) else message
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(_POLL_INTERVAL)
    return value


@pytest.fixture(scope="session")
def waiter():
    """``waiter(condition, timeout=20, message="condition")``: see `poll_until`."""
    return poll_until


def _read_records(path, event=None):
    """The complete JSON lines of a record file (of one event, if given); none if absent."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    records = [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]
    return [r for r in records if event is None or r["event"] == event]


@pytest.fixture(scope="session")
def read_records():
    """``read_records(path, event=None)``: what worker scripts appended to a record file.

    Every complete JSON line (a line being written is left out), or those whose
    ``"event"`` is ``event``; none if the file does not exist yet.
    """
    return _read_records


class WorkerProcess:
    """A running worker script: its process, and its stderr (the log) as a file."""

    def __init__(self, popen, stderr_path):
        self.popen = popen
        self.stderr_path = stderr_path
        self.signals = []
        """``(time.time(), signal number)`` of every signal the test sent it."""

    @property
    def pid(self):
        return self.popen.pid

    def running(self):
        return self.popen.poll() is None

    def log(self):
        return self.stderr_path.read_text(errors="replace")

    def ready(self):
        return WORKER_READY_LINE in self.log()

    def send(self, signum=signal.SIGTERM):
        """Send a signal to this worker's PID."""
        self.signals.append((time.time(), signum))
        self.popen.send_signal(signum)

    def wait(self, timeout):
        """Wait up to ``timeout`` seconds for the exit; return the exit status."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"worker {self.pid} still running after {timeout} s:\n{self.log()}")

    def wait_ready(self, timeout=WORKER_TIMEOUT):
        """Wait (bounded) until the worker logs that it started; fail if it exits first."""
        poll_until(
            lambda: self.ready() or not self.running(),
            timeout,
            lambda: f"worker {self.pid} to start:\n{self.log()}",
        )
        if not self.running():
            pytest.fail(f"worker exited with {self.popen.returncode}:\n{self.log()}")

    def wait_for_log(self, text, timeout=WORKER_TIMEOUT):
        """Wait (bounded) until the worker's log contains ``text``."""
        poll_until(
            lambda: text in self.log(),
            timeout,
            lambda: f"{text!r} in the log of worker {self.pid}:\n{self.log()}",
        )

    def stop(self, timeout=WORKER_TIMEOUT):
        """SIGTERM, then wait (bounded) for the exit; return the exit status."""
        self.send(signal.SIGTERM)
        return self.wait(timeout)


class WorkerLauncher:
    """Starts worker scripts for one test; `close` kills those still running, by PID.

    ``logs_shown`` (how many workers' logs, from the first) and ``log_tail`` (how many
    characters from the end of each) bound what `close` prints; `None`: no bound.
    """

    def __init__(self, directory):
        self.directory = directory
        self.started = []
        self.logs_shown = None
        self.log_tail = None

    def start(
        self, script, endpoint, prefix, record_file, *options, threads=1, wait_seconds=1, ready=True
    ):
        """Run ``script`` with this interpreter; return its `WorkerProcess`.

        Its command line: the options every worker script takes (see
        ``worker_support.argument_parser``), then the script's own ``options``. Its
        stdin and stdout are closed and its stderr goes to a file of the test; the
        environment is this process's, unbuffered. With ``ready``, waits (at most 20 s)
        until it logs "Worker started".
        """
        command = [
            sys.executable,
            str(script),
            *("--endpoint", endpoint, "--prefix", prefix, "--record", str(record_file)),
            *("--threads", str(threads), "--wait-seconds", str(wait_seconds)),
            *options,
        ]
        stderr_path = self.directory / f"worker-{len(self.started)}.stderr"
        with stderr_path.open("wb") as stderr:
            popen = subprocess.Popen(  # noqa: S603 - our own script, run with our interpreter
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        worker = WorkerProcess(popen, stderr_path)
        self.started.append(worker)
        if ready:
            worker.wait_ready()
        return worker

    def close(self):
        """Kill the workers still running, by PID; print their logs (shown on a failure)."""
        for worker in self.started:
            if worker.running():
                worker.popen.kill()
                worker.popen.wait()
        tail = " (tail)" if self.log_tail is not None else ""
        for worker in self.started[: self.logs_shown]:
            log = worker.log()[-self.log_tail :] if self.log_tail is not None else worker.log()
            sys.stdout.write(f"--- worker {worker.pid} log{tail} ---\n{log}\n")


@pytest.fixture
def worker_launcher(tmp_path):
    """A `WorkerLauncher` of this test, closed at teardown.

    Fixtures that start workers request it after the ones whose teardown must come
    after the kill (such as the workers' queues).
    """
    launcher = WorkerLauncher(tmp_path)
    yield launcher
    launcher.close()
