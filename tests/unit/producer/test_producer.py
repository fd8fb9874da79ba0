import attrs
import pytest

from simple_worker import App, SendFailed
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.ports.queue import SendResult


@attrs.define
class RefusingQueue:
    """An in-memory queue that refuses every ``refuse_every``-th message and loses one reply."""

    inner: InMemoryQueue
    refuse_every: int
    unknown_last: bool = False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def send_batch(self, queue, messages):
        refused = messages[self.refuse_every - 1 :: self.refuse_every]
        unknown = messages[-1:] if self.unknown_last else []
        accepted = [m for m in messages if m not in refused and m not in unknown]
        result = self.inner.send_batch(queue, accepted)
        return SendResult(
            sent=result.sent,
            failed={m.id: "InternalError: try again" for m in refused},
            unknown=tuple(m.id for m in unknown),
        )


def test_add_tasks_raises_send_failed_listing_what_was_and_was_not_sent():
    queue = RefusingQueue(InMemoryQueue(auto_create=True), refuse_every=3)
    app = App(queue=queue)
    app.register_task_handler("t")(lambda n: None)

    with pytest.raises(SendFailed) as raised:
        app.add_tasks("t", [{"n": n} for n in range(6)])

    error = raised.value
    assert len(error.sent_ids) == 4
    assert len(error.failed) == 2
    assert "4 of 6 tasks were sent to default" in str(error)
    assert "InternalError: try again" in str(error)
    assert len(queue.inner.bodies("default")) == 4


def test_send_failed_says_which_tasks_may_have_been_sent():
    queue = RefusingQueue(InMemoryQueue(auto_create=True), refuse_every=100, unknown_last=True)
    app = App(queue=queue)
    app.register_task_handler("t")(lambda n: None)

    with pytest.raises(SendFailed, match="1 may or may not have been sent") as raised:
        app.add_tasks("t", [{"n": 1}, {"n": 2}])

    assert len(raised.value.unknown_ids) == 1
    assert raised.value.failed == {}


def test_add_task_reads_the_queue_limit_once_per_call_not_per_payload():
    calls = []
    inner = InMemoryQueue(auto_create=True)

    @attrs.define
    class CountingQueue:
        def __getattr__(self, name):
            return getattr(inner, name)

        def describe(self, queue):
            calls.append(queue)
            return inner.describe(queue)

    app = App(queue=CountingQueue())
    app.register_task_handler("t")(lambda n: None)

    app.add_tasks("t", [{"n": n} for n in range(30)])

    assert calls == ["default"]
