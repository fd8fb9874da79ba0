import threading

import attrs

from simple_worker.adapters.memory_queue import InMemoryQueue
from simple_worker.adapters.system_clock import SystemClock
from simple_worker.ports.queue import OutgoingMessage
from simple_worker.services.deleter import DeleteBatcher


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
