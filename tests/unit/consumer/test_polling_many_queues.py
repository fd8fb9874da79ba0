"""Every queue is long-polled, however many queues share the worker's buffer."""

import math
import re
import threading
import time
from collections import Counter
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simple_worker import App, ConfigurationError
from simple_worker.adapters.memory._queue import InMemoryQueue


class ReceiveLog:
    """Records which queue each receive call was for, in front of an in-memory queue."""

    def __init__(self, inner):
        self.inner = inner
        self.lock = threading.Lock()
        self.receives = {}

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def receive_batch(self, queue, **options):
        with self.lock:
            self.receives[queue] = self.receives.get(queue, 0) + 1
        return self.inner.receive_batch(queue, **options)

    def count(self, queue):
        with self.lock:
            return self.receives.get(queue, 0)


def test_three_queues_with_the_default_buffer_are_all_polled_and_the_last_ones_task_runs(
    wait_until, worker_running
):
    # The bug: each queue's long poll booked ten places of a 20-place buffer for its
    # whole wait, so the third queue never got room to poll, and its tasks never ran.
    memory = InMemoryQueue()
    for name in ("a", "b", "c"):
        memory.create_queue(name)
    log = ReceiveLog(memory)
    app = App(queue=log)
    ran = threading.Event()
    app.register_task_handler("on_a", queue="a")(lambda: None)
    app.register_task_handler("on_b", queue="b")(lambda: None)
    app.register_task_handler("on_c", queue="c")(ran.set)

    with worker_running(app.worker(wait_seconds=20)):
        wait_until(lambda: all(log.count(name) >= 1 for name in "abc"), timeout=5)
        time.sleep(0.2)  # every lead receiver is now in its 20-second long poll
        app.add_task("on_c")
        assert ran.wait(5), "the task on the third queue did not run"


def test_a_message_on_the_last_of_twelve_queues_with_a_one_place_buffer_runs(
    wait_until, worker_running
):
    memory = InMemoryQueue()
    names = [f"q{n}" for n in range(12)]
    for name in names:
        memory.create_queue(name)
    app = App(queue=memory)
    ran = threading.Event()
    for name in names[:-1]:
        app.register_task_handler(f"on_{name}", queue=name)(lambda: None)
    app.register_task_handler("last", queue=names[-1])(ran.set)

    with worker_running(app.worker(wait_seconds=20, buffer_size=1)):
        time.sleep(0.3)  # every lead receiver is now in its long poll
        app.add_task("last")
        assert ran.wait(5), "the task on the last queue did not run"


# --- the model: any number of queues, threads, buffer sizes and weights ----------------------
#
# What the worker must do, whatever its configuration: every queue is long-polled, about
# once per wait_seconds while idle; every task runs exactly once. Each case runs a real
# threaded worker on the in-memory queue for about two seconds, 1.5 of them idle, to
# count receives. Tolerance: at wait_seconds=1, over a 1.5-second idle window each queue
# gets 1 to 3 receive calls (1.5 expected, give or take a call at either edge); more
# would be polling that does not wait, none a queue that is not polled.

WAIT_SECONDS = 1
IDLE_WINDOW = 1.5


def run_model(queues, threads, buffer_size, weights, tasks_per_queue=4):
    """Run a worker in the configuration; check the model; return the runs by (queue, n)."""
    memory = InMemoryQueue()
    names = [f"q{n}" for n in range(queues)]
    for name in names:
        memory.create_queue(name)
    log = ReceiveLog(memory)
    app = App(queue=log)
    runs = Counter()
    lock = threading.Lock()

    def handler_of(name):
        def record(n):
            with lock:
                runs[name, n] += 1

        return record

    for name in names:
        app.register_task_handler(f"task-{name}", queue=name)(handler_of(name))
    worker = app.worker(
        threads=threads,
        wait_seconds=WAIT_SECONDS,
        buffer_size=buffer_size,
        queue_weights=weights,
    )
    expected = Counter({(name, n): 1 for name in names for n in range(tasks_per_queue)})
    with pytest.MonkeyPatch.context() as patch, run_in_thread(worker):
        patch.setattr("simple_worker.consumer._worker._TICK", 0.05)  # a quicker stop
        poll_until(lambda: all(log.count(name) for name in names), "every queue to be polled")
        before = {name: log.count(name) for name in names}
        time.sleep(IDLE_WINDOW)
        idle = {name: log.count(name) - before[name] for name in names}
        for name in reversed(names):  # the last queue first
            app.add_tasks(f"task-{name}", [{"n": n} for n in range(tasks_per_queue)])
        poll_until(lambda: sum(runs.values()) >= expected.total(), "every task to run")

    assert runs == expected, "a task was lost or ran twice"
    assert all(memory.bodies(name) == [] for name in names), "a message was not deleted at stop"
    most = math.ceil(IDLE_WINDOW / WAIT_SECONDS) + 1
    assert all(1 <= calls <= most for calls in idle.values()), f"idle receives: {idle}"
    return runs


def poll_until(predicate, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@contextmanager
def run_in_thread(worker):
    thread = threading.Thread(target=worker.start)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(10)
        assert not thread.is_alive(), "the worker did not stop"


def weights_for(queues, pattern):
    """Weights 3, 1, 2, 1, 3, ... on the first queues (``pattern`` long), none on the rest."""
    cycle = (3, 1, 2)
    return {f"q{n}": cycle[n % len(cycle)] for n in range(min(queues, pattern))}


# A subset of queues (1, 2, 3, 6, 12) x threads (1, 2, 4, 16) x buffer (default, 1, 3) x
# weights (none, some): each value of each axis at least twice, the extremes together
# (12 queues with a one-place buffer and one thread; 12 queues and 16 threads), and the
# bug's own case (3 queues, 1 thread, the default buffer).
CASES = [
    (1, 1, None, False),
    (1, 16, 1, True),
    (2, 2, 3, True),
    (2, 16, None, False),
    (3, 1, None, False),
    (3, 4, 1, True),
    (6, 1, 3, False),
    (6, 16, 1, True),
    (12, 1, 1, False),
    (12, 4, None, True),
    (12, 16, 3, False),
]


@pytest.mark.parametrize(
    ("queues", "threads", "buffer_size", "weighted"),
    CASES,
    ids=[f"{q}q-{t}t-buffer{b or 'default'}{'-weighted' if w else ''}" for q, t, b, w in CASES],
)
def test_every_queue_is_polled_and_every_task_runs_once(queues, threads, buffer_size, weighted):
    run_model(queues, threads, buffer_size, weights_for(queues, 4) if weighted else None)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
@given(
    queues=st.integers(1, 12),
    threads=st.sampled_from((1, 2, 4, 16)),
    buffer_size=st.one_of(st.none(), st.integers(1, 5)),
    weights=st.lists(st.integers(1, 5), max_size=12),
    tasks_per_queue=st.integers(0, 6),
)
def test_any_configuration_polls_every_queue_and_runs_every_task_once(
    queues, threads, buffer_size, weights, tasks_per_queue
):
    given_weights = {f"q{n}": weight for n, weight in enumerate(weights[:queues])}
    run_model(queues, threads, buffer_size, given_weights, tasks_per_queue)


# --- weights -----------------------------------------------------------------------------


def test_with_weights_three_to_one_the_heavy_queue_gets_three_runs_in_four_under_backlog(
    worker_running,
):
    memory = InMemoryQueue()
    for name in ("high", "low"):
        memory.create_queue(name)
    app = App(queue=memory)
    order = []
    app.register_task_handler("h", queue="high")(lambda: (order.append("high"), time.sleep(0.002)))
    app.register_task_handler("l", queue="low")(lambda: (order.append("low"), time.sleep(0.002)))
    app.add_tasks("h", [{}] * 60)
    app.add_tasks("l", [{}] * 60)

    worker = app.worker(threads=1, wait_seconds=1, queue_weights={"high": 3, "low": 1})
    with worker_running(worker):
        poll_until(lambda: len(order) >= 40, "40 runs")

    # Both queues still had a backlog over the first 40 runs (60 tasks each).
    share = order[:40].count("high") / 40
    assert 0.65 <= share <= 0.85, f"high ran {share:.0%} of the first 40 tasks"


def test_without_weights_queues_with_work_take_turns():
    order = []
    memory = InMemoryQueue()
    for name in ("a", "b"):
        memory.create_queue(name)
    app = App(queue=memory)
    app.register_task_handler("on_a", queue="a")(lambda: (order.append("a"), time.sleep(0.002)))
    app.register_task_handler("on_b", queue="b")(lambda: (order.append("b"), time.sleep(0.002)))
    app.add_tasks("on_a", [{}] * 30)
    app.add_tasks("on_b", [{}] * 30)

    with run_in_thread(app.worker(threads=1, wait_seconds=1)):
        poll_until(lambda: len(order) >= 20, "20 runs")

    assert 8 <= order[:20].count("a") <= 12


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"nowhere": 2}, "queue_weights names queues the worker does not consume: p-nowhere"),
        ({"high": 0}, "The weight of queue p-high must be a whole number of at least 1; got 0"),
        ({"high": 1.5}, "got 1.5"),
        ({"high": True}, "got True"),
    ],
)
def test_weights_of_unknown_queues_or_below_one_are_refused(weights, message):
    app = App(queue_prefix="p-", testing_mode=True)
    app.register_task_handler("t", queue="high")(lambda: None)

    with pytest.raises(ConfigurationError, match=re.escape(message)):
        app.worker(queue_weights=weights)


def test_weights_name_queues_without_the_prefix_like_queue_names():
    app = App(queue_prefix="p-", testing_mode=True)
    app.register_task_handler("t", queue="high")(lambda: None)
    app.register_task_handler("u", queue="low")(lambda: None)

    worker = app.worker(["high", "low"], queue_weights={"high": 3})

    assert worker.options.weights(worker.queue_names) == {"p-high": 3, "p-low": 1}
