"""Fixtures for the reliability tests: the fault proxy, worker processes and their records.

Tests are imported in importlib mode, without packages, so the helpers of this
folder are plain files loaded here by path: ``fault_proxy.py`` (the proxy) and
``chaos_analysis.py`` (what a chaos run's records and traffic say); tests reach
them through the `faults` and `chaos` fixtures. ``reliability_worker.py`` is the
worker the tests run as a process, ``atomic_moto.py`` the chaos test's moto server.

Every worker a test starts is killed, by its PID, at teardown if still running.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from botocore.config import Config

from simple_worker import App
from simple_worker.adapters.sqs import SQSQueue

HERE = Path(__file__).parent
WORKER_SCRIPT = HERE / "reliability_worker.py"
READY_LINE = "Worker started"
_POLL = 0.05


def _load(name):
    spec = importlib.util.spec_from_file_location(f"reliability_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


_fault_proxy = _load("fault_proxy")
_chaos_analysis = _load("chaos_analysis")


@pytest.fixture(scope="session")
def faults():
    """The ``fault_proxy`` module: `FaultProxy`, ``KINDS``, ``ERRORS``, ``REPLY_LOST``."""
    return _fault_proxy


@pytest.fixture(scope="session")
def chaos():
    """The ``chaos_analysis`` module."""
    return _chaos_analysis


def port_of(url):
    return int(url.rsplit(":", 1)[1])


@pytest.fixture
def make_proxy(moto_server):
    """``make_proxy(target=None, **options)``: a `FaultProxy` in front of ``target`` (a
    URL; by default the session's moto server)."""
    proxies = []

    def make(target=None, **options):
        proxy = _fault_proxy.FaultProxy(port_of(target or moto_server), **options)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


@pytest.fixture
def proxy(make_proxy):
    """A `FaultProxy` in front of the session's moto server; closed after the test."""
    return make_proxy()


@pytest.fixture
def atomic_moto():
    """A moto server in its own process whose SQS operations are atomic (see
    ``atomic_moto.py``); yields its URL. Stopped by its PID after the test."""
    process = subprocess.Popen(  # noqa: S603 - our own script, run with our interpreter
        [sys.executable, str(HERE / "atomic_moto.py")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(30, process.kill)  # a bound on the start
    watchdog.start()
    try:
        line = process.stdout.readline()  # "port N", once serving; "" if it died
        watchdog.cancel()
        assert line.startswith("port "), f"atomic_moto.py did not start: {line!r}"
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def wait_until(condition, timeout, message):
    """Poll ``condition`` until truthy and return it; fail after ``timeout`` seconds (a bound)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            what = message() if callable(message) else message
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(_POLL)
    return value


@pytest.fixture(scope="session")
def waiter():
    """``waiter(condition, timeout, message)``: see `wait_until`."""
    return wait_until


def read_records(path, event=None):
    """The complete JSON lines of a record file (of one event, if given); none if absent."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    records = [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]
    return [r for r in records if event is None or r["event"] == event]


@pytest.fixture(scope="session")
def records():
    """``records(path, event=None)``: see `read_records`."""
    return read_records


@pytest.fixture
def prefix():
    """A queue prefix no other test uses; queue ``default`` is ``prefix + "default"``."""
    return f"rel-{uuid.uuid4().hex[:12]}-"


@pytest.fixture
def default_queue(sqs_client, prefix):
    """``default_queue(**attributes)``: create ``prefix + "default"``; return its URL."""
    created = []

    def create(**attributes):
        url = sqs_client.create_queue(
            QueueName=prefix + "default",
            Attributes={key: str(value) for key, value in attributes.items()},
        )["QueueUrl"]
        created.append(url)
        return url

    yield create
    for url in created:
        with contextlib.suppress(sqs_client.exceptions.QueueDoesNotExist):
            sqs_client.delete_queue(QueueUrl=url)


def queue_counts(sqs_client, url):
    """``(visible, in_flight)`` as SQS counts them."""
    attributes = sqs_client.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


@pytest.fixture(scope="session")
def counts():
    """``counts(sqs_client, url)``: see `queue_counts`."""
    return queue_counts


def make_producer(prefix, endpoint_url, **config):
    """An `App` with the worker script's task, sending to ``endpoint_url``."""
    queue = SQSQueue(endpoint_url=endpoint_url, region="us-east-1", config=Config(**config))
    app = App(queue_prefix=prefix, queue=queue)

    @app.register_task_handler("record")
    def record(n, sleep=0.0): ...

    return app


@pytest.fixture(scope="session")
def producer_for():
    """``producer_for(prefix, endpoint_url, **botocore_config)``: see `make_producer`."""
    return make_producer


class WorkerProcess:
    """A running ``reliability_worker.py``: its process, and its stderr (the log) as a file."""

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
        return READY_LINE in self.log()

    def send(self, signum):
        self.signals.append((time.time(), signum))
        self.popen.send_signal(signum)

    def wait_ready(self, timeout=20.0):
        wait_until(
            lambda: self.ready() or not self.running(),
            timeout,
            lambda: f"worker {self.pid} to start:\n{self.log()}",
        )
        if not self.running():
            pytest.fail(f"worker exited with {self.popen.returncode}:\n{self.log()}")

    def stop(self, timeout=20.0):
        """SIGTERM, then wait (bounded) for the exit; return the exit status."""
        self.send(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"worker {self.pid} still running {timeout} s after SIGTERM:\n{self.log()}")


@pytest.fixture
def start_worker(tmp_path, prefix):
    """``start_worker(endpoint, record_file, threads=1, wait_seconds=1, ready=True, ...)``.

    Spawns ``reliability_worker.py`` for this test's prefix; with ``ready``, waits
    (at most 20 s) until it logs "Worker started". Returns a `WorkerProcess`.
    Workers still running at teardown are killed by PID; their logs are printed.
    """
    started = []

    def start(
        endpoint,
        record_file,
        *,
        threads=1,
        wait_seconds=1,
        read_timeout=None,
        log_sqs_calls=False,
        ready=True,
    ):
        command = [
            sys.executable,
            str(WORKER_SCRIPT),
            *("--endpoint", endpoint, "--prefix", prefix, "--record", str(record_file)),
            *("--threads", str(threads), "--wait-seconds", str(wait_seconds)),
        ]
        if read_timeout is not None:
            command += ["--read-timeout", str(read_timeout)]
        if log_sqs_calls:
            command += ["--log-sqs-calls"]
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
    for worker in started[:12]:  # enough to read a failure; a chaos run starts dozens
        sys.stdout.write(f"--- worker {worker.pid} log (tail) ---\n{worker.log()[-3000:]}\n")
