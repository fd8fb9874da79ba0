"""add_tasks with several SendMessageBatch calls in flight: bounds, fates, FIFO order."""

import threading

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simple_worker import App, ConfigurationError, QueueNotFound, SendFailed
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.ports.queue import SendResult
from simple_worker.producer._in_flight import GROUP_HELD_BACK, NOT_ATTEMPTED

DEADLINE = 30  # seconds a test waits on a condition before it fails; never reached when green


@attrs.define
class RecordingQueue:
    """An in-memory queue that records each send_batch call and how many ran at once."""

    inner: InMemoryQueue = attrs.field(factory=lambda: InMemoryQueue(auto_create=True))
    fail: object = None  # called with (call number, messages): a SendResult, or raises; None: send
    gate: threading.Barrier | None = None
    calls: list[list[str]] = attrs.field(factory=list)
    running: int = 0
    most_running: int = 0
    groups_in_flight: set[str] = attrs.field(factory=set)
    overlapping_groups: list[str] = attrs.field(factory=list)
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def send_batch(self, queue, messages):
        groups = {m.group_id for m in messages if m.group_id}
        with self.lock:
            number = len(self.calls)
            self.calls.append([m.id for m in messages])
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            self.overlapping_groups.extend(groups & self.groups_in_flight)
            self.groups_in_flight |= groups
        try:
            if self.gate is not None:
                self.gate.wait(DEADLINE)
            if self.fail is not None:
                outcome = self.fail(number, messages)
                if outcome is not None:
                    return outcome
            return self.inner.send_batch(queue, messages)
        finally:
            with self.lock:
                self.running -= 1
                self.groups_in_flight -= groups


def make_app(queue, *, concurrency=8, fifo=False):
    app = App(queue=queue, send_concurrency=concurrency)
    if fifo:
        app.register_task_handler("t", queue="jobs.fifo", group_by="g")(lambda g, n: None)
    else:
        app.register_task_handler("t")(lambda n: None)
    return app


@pytest.mark.parametrize("concurrency", [1, 4])
def test_add_tasks_keeps_exactly_send_concurrency_calls_in_flight(concurrency):
    # A barrier of `concurrency` parties lets calls finish only in full rounds: if the
    # producer kept fewer in flight it would hang (and fail at the deadline); more, and
    # the recorded maximum shows it.
    queue = RecordingQueue(gate=threading.Barrier(concurrency))
    app = make_app(queue, concurrency=concurrency)

    ids = app.add_tasks("t", [{"n": n} for n in range(30 * concurrency)])

    assert queue.most_running == concurrency
    assert len(queue.calls) == 3 * concurrency
    assert sorted([i for call in queue.calls for i in call]) == sorted(ids)
    assert len(queue.inner.bodies("default")) == len(ids)


def test_a_small_add_tasks_is_one_call_on_the_callers_thread():
    queue = RecordingQueue()
    app = make_app(queue)
    thread_names = []
    queue.fail = lambda number, messages: thread_names.append(threading.current_thread().name)

    app.add_tasks("t", [{"n": n} for n in range(10)])

    assert thread_names == [threading.current_thread().name]


def fates(error, ids):
    sent, failed, unknown = set(error.sent_ids), set(error.failed), set(error.unknown_ids)
    assert len(sent) + len(failed) + len(unknown) == len(set(ids))
    assert sent | failed | unknown == set(ids)
    return sent, failed, unknown


class PartialRefusal:
    """Refuses the third and fifth message of every call, sends the rest."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, number, messages):
        refused = {m.id for m in messages[2:5:2]}
        accepted = [m for m in messages if m.id not in refused]
        result = self.inner.send_batch("default", accepted)
        return SendResult(sent=result.sent, failed=dict.fromkeys(refused, "InternalError: x"))


def test_entries_refused_alone_fail_alone_and_the_other_calls_go_on():
    queue = RecordingQueue()
    queue.fail = PartialRefusal(queue.inner)
    app = make_app(queue, concurrency=4)
    payloads = [{"n": n} for n in range(100)]

    with pytest.raises(SendFailed) as raised:
        app.add_tasks("t", payloads)

    sent, failed, unknown = fates(raised.value, [i for call in queue.calls for i in call])
    assert len(queue.calls) == 10
    assert (len(sent), len(failed), unknown) == (80, 20, set())
    assert len(queue.inner.bodies("default")) == 80


@pytest.mark.parametrize(
    ("what", "reason"),
    [
        ("refused", "AccessDenied: no"),
        ("unknown", None),
        ("raises", None),
        ("queue gone", "QueueNotFound"),
    ],
)
@pytest.mark.parametrize("concurrency", [1, 2])
def test_a_failed_call_stops_the_send_and_every_task_is_reported_once(what, reason, concurrency):
    queue = RecordingQueue()

    def fail_third_call(number, messages):
        if number != 2:
            return None
        ids = [m.id for m in messages]
        if what == "refused":
            return SendResult(failed=dict.fromkeys(ids, "AccessDenied: no"))
        if what == "unknown":
            return SendResult(unknown=tuple(ids))
        if what == "raises":
            raise RuntimeError("connection reset")
        raise QueueNotFound(["default"])

    queue.fail = fail_third_call
    app = make_app(queue, concurrency=concurrency)
    payloads = [{"n": n} for n in range(200)]

    with pytest.raises(SendFailed) as raised:
        app.add_tasks("t", payloads)

    error = raised.value
    all_ids = [*error.sent_ids, *error.failed, *error.unknown_ids]
    assert len(all_ids) == 200
    sent, failed, unknown = fates(error, all_ids)
    third = set(queue.calls[2])
    if concurrency == 1:
        assert len(queue.calls) == 3  # stopped at the failed call
    assert sent == {i for call in queue.calls for i in call} - third
    assert len(queue.inner.bodies("default")) == len(sent)
    if reason is None:
        assert unknown == third
    else:
        assert {error.failed[i].split(":")[0] for i in third} == {reason.split(":")[0]}
    # With two threads, how many calls the other one made before the stop depends on timing.
    assert all(error.failed[i] == NOT_ATTEMPTED for i in failed - third)
    assert len(failed - third) == 200 - len(queue.calls) * 10


def test_a_call_that_raises_before_anything_was_sent_raises_as_the_port_did():
    queue = RecordingQueue()

    def gone(number, messages):
        raise QueueNotFound(["default"])

    queue.fail = gone
    app = make_app(queue, concurrency=1)

    with pytest.raises(QueueNotFound):
        app.add_tasks("t", [{"n": n} for n in range(30)])
    assert len(queue.calls) == 1


group_layouts = st.lists(st.sampled_from("abcde"), min_size=1, max_size=60)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups=group_layouts, concurrency=st.integers(1, 6))
def test_fifo_batches_of_one_group_are_never_in_flight_together_nor_reordered(groups, concurrency):
    queue = RecordingQueue()
    app = make_app(queue, concurrency=concurrency, fifo=True)
    payloads = [{"g": g, "n": n} for n, g in enumerate(groups)]

    ids = app.add_tasks("t", payloads)

    assert queue.overlapping_groups == []
    order = {task_id: n for n, task_id in enumerate(ids)}
    sent = [order[i] for call in queue.calls for i in call]
    for group in set(groups):
        of_group = [n for n in sent if groups[n] == group]
        assert of_group == sorted(of_group)
    assert len(queue.inner.bodies("jobs.fifo")) == len(groups)


def test_a_fifo_groups_later_tasks_are_held_back_once_one_of_its_tasks_failed():
    queue = RecordingQueue()
    groups = ["a", "b"] * 15  # three batches, each with both groups

    def refuse_first_a(number, messages):
        if number != 0:
            return None
        refused = messages[0].id  # the first task of group "a"
        result = queue.inner.send_batch("jobs.fifo", messages[1:])
        return SendResult(sent=result.sent, failed={refused: "InternalError: x"})

    queue.fail = refuse_first_a
    app = make_app(queue, concurrency=3, fifo=True)

    with pytest.raises(SendFailed) as raised:
        app.add_tasks("t", [{"g": g, "n": n} for n, g in enumerate(groups)])

    error = raised.value
    assert len(error.sent_ids) == 15 + 4  # every "b", and the "a"s of the first call
    assert list(error.failed.values()).count(GROUP_HELD_BACK) == 10
    assert error.unknown_ids == ()


@pytest.mark.parametrize("concurrency", [0, 65, True])
def test_send_concurrency_out_of_range_is_refused(concurrency):
    with pytest.raises(ConfigurationError, match="send_concurrency must be 1 to 64"):
        App(testing_mode=True, send_concurrency=concurrency)
