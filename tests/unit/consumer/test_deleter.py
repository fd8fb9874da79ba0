import threading

import attrs

from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.adapters.system._clock import SystemClock
from simple_worker.consumer._deleter import DeleteBatcher
from simple_worker.ports.queue import OutgoingMessage


@attrs.define
class RecordingQueue:
    """Records delete calls and signals each one."""

    inner: InMemoryQueue
    calls: list = attrs.field(factory=list)
    deleted: threading.Event = attrs.field(factory=threading.Event)

    def delete_batch(self, queue, receipts):
        self.calls.append((queue, len(receipts)))
        failed = self.inner.delete_batch(queue, receipts)
        self.deleted.set()
        return failed


def received(memory, count):
    memory.send_batch("q", [OutgoingMessage(id=str(n), body="b") for n in range(count)])
    messages = []
    while len(messages) < count:
        messages += memory.receive_batch("q")
    return messages


def make(max_wait=0.2):
    memory = InMemoryQueue(auto_create=True)
    recording = RecordingQueue(memory)
    return memory, recording, DeleteBatcher(recording, SystemClock(), max_wait=max_wait)


def test_one_receipt_is_deleted_after_max_wait_without_waiting_for_nine_more():
    memory, recording, batcher = make()
    batcher.start()
    [message] = received(memory, 1)

    batcher.add("q", message.receipt)

    assert recording.deleted.wait(5), "the lone receipt was not deleted"
    assert recording.calls == [("q", 1)]
    batcher.stop()


def test_ten_pending_receipts_are_deleted_at_once_without_waiting_for_max_wait():
    memory, recording, batcher = make(max_wait=60)
    batcher.start()

    for message in received(memory, 10):
        batcher.add("q", message.receipt)

    assert recording.deleted.wait(5), "a full batch was not deleted"
    assert recording.calls == [("q", 10)]
    batcher.stop()


def test_stop_flushes_what_is_pending():
    memory, recording, batcher = make(max_wait=60)
    batcher.start()

    for message in received(memory, 3):
        batcher.add("q", message.receipt)
    batcher.stop()

    assert recording.calls == [("q", 3)]


def test_an_urgent_receipt_is_deleted_at_once_with_those_pending():
    memory, recording, batcher = make(max_wait=60)
    batcher.start()
    first, second = received(memory, 2)

    batcher.add("q", first.receipt)
    batcher.add("q", second.receipt, urgent=True)

    assert recording.deleted.wait(5), "the urgent receipt was not deleted"
    assert recording.calls == [("q", 2)]
    batcher.stop()


def test_on_deleted_runs_once_the_message_is_deleted():
    memory, _, batcher = make()
    batcher.start()
    [message] = received(memory, 1)
    seen = []
    done = threading.Event()

    def on_deleted():
        seen.append(memory.stats("q").in_flight)
        done.set()

    batcher.add("q", message.receipt, on_deleted=on_deleted)

    assert done.wait(5), "on_deleted did not run"
    batcher.stop()
    assert seen == [0]


def test_on_deleted_does_not_run_when_the_delete_failed():
    memory, recording, batcher = make(max_wait=60)
    batcher.start()
    [message] = received(memory, 1)
    memory.delete_batch("q", [message.receipt])  # gone already: this receipt now fails
    ran = []

    batcher.add("q", message.receipt, on_deleted=lambda: ran.append("stale"))
    batcher.stop()

    assert recording.calls == [("q", 1)]
    assert ran == []


def test_only_the_deleted_receipts_of_a_batch_run_their_callbacks():
    memory, recording, batcher = make(max_wait=60)
    batcher.start()
    first, second = received(memory, 2)
    memory.delete_batch("q", [second.receipt])
    ran = []

    batcher.add("q", first.receipt, on_deleted=lambda: ran.append("first"))
    batcher.add("q", second.receipt, on_deleted=lambda: ran.append("second"))
    batcher.stop()

    assert recording.calls == [("q", 2)]
    assert ran == ["first"]


def test_a_callback_that_raises_is_logged_and_the_others_still_run(caplog):
    memory, _, batcher = make(max_wait=60)
    batcher.start()
    first, second = received(memory, 2)
    ran = []

    batcher.add("q", first.receipt, on_deleted=lambda: 1 / 0)
    batcher.add("q", second.receipt, on_deleted=lambda: ran.append("second"))
    batcher.stop()

    assert ran == ["second"]
    assert "Internal error after deleting a message from q" in caplog.text


@attrs.define
class HangingQueue:
    """Delete calls wait for `answer`, as an SQS endpoint that never replies."""

    inner: InMemoryQueue
    answer: threading.Event = attrs.field(factory=threading.Event)

    def delete_batch(self, queue, receipts):
        self.answer.wait()
        return self.inner.delete_batch(queue, receipts)


def test_stop_gives_up_on_unanswered_deletes_after_its_timeout_and_names_them(caplog):
    memory = InMemoryQueue(auto_create=True)
    hanging = HangingQueue(memory)
    batcher = DeleteBatcher(hanging, SystemClock(), max_wait=60)
    batcher.start()
    first, second = received(memory, 2)
    batcher.add("q", first.receipt, message_id=first.message_id)
    batcher.add("q", second.receipt)  # no id: named by its receipt

    try:
        given_up = batcher.stop(timeout=0.2)
    finally:
        hanging.answer.set()

    assert given_up == 2
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert line.startswith("Gave up deleting 2 finished task message(s) from q")
    assert first.message_id in line
    assert f"receipt {second.receipt[:32]}" in line


def test_stop_gives_up_nothing_when_every_delete_was_answered():
    memory, _, batcher = make(max_wait=60)
    batcher.start()
    for message in received(memory, 3):
        batcher.add("q", message.receipt, message_id=message.message_id)

    assert batcher.stop(timeout=5) == 0
    assert memory.stats("q").in_flight == 0
