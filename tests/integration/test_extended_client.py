"""Interop with AWS's own extended client (amazon-sqs-extended-client), over moto's HTTP server.

Importing ``sqs_extended_client`` changes every boto3 SQS client made afterwards in
the process, so the extended client never runs in pytest's process: each scenario
of ``extended_client_scenarios.py`` runs in a subprocess of its own, against the
session's moto server. Across processes, each reads what the other sends; in one
process, the worker's clients are out of its reach.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simple_worker import App

SCRIPT = Path(__file__).parent / "extended_client_scenarios.py"
# Seconds: MB-sized bodies through moto over HTTP, and a subprocess importing boto3.
TIMEOUT = 60.0
POLL = 0.05

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sqs_extended_client") is None,  # finds it without importing it
    reason="amazon-sqs-extended-client is not installed (pip install -e '.[dev]')",
)


def run_scenario(moto_server, scenario, queue, bucket, *sizes):
    """Run a scenario in a subprocess pointed at the moto server; its JSON result."""
    done = subprocess.run(  # noqa: S603 - our own script, run with our interpreter
        [sys.executable, str(SCRIPT), scenario, moto_server, queue, bucket, *map(str, sizes)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "AWS_ENDPOINT_URL": moto_server},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def keys(s3_client, bucket):
    return [item["Key"] for item in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture(autouse=True)
def _pytest_process_stays_unpatched():
    yield
    assert "sqs_extended_client" not in sys.modules


@pytest.fixture
def bucket(make_bucket):
    return make_bucket("extended")


@pytest.fixture
def queue_name(make_queue):
    # Short, so that a task whose message was not deleted would come back within the test.
    return make_queue("extended", VisibilityTimeout=5)


@pytest.fixture
def app(moto_server, bucket):
    return App(sqs_endpoint_url=moto_server, large_payload_bucket=bucket)


def test_tasks_the_extended_client_offloaded_run_once_each_on_a_worker(
    app, moto_server, queue_name, bucket, s3_client, wait_until, worker_running
):
    sizes = [600_000, 1_200_000, 1_800_000]
    runs = []
    app.register_task_handler("big", queue=queue_name)(lambda blob: runs.append(len(blob)))

    run_scenario(moto_server, "send", queue_name, bucket, *sizes)
    assert len(keys(s3_client, bucket)) == 3

    with worker_running(app.worker(wait_seconds=1), timeout=TIMEOUT) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 3, timeout=TIMEOUT, interval=POLL)
        wait_until(lambda: keys(s3_client, bucket) == [], timeout=TIMEOUT, interval=POLL)

    assert sorted(runs) == sizes
    stats = app.queue.stats(queue_name)
    assert (stats.visible, stats.in_flight) == (0, 0)


def test_the_extended_client_reads_a_large_task_as_its_envelope(
    app, moto_server, queue_name, bucket, s3_client
):
    blob = "x" * (2 * 1024 * 1024)
    app.register_task_handler("big", queue=queue_name)(lambda blob: None)
    task_id = app.add_task("big", blob=blob)

    result = run_scenario(moto_server, "receive", queue_name, bucket)

    envelope = json.loads(result["body"])
    assert envelope["task_name"] == "big"
    assert envelope["task_id"] == task_id
    assert envelope["task_payload"] == {"blob": blob}
    assert keys(s3_client, bucket) == []  # the extended client deleted it with its message
    stats = app.queue.stats(queue_name)
    assert (stats.visible, stats.in_flight) == (0, 0)


def test_a_worker_in_a_process_that_imports_the_extended_client_runs_its_task_once(
    moto_server, queue_name, bucket, s3_client
):
    result = run_scenario(moto_server, "same-process", queue_name, bucket, 1_500_000)

    assert result["runs"] == [1_500_000]
    assert result["succeeded"] == 1
    assert (result["visible"], result["in_flight"]) == (0, 0)
    assert result["objects"] == []
    assert not [text for text in result["warnings"] if "Could not delete" in text]
    assert keys(s3_client, bucket) == []


@pytest.mark.parametrize("given", ["client", "session"])
def test_in_that_process_a_client_the_extended_client_changed_is_refused_with_the_reason(
    moto_server, queue_name, bucket, given
):
    refusal = run_scenario(moto_server, "refusals", queue_name, bucket)[given]

    assert "receive_message" in refusal
    assert "sqs_extended_client" in refusal
    assert "build its own client" in refusal
