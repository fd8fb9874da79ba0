"""Fixtures for the reliability tests: the fault proxy, worker processes and their records.

Tests are imported in importlib mode, without packages, so the helpers of this
folder are plain files loaded here by path: ``fault_proxy.py`` (the proxy) and
``chaos_analysis.py`` (what a chaos run's records and traffic say); tests reach
them through the `faults` and `chaos` fixtures. ``reliability_worker.py`` is the
worker the tests run as a process, ``atomic_moto.py`` the chaos test's moto server.

Worker processes are started by the integration conftest's `worker_launcher` (where
`waiter` and `read_records` come from too): every worker a test starts is killed,
by its PID, at teardown if still running.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from botocore.config import Config

from simple_worker import App
from simple_worker.adapters.sqs._queue import SQSQueue

HERE = Path(__file__).parent
WORKER_SCRIPT = HERE / "reliability_worker.py"


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
        lines = []
        while not lines or not (lines[-1].startswith("port ") or lines[-1] == ""):
            lines.append(process.stdout.readline())  # "port N" once serving; "" if it died
        watchdog.cancel()
        line = lines[-1]
        assert line.startswith("port "), f"atomic_moto.py did not start; it printed {lines!r}"
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


@pytest.fixture(scope="session")
def records(read_records):
    """``records(path, event=None)``: the integration conftest's `read_records`."""
    return read_records


@pytest.fixture
def prefix():
    """A queue prefix no other test uses; queue ``default`` is ``prefix + "default"``."""
    return f"rel-{uuid.uuid4().hex[:12]}-"


@pytest.fixture
def default_queue(named_queue, prefix):
    """``default_queue(**attributes)``: create ``prefix + "default"``; return its URL.

    Deleted after the test (see `named_queue`).
    """
    return lambda **attributes: named_queue(prefix + "default", **attributes)


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
    def record(n, sleep=0.0, exit_first=False): ...

    return app


@pytest.fixture(scope="session")
def producer_for():
    """``producer_for(prefix, endpoint_url, **botocore_config)``: see `make_producer`."""
    return make_producer


@pytest.fixture
def start_worker(prefix, worker_launcher):
    """``start_worker(endpoint, record_file, threads=1, wait_seconds=1, ready=True, ...)``.

    Also ``read_timeout=``, ``shutdown_timeout=`` and ``log_sqs_calls=``.

    Spawns ``reliability_worker.py`` for this test's prefix; with ``ready``, waits
    (at most 20 s) until it logs "Worker started". Returns a `WorkerProcess`.
    Workers still running at teardown are killed by PID; their logs are printed.
    """
    # Enough to read a failure; a chaos run starts dozens.
    worker_launcher.logs_shown, worker_launcher.log_tail = 12, 3000

    def start(
        endpoint,
        record_file,
        *,
        read_timeout=None,
        shutdown_timeout=None,
        log_sqs_calls=False,
        **settings,
    ):
        # settings: threads, wait_seconds and ready, as `WorkerLauncher.start` takes them
        options = []
        if read_timeout is not None:
            options += ["--read-timeout", str(read_timeout)]
        if shutdown_timeout is not None:
            options += ["--shutdown-timeout", str(shutdown_timeout)]
        if log_sqs_calls:
            options += ["--log-sqs-calls"]
        return worker_launcher.start(
            WORKER_SCRIPT, endpoint, prefix, record_file, *options, **settings
        )

    return start
