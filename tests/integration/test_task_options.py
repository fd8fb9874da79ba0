"""Task options end to end on a moto SQS server over HTTP: delays and long schedules."""

import time
from datetime import datetime, timedelta, timezone

import pytest

from simple_worker import App
from simple_worker.domain._envelope import encode_envelope
from simple_worker.domain._task import Task
from simple_worker.ports.queue import OutgoingMessage

pytestmark = pytest.mark.integration

# Seconds: delays run on real time, through moto over HTTP.
WAIT_TIMEOUT = 20.0
STOP_TIMEOUT = 30.0
POLL = 0.05


@pytest.fixture
def app_on(moto_server):
    def make(queue_name):
        app = App(sqs_endpoint_url=moto_server)
        app.ran = []
        app.register_task_handler("note", queue=queue_name)(
            lambda text: app.ran.append((text, time.monotonic()))
        )
        return app

    return make


def test_a_delayed_task_does_not_run_before_its_delay(
    make_queue, app_on, wait_until, worker_running
):
    app = app_on(make_queue("delay"))

    with worker_running(app.worker(threads=2, wait_seconds=1), timeout=STOP_TIMEOUT):
        sent_at = time.monotonic()
        app.with_options(delay=2).add_task("note", text="later")
        app.add_task("note", text="now")
        wait_until(lambda: len(app.ran) == 2, timeout=WAIT_TIMEOUT, interval=POLL)

    ran = dict(app.ran)
    assert ran["now"] < ran["later"]
    assert ran["later"] - sent_at >= 2.0


def test_a_task_due_in_hours_is_sent_on_by_the_worker_not_run(
    make_queue, app_on, sqs_client, wait_until, worker_running
):
    name = make_queue("schedule")
    app = app_on(name)
    due = datetime.now(timezone.utc) + timedelta(hours=3)
    # As if its first 15-minute delay had passed: it arrives early at once.
    body = encode_envelope(Task("note", {"text": "x"}, id="t-1", not_before=due))
    app.queue.send_batch(name, [OutgoingMessage("t-1", body, attributes={"origin": "test"})])

    with worker_running(app.worker(wait_seconds=1), timeout=STOP_TIMEOUT) as worker:
        wait_until(lambda: worker.counts["deferred"] == 1, timeout=WAIT_TIMEOUT, interval=POLL)

    url = sqs_client.get_queue_url(QueueName=name)["QueueUrl"]
    counts = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert app.ran == []
    assert counts["ApproximateNumberOfMessages"] == "0"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert counts["ApproximateNumberOfMessagesDelayed"] == "1"


def test_a_task_scheduled_with_not_before_is_sent_with_the_longest_delay(
    make_queue, app_on, sqs_client
):
    name = make_queue("schedule")
    app = app_on(name)

    app.with_options(not_before=datetime.now(timezone.utc) + timedelta(days=2)).add_task(
        "note", text="x"
    )

    url = sqs_client.get_queue_url(QueueName=name)["QueueUrl"]
    counts = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessagesDelayed"] == "1"
    assert app.queue.receive_batch(name) == []
