import json
import os
import re
import threading
import time
import urllib.error
import urllib.request

import pytest

from simple_worker import App
from simple_worker.adapters.observability._health import HealthEndpoint, ProcessesHealth
from simple_worker.testing.clock import FakeClock


def answer_of(endpoint):
    answer = endpoint.answer({})
    return answer.status, json.loads(answer.body)


class StoppableWorker:
    stopping = False


def test_the_health_endpoint_is_503_until_the_first_beat_then_200():
    clock = FakeClock()
    health = HealthEndpoint(clock)

    assert answer_of(health) == (
        503,
        {"status": "starting", "consuming": False, "seconds_since_beat": None},
    )
    health.beat()
    clock.advance(2.5)
    assert answer_of(health) == (
        200,
        {"status": "ok", "consuming": True, "seconds_since_beat": 2.5},
    )


def test_the_health_endpoint_turns_503_when_the_beats_stop_and_200_when_they_resume():
    clock = FakeClock()
    health = HealthEndpoint(clock, stale_after=15)
    health.beat()

    clock.advance(15)
    assert answer_of(health)[0] == 200
    clock.advance(0.1)
    assert answer_of(health) == (
        503,
        {"status": "stale", "consuming": False, "seconds_since_beat": 15.1},
    )
    health.beat()
    assert answer_of(health)[0] == 200


def test_the_health_endpoint_is_503_from_the_moment_the_worker_is_asked_to_stop():
    health = HealthEndpoint(FakeClock())
    worker = StoppableWorker()
    health.worker_started(worker)
    health.beat()
    assert answer_of(health)[0] == 200

    worker.stopping = True
    assert answer_of(health)[1]["status"] == "stopping"

    worker.stopping = False  # a worker without the attribute: stopped tells instead
    health.worker_stopped(worker)
    assert answer_of(health) == (
        503,
        {"status": "stopping", "consuming": False, "seconds_since_beat": 0.0},
    )


def processes_health(tmp_path, pids, *, stopping=False):
    return ProcessesHealth(
        lambda: list(enumerate(pids)),
        lambda index: tmp_path / f"process-{index}.alive",
        lambda: stopping,
        stale_after=15,
    )


def test_processes_are_healthy_only_while_every_one_runs_and_beats(tmp_path):
    for index in (0, 1):
        (tmp_path / f"process-{index}.alive").touch()

    status, body = answer_of(processes_health(tmp_path, [101, 102]))

    assert (status, body["status"], body["consuming"]) == (200, "ok", True)
    assert [(p["index"], p["pid"], p["status"]) for p in body["processes"]] == [
        (0, 101, "ok"),
        (1, 102, "ok"),
    ]
    assert 0 <= body["seconds_since_beat"] < 15


def test_a_process_being_restarted_or_not_beating_makes_the_supervisor_unhealthy(tmp_path):
    (tmp_path / "process-0.alive").touch()
    stale = tmp_path / "process-1.alive"
    stale.touch()
    os.utime(stale, (time.time() - 60, time.time() - 60))

    stale_status, stale_body = answer_of(processes_health(tmp_path, [101, 102]))
    restarting_status, restarting_body = answer_of(processes_health(tmp_path, [101, None]))
    starting_status, starting_body = answer_of(processes_health(tmp_path / "none", [101, 102]))

    assert (stale_status, stale_body["status"]) == (503, "degraded")
    assert [p["status"] for p in stale_body["processes"]] == ["ok", "stale"]
    assert stale_body["seconds_since_beat"] >= 60
    assert restarting_status == 503
    assert restarting_body["processes"][1] == {
        "index": 1,
        "pid": None,
        "status": "not running",
        "consuming": False,
        "seconds_since_beat": None,
    }
    assert starting_status == 503
    assert {p["status"] for p in starting_body["processes"]} == {"starting"}


def test_a_stopping_supervisor_is_unhealthy(tmp_path):
    (tmp_path / "process-0.alive").touch()

    assert answer_of(processes_health(tmp_path, [101], stopping=True))[1]["status"] == "stopping"


# --- app.worker(health_port=...): a real worker, a real HTTP server ----------------


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - our own server
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def served_url(caplog):
    found = re.search(r"Serving /healthz on (http://\S+)", caplog.text)
    return found and found.group(1)


def test_app_worker_serves_healthz_while_it_runs_503_while_stopping_then_closes(caplog, wait_until):
    caplog.set_level("INFO", logger="simple_worker")
    app = App(testing_mode=True)
    release = threading.Event()
    started = threading.Event()

    @app.register_task_handler("slow")
    def slow():
        started.set()
        release.wait(10)

    worker = app.worker(wait_seconds=0, health_port=0)
    thread = threading.Thread(target=worker.start)
    thread.start()
    try:
        wait_until(lambda: served_url(caplog))
        url = f"{served_url(caplog)}/healthz"
        wait_until(lambda: get(url)[0] == 200)
        assert get(url)[1]["consuming"] is True

        app.add_task("slow")
        assert started.wait(10)
        worker.stop()  # the task still runs: the worker is stopping
        status, body = get(url)
        assert (status, body["status"], body["consuming"]) == (503, "stopping", False)
    finally:
        release.set()
        worker.stop()
        thread.join(10)

    with pytest.raises(urllib.error.URLError):
        get(url)
