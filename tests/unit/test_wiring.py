"""The one place that wires a worker's endpoints, as `App.worker` uses it."""

import json
import sys
import threading
import urllib.error
import urllib.request

import pytest

from simple_worker import App, ConfigurationError


def test_app_worker_serves_metrics_and_health_on_one_port(wait_until):
    app = App(testing_mode=True)
    app.register_task_handler("t")(lambda: None)
    app.add_task("t")
    worker = app.worker(wait_seconds=0, health_port=0, metrics_port=0)
    [server] = [m for m in worker._dispatcher.middleware.middleware if hasattr(m, "port")]
    thread = threading.Thread(target=worker.start)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        wait_until(lambda: worker.counts["succeeded"] == 1)
        wait_until(lambda: health(base) == "ok")
        with urllib.request.urlopen(f"{base}/metrics") as answer:  # noqa: S310 - loopback
            text = answer.read().decode()
        assert (
            'simple_worker_tasks_total{error_type="",outcome="succeeded",task_name="t"} 1.0' in text
        )
    finally:
        worker.stop()
        thread.join(10)


def test_app_worker_without_prometheus_client_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "prometheus_client", None)

    with pytest.raises(ConfigurationError, match=r"pip install 'simple-worker\[prometheus\]'"):
        App(testing_mode=True).worker(metrics_port=0)


def health(base):
    try:
        with urllib.request.urlopen(f"{base}/healthz") as answer:  # noqa: S310 - loopback
            return json.loads(answer.read())["status"]
    except urllib.error.HTTPError as error:
        return json.loads(error.read())["status"]
