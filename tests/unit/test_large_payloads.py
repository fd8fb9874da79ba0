import json
import logging

import attrs
import pytest

from simple_worker import (
    MessageDecodeError,
    MessageTooLarge,
    PayloadStoreError,
    QueueNotFound,
)
from simple_worker._large_payloads import (
    PayloadOffload,
    delete_payload,
    payload_cleanup,
    resolve_body,
)
from simple_worker.adapters.memory._payloads import InMemoryPayloadStore
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.domain._payload_pointer import (
    LEGACY_SIZE_ATTRIBUTE,
    SIZE_ATTRIBUTE,
    PayloadPointer,
    encode_pointer,
    find_pointer,
)
from simple_worker.domain._registry import TaskRegistry
from simple_worker.ports.queue import OutgoingMessage, ReceivedMessage, SendResult

LIMIT = 1024


@attrs.define
class FlakyStore:
    """An in-memory store whose puts fail after ``puts_left``, its other calls on demand."""

    inner: InMemoryPayloadStore
    puts_left: int = 1_000
    fail_get: bool = False
    fail_delete: bool = False

    @property
    def bucket(self):
        return self.inner.bucket

    def put(self, body):
        if self.puts_left == 0:
            raise PayloadStoreError("S3 PutObject failed: SlowDown", operation="PutObject")
        self.puts_left -= 1
        return self.inner.put(body)

    def get(self, pointer):
        if self.fail_get:
            raise PayloadStoreError("S3 GetObject failed", bucket=pointer.bucket, key=pointer.key)
        return self.inner.get(pointer)

    def delete(self, pointer):
        if self.fail_delete:
            raise PayloadStoreError("S3 DeleteObject failed: AccessDenied")
        self.inner.delete(pointer)


@attrs.define
class RefusingQueue:
    """An in-memory queue that refuses the given ids and leaves others' fate unknown."""

    inner: InMemoryQueue
    refuse: set = attrs.field(factory=set)
    unknown: set = attrs.field(factory=set)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def send_batch(self, queue, messages):
        accepted = [m for m in messages if m.id not in self.refuse | self.unknown]
        result = self.inner.send_batch(queue, accepted)
        return SendResult(
            sent=result.sent,
            failed={m.id: "InternalError" for m in messages if m.id in self.refuse},
            unknown=tuple(m.id for m in messages if m.id in self.unknown),
        )


@pytest.fixture
def registration():
    registry = TaskRegistry()
    registry.register("t", lambda blob: None, "q")
    return registry.get("t")


@pytest.fixture
def store():
    return InMemoryPayloadStore("tasks")


@pytest.fixture
def queue():
    return InMemoryQueue(auto_create=True)


def envelope(size):
    return json.dumps({"task_name": "t", "task_payload": {"blob": "x" * size}})


def outgoing(task_id, size, **options):
    return OutgoingMessage(id=task_id, body=envelope(size), **options)


def received(body, attributes=None):
    return ReceivedMessage(
        queue="q",
        message_id="m-1",
        receipt="r-1",
        body=body,
        receive_count=1,
        attributes=attributes or {},
    )


def test_a_message_within_the_limit_is_sent_as_it_is(registration, store, queue):
    message = outgoing("a", 100)

    PayloadOffload(store, queue).send(registration, [message], LIMIT)

    assert queue.bodies("q") == [message.body]
    assert store.keys() == []


def test_a_message_over_the_limit_goes_as_a_pointer_with_its_size_and_options(
    registration, store, queue
):
    message = outgoing("a", 5000, group_id="g", attributes={"traceparent": "00-abc"})

    PayloadOffload(store, queue).send(registration, [message], LIMIT)

    [sent] = queue.receive_batch("q")
    pointer = find_pointer(sent.body)
    assert pointer == PayloadPointer("tasks", store.keys()[0])
    assert sent.attributes == {
        "traceparent": "00-abc",
        SIZE_ATTRIBUTE: str(len(message.body)),
    }
    assert sent.group_id == "g"
    assert store.get(pointer) == message.body


def test_only_the_messages_over_the_limit_are_stored(registration, store, queue):
    messages = [outgoing("small", 10), outgoing("large", 5000), outgoing("small-2", 10)]

    result = PayloadOffload(store, queue).send(registration, messages, LIMIT)

    assert result.sent == ("small", "large", "small-2")
    assert len(store.keys()) == 1


def test_objects_of_refused_messages_are_deleted_and_those_of_unknown_fate_kept(
    registration, store, queue
):
    refusing = RefusingQueue(queue, refuse={"refused"}, unknown={"unknown"})
    messages = [outgoing(task_id, 5000) for task_id in ("sent", "refused", "unknown")]

    result = PayloadOffload(store, refusing).send(registration, messages, LIMIT)

    assert list(result.failed) == ["refused"]
    [sent] = queue.receive_batch("q")
    # The sent one's object stays, and so does the one that may have been sent.
    assert len(store.keys()) == 2
    assert store.get(find_pointer(sent.body)) == messages[0].body


def test_a_store_failure_midway_deletes_what_was_stored_and_sends_nothing(registration, queue):
    store = FlakyStore(InMemoryPayloadStore("tasks"), puts_left=2)
    messages = [outgoing(str(n), 5000) for n in range(4)]

    with pytest.raises(PayloadStoreError, match="SlowDown"):
        PayloadOffload(store, queue).send(registration, messages, LIMIT)

    assert store.inner.keys() == []
    assert queue.bodies("q") == []


def test_a_send_that_raises_deletes_every_object_it_stored(registration, store):
    no_queues = InMemoryQueue()

    with pytest.raises(QueueNotFound):
        PayloadOffload(store, no_queues).send(registration, [outgoing("a", 5000)], LIMIT)

    assert store.keys() == []


def test_a_pointer_message_still_over_the_limit_is_refused_and_its_object_deleted(
    registration, store, queue
):
    message = outgoing("a", 5000, attributes={"note": "n" * LIMIT})

    with pytest.raises(MessageTooLarge, match="over the limit of 1024 bytes"):
        PayloadOffload(store, queue).send(registration, [message], LIMIT)

    assert store.keys() == []
    assert queue.bodies("q") == []


def test_cleanup_failures_are_warnings_that_name_the_object(registration, queue, caplog):
    store = FlakyStore(InMemoryPayloadStore("tasks"), fail_delete=True)
    refusing = RefusingQueue(queue, refuse={"a"})

    PayloadOffload(store, refusing).send(registration, [outgoing("a", 5000)], LIMIT)

    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert record.bucket == "tasks"
    assert record.key == store.inner.keys()[0]
    assert "lifecycle rule" in record.getMessage()


def test_an_ordinary_body_resolves_to_itself(store):
    assert resolve_body(received('{"task_name": "t"}'), store) == '{"task_name": "t"}'
    assert resolve_body(received('{"task_name": "t"}'), None) == '{"task_name": "t"}'


def test_a_pointer_resolves_to_the_stored_body(store):
    pointer = store.put(envelope(10))

    assert resolve_body(received(encode_pointer(pointer)), store) == envelope(10)


def test_a_pointer_to_a_missing_object_cannot_run(store):
    gone = PayloadPointer("tasks", "deleted-key")

    with pytest.raises(MessageDecodeError, match="s3://tasks/deleted-key is gone"):
        resolve_body(received(encode_pointer(gone)), store)


def test_a_pointer_into_another_bucket_cannot_run(store):
    elsewhere = PayloadPointer("someone-elses-bucket", "key")

    with pytest.raises(MessageDecodeError, match="only one this store reads"):
        resolve_body(received(encode_pointer(elsewhere)), store)


def test_a_pointer_without_a_store_cannot_run_and_says_what_to_configure():
    pointer = PayloadPointer("tasks", "k")

    with pytest.raises(MessageDecodeError, match="large_payload_bucket"):
        resolve_body(received(encode_pointer(pointer), {SIZE_ATTRIBUTE: "10"}), None)


@pytest.mark.parametrize("attribute", [SIZE_ATTRIBUTE, LEGACY_SIZE_ATTRIBUTE])
def test_a_task_envelope_is_read_as_a_task_whatever_its_size_attribute(store, attribute):
    body = envelope(10)
    message = received(body, {attribute: "2097152"})

    assert resolve_body(message, store) == body
    assert resolve_body(message, None) == body
    assert payload_cleanup(message, store) is None


def test_a_store_failure_on_read_is_raised_as_such():
    store = FlakyStore(InMemoryPayloadStore("tasks"), fail_get=True)
    pointer = store.put(envelope(10))

    with pytest.raises(PayloadStoreError):
        resolve_body(received(encode_pointer(pointer)), store)


def test_cleanup_deletes_the_object_a_message_points_to(store):
    pointer = store.put(envelope(10))

    cleanup = payload_cleanup(received(encode_pointer(pointer)), store)
    cleanup()

    assert store.keys() == []


@pytest.mark.parametrize(
    ("body", "attributes"),
    [
        ('{"task_name": "t", "task_payload": {}}', {}),
        ("not json at all", {SIZE_ATTRIBUTE: "10"}),
    ],
)
def test_there_is_no_cleanup_for_a_message_without_a_valid_pointer(store, body, attributes):
    assert payload_cleanup(received(body, attributes), store) is None


def test_there_is_no_cleanup_without_a_store(store):
    pointer = store.put("x")

    assert payload_cleanup(received(encode_pointer(pointer)), None) is None


def test_deleting_a_payload_never_raises_for_the_store(caplog):
    store = FlakyStore(InMemoryPayloadStore("tasks"), fail_delete=True)
    pointer = store.put("x")

    delete_payload(store, pointer)

    assert f"Could not delete large payload {pointer}" in caplog.text
