"""Large payloads through `App` in memory: the producer, the testing worker and the worker."""

import json
import logging
from datetime import timedelta

import attrs
import pytest

from simple_worker import (
    App,
    ConfigurationError,
    MessageDecodeError,
    MessageTooLarge,
    PayloadMismatch,
    PayloadStoreError,
)
from simple_worker.adapters.memory._payloads import InMemoryPayloadStore
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.domain._payload_pointer import (
    LEGACY_SIZE_ATTRIBUTE,
    SIZE_ATTRIBUTE,
    find_pointer,
)
from simple_worker.ports.queue import OutgoingMessage
from simple_worker.testing.clock import FakeClock

LIMIT = 1024
BLOB = "x" * 4000


@attrs.define
class OutageStore:
    """An in-memory store that S3 is 'down' for (reads fail) while ``down`` is set."""

    inner: InMemoryPayloadStore
    down: bool = True

    def put(self, body):
        return self.inner.put(body)

    def get(self, pointer):
        if self.down:
            raise PayloadStoreError(
                "S3 GetObject failed: ServiceUnavailable",
                operation="GetObject",
                bucket=pointer.bucket,
                key=pointer.key,
            )
        return self.inner.get(pointer)

    def delete(self, pointer):
        self.inner.delete(pointer)


@pytest.fixture
def app():
    return App(testing_mode=True, max_message_size=LIMIT, large_payload_bucket="tasks")


@pytest.fixture
def received():
    return []


@pytest.fixture
def handler(app, received):
    @app.register_task_handler("t")
    def handler(blob):
        received.append(blob)

    return handler


def only_message(app):
    [body] = app.queue.bodies("default")
    return body


def test_testing_mode_with_a_bucket_stores_large_tasks_in_memory_under_that_name(app):
    assert isinstance(app.large_payload_store, InMemoryPayloadStore)
    assert app.large_payload_store.bucket == "tasks"


def test_a_large_task_is_sent_as_a_pointer_to_its_stored_envelope(app, handler):
    task_id = app.add_task("t", blob=BLOB)

    pointer = find_pointer(only_message(app))
    stored = json.loads(app.large_payload_store.get(pointer))
    assert pointer.bucket == "tasks"
    assert stored["task_id"] == task_id
    assert stored["task_payload"] == {"blob": BLOB}


def test_a_large_task_runs_with_its_full_payload_and_its_object_is_then_deleted(
    app, handler, received
):
    app.add_task("t", blob=BLOB)

    report = app.testing_worker().run_all()

    assert received == [BLOB]
    assert len(report.succeeded) == 1
    assert app.queue.bodies("default") == []
    assert app.large_payload_store.keys() == []


def test_small_tasks_beside_large_ones_go_as_they_are(app, handler, received):
    app.add_tasks("t", [{"blob": "small"}, {"blob": BLOB}])

    small, large = app.queue.bodies("default")
    assert json.loads(small)["task_payload"] == {"blob": "small"}
    assert find_pointer(large) is not None
    assert len(app.large_payload_store.keys()) == 1
    app.testing_worker().run_all()
    assert received == ["small", BLOB]


def test_a_failing_handler_leaves_message_and_object_for_the_next_delivery(app):
    app.register_task_handler("t")(lambda blob: 1 / 0)
    app.add_task("t", blob=BLOB)

    report = app.testing_worker().run_all(raise_errors=False)

    assert len(report.failed) == 1
    assert len(app.large_payload_store.keys()) == 1
    assert app.queue.stats("default").in_flight == 1


def test_without_a_bucket_a_large_task_is_too_large_as_before():
    app = App(testing_mode=True, max_message_size=LIMIT)
    app.register_task_handler("t")(lambda blob: None)

    with pytest.raises(MessageTooLarge, match="large_payload_bucket"):
        app.add_task("t", blob=BLOB)


def test_a_batch_with_one_invalid_payload_stores_nothing(app, handler):
    with pytest.raises(PayloadMismatch):
        app.add_tasks("t", [{"blob": BLOB}, {"blob": BLOB, "extra": 1}])

    assert app.large_payload_store.keys() == []
    assert app.queue.bodies("default") == []


def test_a_message_whose_object_is_gone_is_rejected_with_the_reason(app, handler, received):
    app.add_task("t", blob=BLOB)
    [key] = app.large_payload_store.keys()
    app.large_payload_store.delete(find_pointer(only_message(app)))

    report = app.testing_worker().run_all(raise_errors=False)

    [rejected] = report.rejected
    assert isinstance(rejected.error, MessageDecodeError)
    assert f"s3://tasks/{key} is gone" in str(rejected.error)
    assert received == []


def test_a_store_outage_fails_the_task_logs_the_object_and_keeps_the_message(received, caplog):
    clock = FakeClock()
    store = OutageStore(InMemoryPayloadStore("tasks"))
    app = App(testing_mode=True, clock=clock, max_message_size=LIMIT, large_payload_store=store)
    app.register_task_handler("t")(lambda blob: received.append(blob))
    app.add_task("t", blob=BLOB)

    report = app.testing_worker().run_all(raise_errors=False)

    [failed] = report.failed
    assert isinstance(failed.error, PayloadStoreError)
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.bucket == "tasks"
    assert record.key == store.inner.keys()[0]
    assert received == []

    store.down = False
    clock.advance(31)  # the visibility timeout: SQS delivers it again
    app.testing_worker().run_all()

    assert received == [BLOB]
    assert store.inner.keys() == []


def test_a_pointer_sent_on_unchanged_runs_later_and_keeps_its_object_until_then(received):
    clock = FakeClock()
    app = App(testing_mode=True, clock=clock, max_message_size=LIMIT, large_payload_bucket="b")
    app.register_task_handler("t")(lambda blob: received.append(blob))
    app.with_options(not_before=clock.now() + timedelta(minutes=40)).add_task("t", blob=BLOB)
    [key] = app.large_payload_store.keys()

    hops = 0
    for _ in range(10):
        if received:
            break
        clock.advance(15 * 60)
        report = app.testing_worker().run_all()
        hops += len(report.deferred)
        if not received:
            # Sent on as it was received: the same pointer, its object still there.
            assert find_pointer(only_message(app)).key == key
            assert app.large_payload_store.keys() == [key]

    assert hops >= 1
    assert received == [BLOB]
    assert app.large_payload_store.keys() == []


def test_the_worker_deletes_the_object_after_the_message(received, wait_until, worker_running):
    memory = InMemoryQueue()
    memory.create_queue("default", visibility_timeout=30)
    store = InMemoryPayloadStore("tasks")
    app = App(queue=memory, max_message_size=LIMIT, large_payload_store=store)
    app.register_task_handler("t")(lambda blob: received.append(blob))
    app.add_tasks("t", [{"blob": BLOB}, {"blob": BLOB + "y"}])

    with worker_running(app.worker(wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 2)
        wait_until(lambda: store.keys() == [])

    assert sorted(received) == [BLOB, BLOB + "y"]
    assert memory.bodies("default") == []


def test_the_pointer_message_carries_the_envelope_size_attribute(received):
    memory = InMemoryQueue(auto_create=True)
    app = App(queue=memory, max_message_size=LIMIT, large_payload_store=InMemoryPayloadStore())
    app.register_task_handler("t")(lambda blob: None)
    app.add_task("t", blob=BLOB)

    [message] = memory.receive_batch("default")
    stored = app.large_payload_store.get(find_pointer(message.body))
    assert message.attributes[SIZE_ATTRIBUTE] == str(len(stored))


@pytest.mark.parametrize("bucket", [None, "tasks"])
@pytest.mark.parametrize("attribute", [SIZE_ATTRIBUTE, LEGACY_SIZE_ATTRIBUTE])
def test_a_task_whose_message_has_a_size_attribute_still_runs(received, attribute, bucket):
    app = App(testing_mode=True, large_payload_bucket=bucket)
    app.register_task_handler("t")(lambda blob: received.append(blob))
    envelope = json.dumps({"task_name": "t", "task_payload": {"blob": "b"}, "v": 1})
    # An int is sent as a Number attribute, as the extended clients send theirs.
    sent = app.queue.send_batch(
        "default", [OutgoingMessage("m", envelope, attributes={attribute: 2_097_152})]
    )
    assert sent.sent == ("m",)

    report = app.testing_worker().run_all()

    assert received == ["b"]
    assert len(report.succeeded) == 1


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"large_payload_bucket": "b", "large_payload_store": InMemoryPayloadStore()}, "not both"),
        ({"s3_endpoint_url": "http://127.0.0.1:1"}, "give large_payload_bucket"),
    ],
)
def test_contradicting_large_payload_options_are_refused(options, match):
    with pytest.raises(ConfigurationError, match=match):
        App(testing_mode=True, **options)
