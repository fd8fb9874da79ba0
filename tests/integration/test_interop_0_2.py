"""Interop with the original simple-worker 0.2.21 from PyPI, both ways, over moto's HTTP server.

The old library is installed once per session into a directory of its own
(``pip install --target``) and runs in subprocesses with ``PYTHONPATH`` set to
it and a scratch directory as ``cwd``, so that its ``simple_worker`` is the one
they import (each checks and reports ``simple_worker.__file__``). Without
network access the tests are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from simple_worker import App

OLD_VERSION = "0.2.21"
TIMEOUT = 20.0

# Both scripts print {"module": simple_worker.__file__} first, then do their job.
OLD_PRODUCER = """
import json, sys
import simple_worker
from simple_worker import App

endpoint, prefix = sys.argv[1:3]
print(json.dumps({"module": simple_worker.__file__}), flush=True)
app = App(queue_prefix=prefix, sqs_endpoint_url=endpoint, sqs_region="us-east-1")

@app.register_task_handler("record")
def record(n, tags=None):
    pass

@app.register_task_handler("record_other", queue="other")
def record_other(n):
    pass

for n in range(5):
    app.add_task("record", n=n, tags={"nested": [n, "x", None, True, 1.5]})
app.add_task("record_other", n=100)
"""

OLD_WORKER = """
import json, os, sys
import simple_worker
from simple_worker import App

endpoint, prefix, record_file = sys.argv[1:4]
print(json.dumps({"module": simple_worker.__file__}), flush=True)
app = App(queue_prefix=prefix, sqs_endpoint_url=endpoint, sqs_region="us-east-1")

def append(line):
    fd = os.open(record_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(line) + "\\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)

@app.register_task_handler("record")
def record(n, tags=None):
    append({"task": "record", "n": n, "tags": tags})

@app.register_task_handler("record_other", queue="other")
def record_other(n):
    append({"task": "record_other", "n": n})

app.worker().start()
"""

EXPECTED_TASKS = [
    *(("record", {"n": n, "tags": {"nested": [n, "x", None, True, 1.5]}}) for n in range(5)),
    ("record_other", {"n": 100}),
]


def wait_until(condition, message, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {message}")
        time.sleep(0.05)
    return value


@pytest.fixture(scope="session")
def old_library(tmp_path_factory):
    """The directory simple-worker 0.2.21 (and tenacity, its one extra need) is installed in."""
    target = tmp_path_factory.mktemp(f"simple-worker-{OLD_VERSION}")
    command = [
        sys.executable,
        *("-m", "pip", "install", "--target", str(target), "--no-deps"),
        *("--disable-pip-version-check", "--no-input", "--quiet"),
        *("--retries", "1", "--timeout", "15"),
        *(f"simple-worker=={OLD_VERSION}", "tenacity"),
    ]
    try:
        result = subprocess.run(  # noqa: S603 - pip, run by our own interpreter
            command, capture_output=True, text=True, timeout=180, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"pip could not install simple-worker=={OLD_VERSION} within 180 s")
    if result.returncode != 0:
        pytest.skip(
            f"pip could not install simple-worker=={OLD_VERSION} (no network?): "
            f"{result.stderr.strip()[-500:]}"
        )
    return target


class Queues:
    """The queues ``default`` and ``other`` under a fresh prefix."""

    def __init__(self, sqs_client) -> None:
        self._sqs = sqs_client
        self.prefix = f"interop-{uuid.uuid4().hex[:12]}-"
        self.urls = [
            sqs_client.create_queue(QueueName=self.prefix + name)["QueueUrl"]
            for name in ("default", "other")
        ]

    def empty(self) -> bool:
        """Whether both hold no message, visible or in flight."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        return all(
            self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
            == dict.fromkeys(names, "0")
            for url in self.urls
        )

    def delete(self) -> None:
        for url in self.urls:
            with contextlib.suppress(self._sqs.exceptions.QueueDoesNotExist):
                self._sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def queues(sqs_client):
    """`Queues`, deleted after the test."""
    created = Queues(sqs_client)
    yield created
    created.delete()


@pytest.fixture
def run_old(old_library, tmp_path):
    """``run_old(script, *args)``: start a script under the old library; return its Popen.

    It runs in a scratch directory (not the repository) with ``PYTHONPATH`` set to
    the old library; its stdout and stderr go to files beside it (`output`). Any
    still running at teardown is killed by its PID.
    """
    started = []

    def run(script, *args):
        name = f"old-{len(started)}"
        path = tmp_path / f"{name}.py"
        path.write_text(script)
        with (
            (tmp_path / f"{name}.out").open("wb") as out,
            (tmp_path / f"{name}.err").open("wb") as err,
        ):
            process = subprocess.Popen(  # noqa: S603 - our own script, run by our interpreter
                [sys.executable, str(path), *args],
                cwd=tmp_path,
                env={**os.environ, "PYTHONPATH": str(old_library)},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def output(process, stream="out"):
    """What the script wrote to stdout (``"out"``) or stderr (``"err"``) so far."""
    return Path(process.args[1]).with_suffix(f".{stream}").read_text(errors="replace")


def imported_module(process):
    """The ``simple_worker.__file__`` the script reported on its first line."""
    return Path(json.loads(output(process).splitlines()[0])["module"]).resolve()


def test_tasks_sent_by_simple_worker_0_2_run_on_our_worker(
    old_library, run_old, queues, moto_server
):
    prefix = queues.prefix
    producer = run_old(OLD_PRODUCER, moto_server, prefix)
    assert producer.wait(TIMEOUT) == 0, output(producer, "err")
    assert imported_module(producer).is_relative_to(old_library.resolve())

    app = App(queue_prefix=prefix, sqs_endpoint_url=moto_server, sqs_region="us-east-1")
    ran = []

    @app.register_task_handler("record")
    def record(n, tags=None):
        ran.append(("record", {"n": n, "tags": tags}))

    @app.register_task_handler("record_other", queue="other")
    def record_other(n):
        ran.append(("record_other", {"n": n}))

    worker = app.worker(wait_seconds=1)
    thread = threading.Thread(target=worker.start, name="our-worker")
    thread.start()
    try:
        wait_until(lambda: len(ran) >= len(EXPECTED_TASKS), "the old library's tasks to run")
    finally:
        worker.stop()
        thread.join(TIMEOUT)
    assert not thread.is_alive()

    assert sorted(ran, key=repr) == sorted(EXPECTED_TASKS, key=repr)
    assert queues.empty()


def test_tasks_sent_by_our_producer_run_on_the_simple_worker_0_2_worker(
    old_library, run_old, queues, moto_server, tmp_path
):
    prefix = queues.prefix
    app = App(queue_prefix=prefix, sqs_endpoint_url=moto_server, sqs_region="us-east-1")

    @app.register_task_handler("record")
    def record(n, tags=None): ...

    @app.register_task_handler("record_other", queue="other")
    def record_other(n): ...

    app.add_tasks("record", [payload for name, payload in EXPECTED_TASKS if name == "record"])
    app.add_task("record_other", n=100)

    record_file = tmp_path / "records.jsonl"
    old_worker = run_old(OLD_WORKER, moto_server, prefix, str(record_file))

    def records():
        with contextlib.suppress(FileNotFoundError):
            return [json.loads(line) for line in record_file.read_text().splitlines()]
        return []

    wait_until(lambda: len(records()) >= len(EXPECTED_TASKS), "the old worker to run our tasks")
    # It deletes each message after its handler returned.
    wait_until(queues.empty, "the old worker to delete them")
    old_worker.kill()  # it has no graceful stop on SIGTERM; it deleted what it ran
    old_worker.wait(TIMEOUT)

    assert imported_module(old_worker).is_relative_to(old_library.resolve())
    assert sorted(((r.pop("task"), r) for r in records()), key=repr) == sorted(
        EXPECTED_TASKS, key=repr
    )
