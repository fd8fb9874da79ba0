"""Task options on the producer's side: what reaches the queue port, and what is refused."""

import json
from datetime import timedelta

import attrs
import pytest

from simple_worker import App, InvalidTaskOptions, Middleware, UnsupportedHandler
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.testing.clock import FakeClock


@attrs.define
class RecordingQueue:
    """An in-memory queue that keeps every message the producer hands it."""

    inner: InMemoryQueue
    sent: list = attrs.field(factory=list)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def send_batch(self, queue, messages):
        self.sent.extend(messages)
        return self.inner.send_batch(queue, messages)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def queue(clock):
    return RecordingQueue(InMemoryQueue(clock, auto_create=True))


@pytest.fixture
def app(queue, clock):
    app = App(queue_prefix="t-", queue=queue, clock=clock)
    app.register_task_handler("email")(lambda user_id: None)
    app.register_task_handler("ship", queue="orders.fifo", group_by="order_id")(
        lambda order_id, line=0: None
    )
    app.register_task_handler("fair", group_by="tenant")(lambda tenant: None)
    return app


def test_a_task_without_options_is_sent_as_before(app, queue):
    app.add_task("email", user_id=7)

    [message] = queue.sent
    assert (message.delay_seconds, message.group_id, message.deduplication_id) == (0, None, None)
    assert message.attributes == {}


def test_options_never_mix_with_payload_keywords(app, queue):
    app.register_task_handler("odd")(lambda delay, group_id: None)

    app.with_options(delay=30).add_task("odd", delay="payload", group_id="also payload")

    [message] = queue.sent
    assert message.delay_seconds == 30
    assert json.loads(message.body)["task_payload"] == {
        "delay": "payload",
        "group_id": "also payload",
    }


def test_with_options_applies_to_every_task_of_add_tasks(app, queue):
    app.with_options(delay=timedelta(minutes=2)).add_tasks(
        "email", [{"user_id": n} for n in (1, 2)]
    )

    assert [m.delay_seconds for m in queue.sent] == [120, 120]


def test_a_registration_default_delay_applies_unless_options_say_otherwise(app, queue, clock):
    app.register_task_handler("later", delay=45)(lambda: None)

    app.add_task("later")
    app.with_options(delay=0).add_task("later")
    app.with_options(not_before=clock.now() + timedelta(seconds=5)).add_task("later")

    assert [m.delay_seconds for m in queue.sent] == [45, 0, 5]


def test_a_registration_delay_out_of_range_is_refused_at_registration(app):
    with pytest.raises(InvalidTaskOptions, match="0 to 900"):
        app.register_task_handler("bad", delay=1000)


def test_not_before_beyond_fifteen_minutes_sends_the_longest_delay_and_the_due_time(
    app, queue, clock
):
    due = clock.now() + timedelta(hours=3)

    app.with_options(not_before=due).add_task("email", user_id=1)

    [message] = queue.sent
    assert message.delay_seconds == 900
    assert json.loads(message.body)["not_before"] == due.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_a_fifo_task_takes_its_group_from_the_registered_field_and_a_content_dedup_id(app, queue):
    app.add_task("ship", order_id=17)
    app.add_task("ship", order_id=17)
    app.add_task("ship", order_id=17, line=2)

    groups = [m.group_id for m in queue.sent]
    dedup = [m.deduplication_id for m in queue.sent]
    assert groups == ["17", "17", "17"]
    assert dedup[0] == dedup[1] != dedup[2]


def test_explicit_group_and_deduplication_ids_win(app, queue):
    app.with_options(group_id="g-1", deduplication_id="d-1").add_task("ship", order_id=17)

    [message] = queue.sent
    assert (message.group_id, message.deduplication_id) == ("g-1", "d-1")


def test_a_fifo_task_without_a_group_id_is_refused_before_anything_is_sent(app, queue):
    app.register_task_handler("audit", queue="orders.fifo")(lambda n: None)

    with pytest.raises(InvalidTaskOptions, match=r"FIFO queue t-orders\.fifo.*group id"):
        app.add_tasks("audit", [{"n": 1}])
    assert queue.sent == []


def test_a_delay_on_a_fifo_queue_is_refused(app, clock):
    with pytest.raises(InvalidTaskOptions, match="no delay per message"):
        app.with_options(delay=5).add_task("ship", order_id=1)
    with pytest.raises(InvalidTaskOptions, match="no delay per message"):
        app.with_options(not_before=clock.now() + timedelta(hours=1)).add_task("ship", order_id=1)
    with pytest.raises(InvalidTaskOptions, match="FIFO queue"):
        app.register_task_handler("late", queue="orders.fifo", delay=5)


def test_a_deduplication_id_on_a_standard_queue_is_refused(app):
    with pytest.raises(InvalidTaskOptions, match="standard queue"):
        app.with_options(deduplication_id="d").add_task("email", user_id=1)


def test_a_group_id_on_a_standard_queue_is_a_fair_queue_tenant(app, queue):
    app.add_task("fair", tenant="acme")
    app.with_options(group_id="globex").add_task("fair", tenant="acme")

    assert [(m.group_id, m.deduplication_id) for m in queue.sent] == [
        ("acme", None),
        ("globex", None),
    ]


def test_group_by_must_name_a_handler_parameter(app):
    with pytest.raises(UnsupportedHandler, match="group_by"):
        app.register_task_handler("x", group_by="missing")(lambda n: None)


def test_one_bad_task_of_a_batch_stops_the_whole_batch(app, queue):
    with pytest.raises(InvalidTaskOptions, match="str or an int"):
        app.add_tasks("ship", [{"order_id": 1}, {"order_id": [2]}])
    assert queue.sent == []


def test_app_middleware_adds_message_attributes_on_send(queue, clock):
    class Stamp(Middleware):
        def before_send(self, task, attributes):
            attributes["origin"] = f"test:{task.name}"

    app = App(queue=queue, clock=clock, middleware=[Stamp()])
    app.register_task_handler("email")(lambda user_id: None)

    app.add_task("email", user_id=1)

    assert queue.sent[0].attributes == {"origin": "test:email"}


def test_a_middleware_that_raises_in_before_send_does_not_stop_the_send(queue, clock, caplog):
    class Broken(Middleware):
        def before_send(self, task, attributes):
            raise RuntimeError("bug")

    app = App(queue=queue, clock=clock, middleware=[Broken()])
    app.register_task_handler("email")(lambda user_id: None)

    app.add_task("email", user_id=1)

    assert len(queue.sent) == 1
    assert "Broken raised in before_send" in caplog.text
