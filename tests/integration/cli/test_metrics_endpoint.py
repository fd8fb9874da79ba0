"""``--metrics-port`` and ``--health-port``: real worker processes, scraped over real HTTP.

One process serves its own endpoints; with ``--processes 2`` the supervisor serves one
endpoint for both (prometheus_client's multiprocess mode). Waits are bounded polls.
"""

import json
import os
import re
import signal
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from simple_worker import App, QueueNotFound
from simple_worker.prometheus import PrometheusMetrics

_SERVING = re.compile(r"Serving /healthz and /metrics on (http://[\d.:]+)")
_SHARED = re.compile(r"Worker processes share (\S+) for")


def get(url):
    """``(status, body)`` of a real GET; an error status is an answer too."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - our own server
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def health(url):
    status, body = get(f"{url}/healthz")
    return status, json.loads(body)


def scrape(url):
    """``{(name, labels...): value}`` of every sample, parsed as Prometheus parses it."""
    _, text = get(f"{url}/metrics")
    return {
        (sample.name, *sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, *sorted(labels.items())))


def tasks(samples, task_name, outcome, error_type=""):
    labels = {"task_name": task_name, "outcome": outcome, "error_type": error_type}
    return value(samples, "simple_worker_tasks_total", **labels)


def served_url(process, wait_until):
    wait_until(
        lambda: _SERVING.search(process.stderr()),
        message=lambda: f"the endpoint to be served; log:\n{process.stderr()}",
    )
    return _SERVING.search(process.stderr()).group(1)


def refused(url):
    try:
        get(f"{url}/healthz")
    except urllib.error.URLError:
        return True
    return False


def test_one_worker_serves_metrics_and_health_on_one_port_until_it_stops(
    create_queue, producer, start_cli, records, wait_until, prefix
):
    create_queue("default", VisibilityTimeout=30)
    producer.add_tasks("record", [{"n": n} for n in range(3)])
    producer.add_task("fail", n=9)
    worker = start_cli(
        *("worker", "cli_app:app", "--wait-seconds", "1", "--log-format", "json"),
        *("--metrics-port", "0", "--health-port", "0"),
    )
    url = served_url(worker, wait_until)
    queue = prefix + "default"

    wait_until(lambda: tasks(scrape(url), "fail", "failed", "ValueError") == 1)
    wait_until(lambda: value(scrape(url), "simple_worker_sqs_empty_receives_total", queue=queue))
    # Deletes are batched for up to a second after a task ends.
    wait_until(
        lambda: value(scrape(url), "simple_worker_sqs_calls_total", action="DeleteMessageBatch")
    )
    samples = scrape(url)
    assert tasks(samples, "record", "succeeded") == 3
    assert value(samples, "simple_worker_task_duration_seconds_count", task_name="record") == 3
    assert value(samples, "simple_worker_sqs_calls_total", action="GetQueueUrl") == 1
    assert value(samples, "simple_worker_sqs_calls_total", action="DeleteMessageBatch") >= 1
    assert value(samples, "simple_worker_sqs_messages_received_total", queue=queue) == 4
    assert value(samples, "simple_worker_tasks_running") == 0
    status, body = health(url)
    assert (status, body["status"], body["consuming"]) == (200, "ok", True)

    producer.add_task("record", n=10, sleep=3)
    wait_until(lambda: [r["n"] for r in records("start")].count(10) == 1)
    worker.send(signal.SIGTERM)
    wait_until(lambda: health(url)[1]["status"] == "stopping")  # while the task finishes
    assert health(url)[0] == 503

    assert worker.wait() == 0
    assert refused(url)
    entries = [json.loads(line) for line in worker.stderr().splitlines()]
    [stopped] = [e for e in entries if e["message"] == "Worker stopped"]
    assert stopped["messages_received"] == 5
    assert stopped["receives"] >= 3
    assert stopped["empty_receives"] >= 1


def test_with_two_processes_the_supervisor_serves_one_endpoint_for_both(
    create_queue, producer, start_cli, wait_until
):
    create_queue("default", VisibilityTimeout=30)
    supervisor = start_cli(
        *("worker", "cli_app:app", "--processes", "2", "--wait-seconds", "1"),
        *("--metrics-port", "0", "--health-port", "0"),
    )
    url = served_url(supervisor, wait_until)
    shared = Path(_SHARED.search(supervisor.stderr()).group(1))
    wait_until(lambda: health(url)[0] == 200, message=lambda: f"health 200: {health(url)}")
    body = health(url)[1]
    assert {p["pid"] for p in body["processes"]} == set(supervisor.children().values())
    assert all(p["consuming"] for p in body["processes"])

    producer.add_tasks("record", [{"n": n} for n in range(6)])
    wait_until(lambda: tasks(scrape(url), "record", "succeeded") == 6)
    samples = scrape(url)
    # Each process resolved the queue once: the endpoint sums both.
    assert value(samples, "simple_worker_sqs_calls_total", action="GetQueueUrl") == 2
    assert value(samples, "simple_worker_sqs_calls_total", action="GetQueueAttributes") == 2
    assert value(samples, "simple_worker_task_duration_seconds_count", task_name="record") == 6

    first = supervisor.children()[0]
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: health(url)[0] == 503)  # one process is not consuming
    wait_until(lambda: health(url)[0] == 200, message=lambda: f"health 200: {health(url)}")
    assert supervisor.children()[0] != first
    # The killed process's counts stay in the sums.
    assert tasks(scrape(url), "record", "succeeded") == 6

    supervisor.send(signal.SIGTERM)
    assert supervisor.wait() == 0
    assert refused(url)
    assert not shared.exists()


def test_sqs_errors_are_counted_by_action_and_error_code(moto_server, prefix):
    app = App(queue_prefix=prefix, sqs_endpoint_url=moto_server)
    metrics = PrometheusMetrics(app)

    with pytest.raises(QueueNotFound):
        app.queue.describe(prefix + "missing")

    errors = {
        (sample.labels["action"], sample.labels["error_code"]): sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == "simple_worker_sqs_errors_total"
    }
    assert errors == {("GetQueueUrl", "QueueDoesNotExist"): 1.0}
