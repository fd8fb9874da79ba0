import socket
import threading
import urllib.request

import pytest
from botocore.config import Config
from prometheus_client import CollectorRegistry

from simple_worker import App, QueueServiceError
from simple_worker.adapters.sqs._queue import SQSQueue
from simple_worker.ports.queue import OutgoingMessage
from simple_worker.prometheus import PrometheusMetrics


def sample(metrics, name, **labels):
    return metrics.registry.get_sample_value(name, labels)


def tasks(metrics, task_name, outcome, error_type=""):
    labels = {"task_name": task_name, "outcome": outcome, "error_type": error_type}
    return sample(metrics, "simple_worker_tasks_total", **labels)


@pytest.fixture
def app():
    app = App(testing_mode=True)
    app.register_task_handler("ok")(lambda n: None)

    @app.register_task_handler("boom")
    def boom(n):
        raise ValueError(n)

    return app


def test_tasks_are_counted_by_name_and_outcome_and_timed(app):
    metrics = PrometheusMetrics(app)
    app.add_tasks("ok", [{"n": 1}, {"n": 2}])
    app.add_task("boom", n=3)
    app.testing_worker(middleware=[metrics]).run_all(raise_errors=False)

    assert tasks(metrics, "ok", "succeeded") == 2
    assert tasks(metrics, "boom", "failed", "ValueError") == 1
    assert sample(metrics, "simple_worker_task_duration_seconds_count", task_name="ok") == 2
    assert sample(metrics, "simple_worker_task_duration_seconds_sum", task_name="ok") >= 0
    assert sample(metrics, "simple_worker_task_duration_seconds_count", task_name="boom") == 1


def test_a_message_that_cannot_run_is_counted_as_rejected_by_reason(app):
    metrics = PrometheusMetrics(app)
    app.add_task("ok", n=1)  # makes the queue; then a body that is no task at all
    app.queue.send_batch("default", [OutgoingMessage(id="poison", body="not json")])
    app.testing_worker(middleware=[metrics]).run_all(raise_errors=False)

    assert tasks(metrics, "", "rejected", "MessageDecodeError") == 1


def test_the_gauges_show_running_and_buffered_tasks_of_a_real_worker(app, wait_until):
    metrics = PrometheusMetrics(app)
    release = threading.Event()
    app.register_task_handler("slow")(lambda n: release.wait(10))
    app.add_tasks("slow", [{"n": n} for n in range(3)])
    worker = app.worker(wait_seconds=0, middleware=[metrics])
    thread = threading.Thread(target=worker.start)
    thread.start()
    try:
        wait_until(lambda: sample(metrics, "simple_worker_tasks_running") == 1)
        wait_until(lambda: sample(metrics, "simple_worker_messages_buffered") == 2)
    finally:
        release.set()
        worker.stop()
        thread.join(10)

    assert sample(metrics, "simple_worker_tasks_running") == 0
    assert sample(metrics, "simple_worker_messages_buffered") == 0


def test_with_an_in_memory_queue_there_are_no_sqs_calls_to_count(app):
    metrics = PrometheusMetrics(app)

    assert metrics.instrument_queue(app.queue) is False
    assert sample(metrics, "simple_worker_sqs_calls_total", action="ReceiveMessage") is None


def test_an_sqs_call_that_cannot_connect_is_counted_with_the_exception_class(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    queue = SQSQueue(
        endpoint_url=f"http://127.0.0.1:{port}",
        region="us-east-1",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    metrics = PrometheusMetrics(App(queue=queue))

    with pytest.raises(QueueServiceError):
        queue.describe("anything")

    assert sample(metrics, "simple_worker_sqs_calls_total", action="GetQueueUrl") == 1
    errors = {"action": "GetQueueUrl", "error_code": "EndpointConnectionError"}
    assert sample(metrics, "simple_worker_sqs_errors_total", **errors) == 1


def test_each_instance_has_its_own_registry_unless_given_one():
    first, second = PrometheusMetrics(), PrometheusMetrics()  # no duplicate-metric error
    mine = CollectorRegistry()

    assert first.registry is not second.registry
    assert PrometheusMetrics(registry=mine).registry is mine
    assert mine.get_sample_value("simple_worker_tasks_running") == 0


def test_serve_answers_a_real_scrape_in_the_format_asked_for(app):
    metrics = PrometheusMetrics(app)
    app.add_task("ok", n=1)
    app.testing_worker(middleware=[metrics]).run_all()
    server = metrics.serve(0)
    try:
        with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as scrape:  # noqa: S310
            text = scrape.read().decode()
            text_type = scrape.headers["Content-Type"]
        request = urllib.request.Request(  # noqa: S310 - our own server
            f"{server.url}/metrics", headers={"Accept": "application/openmetrics-text"}
        )
        with urllib.request.urlopen(request, timeout=5) as scrape:  # noqa: S310
            openmetrics = scrape.read().decode()
            openmetrics_type = scrape.headers["Content-Type"]
    finally:
        server.close()

    assert text_type.startswith("text/plain")
    assert 'simple_worker_tasks_total{error_type="",outcome="succeeded",task_name="ok"} 1.0' in text
    assert openmetrics_type.startswith("application/openmetrics-text")
    assert openmetrics.endswith("# EOF\n")
