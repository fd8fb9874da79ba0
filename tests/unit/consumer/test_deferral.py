"""Tasks due later than one SQS delay: sent on by the worker that receives them early."""

import json
from datetime import timedelta

import pytest

from simple_worker import App, Outcome
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.consumer._deferral import is_early, seconds_left, send_on
from simple_worker.domain._envelope import encode_envelope
from simple_worker.domain._task import Task
from simple_worker.ports.queue import OutgoingMessage, ReceivedMessage
from simple_worker.testing.clock import FakeClock


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def app(clock):
    app = App(testing_mode=True, clock=clock)
    ran = app.ran = []
    app.register_task_handler("remind")(lambda note: ran.append((note, clock.now())))
    return app


def test_early_means_more_than_a_second_before_the_due_time(clock):
    now = clock.now()
    assert not is_early(Task("t", {}), now)
    assert not is_early(Task("t", {}, not_before=now + timedelta(seconds=1)), now)
    assert is_early(Task("t", {}, not_before=now + timedelta(seconds=1.5)), now)
    assert seconds_left(Task("t", {}, not_before=now + timedelta(seconds=1.5)), now) == 2
    assert seconds_left(Task("t", {}, not_before=now - timedelta(hours=1)), now) == 0


def test_a_task_due_in_an_hour_runs_after_an_hour_not_before(app, clock):
    due = clock.now() + timedelta(hours=1)
    task_id = app.with_options(not_before=due).add_task("remind", note="standup")
    testing = app.testing_worker()

    outcomes = []
    for _ in range(4):
        report = testing.run_all()
        outcomes.append([run.outcome for run in report.runs])
        clock.advance(900)
    final = testing.run_all()

    # Delayed 900 s at first; then received early three times and sent on each time.
    assert outcomes == [[], [Outcome.DEFERRED], [Outcome.DEFERRED], [Outcome.DEFERRED]]
    assert [run.task.id for run in final.succeeded] == [task_id]
    assert app.ran == [("standup", due)]
    assert app.queue.bodies("default") == []


def test_a_deferred_task_is_not_run_and_keeps_its_id_payload_and_attributes(clock):
    queue = InMemoryQueue(clock, auto_create=True)
    due = clock.now() + timedelta(hours=2)
    body = encode_envelope(Task("remind", {"note": "x"}, id="abc", not_before=due))
    queue.send_batch("q", [OutgoingMessage("abc", body, attributes={"traceparent": "00-x"})])
    [received] = queue.receive_batch("q")

    assert send_on(queue, received, Task("remind", {}, id="abc", not_before=due), 900)
    assert queue.delete_batch("q", [received.receipt]) == {}

    clock.advance(899)
    assert queue.receive_batch("q") == []
    clock.advance(1)
    [again] = queue.receive_batch("q")
    assert again.body == body
    assert again.attributes == {"traceparent": "00-x"}


def test_a_worker_sends_an_early_task_on_and_deletes_the_copy_it_received(
    clock, wait_until, worker_running
):
    queue = InMemoryQueue(clock)
    queue.create_queue("default")
    app = App(queue=queue, clock=clock)
    ran = []
    app.register_task_handler("remind")(lambda note: ran.append(note))
    due = clock.now() + timedelta(hours=5)
    body = encode_envelope(Task("remind", {"note": "x"}, id="abc", not_before=due))
    queue.send_batch("default", [OutgoingMessage("abc", body)])

    with worker_running(app.worker(wait_seconds=0)) as worker:
        wait_until(lambda: worker.counts["deferred"] == 1)

    # The received copy is deleted (at the latest as the worker stops); the copy
    # sent on waits out its delay.
    assert ran == []
    assert len(queue.bodies("default")) == 1
    assert queue.receive_batch("default") == []
    clock.advance(900)
    [again] = queue.receive_batch("default")
    assert (again.receive_count, json.loads(again.body)["task_id"]) == (1, "abc")


def test_a_task_whose_due_time_has_come_runs_at_once(app, clock):
    queue = app.queue
    body = encode_envelope(
        Task("remind", {"note": "late"}, id="t", not_before=clock.now() - timedelta(minutes=1))
    )
    queue.send_batch("default", [OutgoingMessage("t", body)])

    report = app.testing_worker().run_all()

    assert [run.outcome for run in report.runs] == [Outcome.SUCCEEDED]


def test_send_on_reports_a_refused_send(clock):
    class Refusing(InMemoryQueue):
        def send_batch(self, queue, messages):
            result = super().send_batch(queue, [])
            return type(result)(failed={m.id: "ServiceUnavailable" for m in messages})

    queue = Refusing(clock, auto_create=True)
    due = clock.now() + timedelta(hours=1)
    message = ReceivedMessage("q", "m1", "r1", "{}", 1)

    assert not send_on(queue, message, Task("t", {}, id="t1", not_before=due), 900)
