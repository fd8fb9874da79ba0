"""The send window: add_task calls from many threads sharing SendMessageBatch calls."""

import threading
from concurrent.futures import Future

import attrs
import pytest

from simple_worker import App, ConfigurationError, QueueNotFound, SendFailed
from simple_worker.adapters.memory._payloads import InMemoryPayloadStore
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.ports.queue import OutgoingMessage, SendResult
from simple_worker.producer._coalescer import MAX_SEND_WINDOW, _Pending, _Waiting

DEADLINE = 30  # seconds a test waits on a condition; never reached when green


@attrs.define
class GatedQueue:
    """An in-memory queue whose first send_batch call waits for `release`; records every call."""

    inner: InMemoryQueue = attrs.field(factory=lambda: InMemoryQueue(auto_create=True))
    released: threading.Event = attrs.field(factory=threading.Event)
    outcome: object = None  # called with the messages: a SendResult, or raises; None: send
    calls: list[list[str]] = attrs.field(factory=list)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def send_batch(self, queue, messages):
        self.calls.append([m.id for m in messages])
        if len(self.calls) == 1:
            assert self.released.wait(DEADLINE)
        if self.outcome is not None and len(self.calls) > 1:
            result = self.outcome(queue, messages)
            if result is not None:
                return result
        return self.inner.send_batch(queue, messages)


def windowed_app(queue, window=0.0, **options):
    app = App(queue=queue, send_window=window, send_concurrency=1, **options)
    app.register_task_handler("t")(lambda n: None)
    return app


def run_callers(app, payloads, outcomes):
    """Call add_task for each payload on a thread of its own; fill {n: id or error}."""

    def call(n):
        try:
            outcomes[n] = app.add_task("t", n=n)
        except Exception as exc:  # noqa: BLE001 - recorded for the test to look at
            outcomes[n] = exc

    threads = [threading.Thread(target=call, args=(n,)) for n in payloads]
    for thread in threads:
        thread.start()
    return threads


def fill_the_window(app, queue, wait_until, count):
    """One caller's task in a call held open, then ``count`` callers waiting behind it."""
    outcomes = {}
    threads = run_callers(app, [-1], outcomes)
    wait_until(lambda: len(queue.calls) == 1, timeout=DEADLINE)
    threads += run_callers(app, range(count), outcomes)
    wait_until(lambda: app._producer.coalescer.pending_count() == count, timeout=DEADLINE)
    return threads, outcomes


def join(threads):
    for thread in threads:
        thread.join(DEADLINE)
        assert not thread.is_alive()


def test_callers_waiting_together_share_one_call_and_each_gets_its_own_id(wait_until):
    queue = GatedQueue()
    app = windowed_app(queue)
    threads, outcomes = fill_the_window(app, queue, wait_until, 10)
    queue.released.set()
    join(threads)

    assert [len(call) for call in queue.calls] == [1, 10]
    ids = [outcomes[n] for n in range(10)]
    assert sorted(ids) == sorted(queue.calls[1])
    assert len(queue.inner.bodies("default")) == 11


def test_a_refused_task_fails_its_own_caller_alone(wait_until):
    queue = GatedQueue()

    def refuse_n_3(name, messages):
        refused = [m for m in messages if '"n": 3' in m.body or '"n":3' in m.body]
        result = queue.inner.send_batch(name, [m for m in messages if m not in refused])
        return SendResult(sent=result.sent, failed={m.id: "InternalError: x" for m in refused})

    queue.outcome = refuse_n_3
    app = windowed_app(queue)
    threads, outcomes = fill_the_window(app, queue, wait_until, 5)
    queue.released.set()
    join(threads)

    error = outcomes[3]
    assert isinstance(error, SendFailed)
    assert error.sent_ids == ()
    assert list(error.failed.values()) == ["InternalError: x"]
    assert "0 of 1 tasks were sent" in str(error)
    assert all(isinstance(outcomes[n], str) for n in (0, 1, 2, 4))


@pytest.mark.parametrize("what", ["unknown", "raises", "queue gone"])
def test_a_call_that_fails_as_a_whole_fails_each_caller_with_its_own_error(wait_until, what):
    queue = GatedQueue()

    def fail(name, messages):
        if what == "unknown":
            return SendResult(unknown=tuple(m.id for m in messages))
        if what == "raises":
            raise RuntimeError("connection reset")
        raise QueueNotFound([name])

    queue.outcome = fail
    app = windowed_app(queue)
    threads, outcomes = fill_the_window(app, queue, wait_until, 3)
    queue.released.set()
    join(threads)

    errors = [outcomes[n] for n in range(3)]
    assert len({id(e) for e in errors}) == 3  # one error object per caller
    if what == "queue gone":
        assert all(isinstance(e, QueueNotFound) for e in errors)
    else:
        assert all(isinstance(e, SendFailed) and len(e.unknown_ids) == 1 for e in errors)
        assert len({e.unknown_ids for e in errors}) == 3


def test_close_sends_what_the_window_holds_and_later_tasks_go_alone(wait_until):
    queue = GatedQueue()
    app = windowed_app(queue, window=MAX_SEND_WINDOW)
    threads, outcomes = fill_the_window(app, queue, wait_until, 4)
    closing = threading.Thread(target=app.close)
    closing.start()
    queue.released.set()
    join([*threads, closing])

    assert app._producer.coalescer.pending_count() == 0
    assert len(queue.inner.bodies("default")) == 5
    assert all(isinstance(outcomes[n], str) for n in range(4))
    task_id = app.add_task("t", n=99)
    assert queue.calls[-1] == [task_id]


def test_a_window_over_the_bound_is_refused():
    with pytest.raises(ConfigurationError, match=r"send_window must be 0 to 0\.1 seconds"):
        App(testing_mode=True, send_window=MAX_SEND_WINDOW * 2)


def test_without_a_window_each_add_task_is_its_own_call():
    queue = GatedQueue()
    queue.released.set()
    app = App(queue=queue)
    app.register_task_handler("t")(lambda n: None)

    app.add_task("t", n=1)
    app.add_task("t", n=2)

    assert app._producer.coalescer is None
    assert [len(call) for call in queue.calls] == [1, 1]


# The pending batch of one queue, with times given: the window's rules without a clock.


def waiting(task_id, since, group=None, size=10):
    message = OutgoingMessage(id=task_id, body="x" * size, group_id=group)
    return _Waiting(message, Future(), since)


def pending_with(items, *, ordered=False):
    pending = _Pending(ordered)
    for item in items:
        pending.items.append(item)
        pending.size += item.message.size()
    return pending


def test_a_batch_is_due_when_its_oldest_task_has_waited_the_window():
    pending = pending_with([waiting("a", since=100.0), waiting("b", since=100.004)])

    assert pending.due_at(window=0.005) == pytest.approx(100.005)


def test_a_full_batch_is_due_at_once():
    ten = pending_with([waiting(str(n), since=100.0) for n in range(10)])
    one_mebibyte = pending_with([waiting("big", since=100.0, size=1_048_576)])

    assert ten.due_at(window=0.1) == float("-inf")
    assert one_mebibyte.due_at(window=0.1) == float("-inf")


def test_a_batch_takes_at_most_ten_in_arrival_order():
    pending = pending_with([waiting(str(n), since=n) for n in range(12)])

    assert [w.message.id for w in pending.take()] == [str(n) for n in range(10)]
    assert [w.message.id for w in pending.items] == ["10", "11"]


def test_a_fifo_batch_passes_over_a_group_in_flight_and_keeps_each_groups_order():
    pending = pending_with(
        [
            waiting("a1", 0, "a"),
            waiting("b1", 1, "b"),
            waiting("a2", 2, "a"),
            waiting("c1", 3, "c"),
        ],
        ordered=True,
    )
    pending.busy = {"b"}

    assert [w.message.id for w in pending.take()] == ["a1", "a2", "c1"]
    pending.busy = set()
    assert [w.message.id for w in pending.take()] == ["b1"]


def test_a_group_left_behind_for_size_is_not_overtaken_by_its_own_later_task():
    pending = pending_with(
        [
            waiting("a1", 0, "a", size=600_000),
            waiting("a2", 1, "a"),
            waiting("a3", 2, "a", size=600_000),
        ],
        ordered=True,
    )

    first = pending.take()

    assert [w.message.id for w in first] == ["a1", "a2"]
    assert [w.message.id for w in pending.items] == ["a3"]


def test_a_cancelled_caller_s_task_is_not_sent():
    kept, cancelled = waiting("kept", 0), waiting("cancelled", 1)
    cancelled.future.cancel()
    pending = pending_with([kept, cancelled])

    assert [w.message.id for w in pending.take()] == ["kept"]


@attrs.define
class RefusingQueue:
    """An in-memory queue that refuses every message of a call."""

    inner: InMemoryQueue = attrs.field(factory=lambda: InMemoryQueue(auto_create=True))

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def send_batch(self, queue, messages):
        return SendResult(failed={m.id: "InternalError: x" for m in messages})


def test_a_large_task_goes_through_the_window_as_a_pointer_and_runs():
    app = App(testing_mode=True, max_message_size=1024, large_payload_bucket="t", send_window=0)
    runs = []
    app.register_task_handler("t")(lambda blob: runs.append(len(blob)))

    app.add_task("t", blob="x" * 4000)
    app.testing_worker().run_all()

    assert runs == [4000]
    assert app.large_payload_store.keys() == []
    app.close()


def test_a_large_task_refused_in_the_window_leaves_no_object(wait_until):
    store = InMemoryPayloadStore("t")
    app = App(
        queue=RefusingQueue(),
        max_message_size=1024,
        large_payload_store=store,
        send_window=0,
    )
    app.register_task_handler("t")(lambda blob: None)

    with pytest.raises(SendFailed):
        app.add_task("t", blob="x" * 4000)

    wait_until(lambda: store.keys() == [], timeout=DEADLINE)  # deleted once the outcome is known
    app.close()
