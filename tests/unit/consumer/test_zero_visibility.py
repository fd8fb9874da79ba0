"""A queue whose VisibilityTimeout is 0: the worker holds its messages with a default of 30 s."""

import threading

from simple_worker import App
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.ports.queue import DEFAULT_RECEIVE_VISIBILITY as DEFAULT_VISIBILITY_TIMEOUT
from simple_worker.testing.clock import FakeClock


class Recording:
    """Records the options of every receive and the timeouts of every visibility change."""

    def __init__(self, inner):
        self.inner = inner
        self.lock = threading.Lock()
        self.receive_options = []
        self.changes = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def receive_batch(self, queue, **options):
        with self.lock:
            self.receive_options.append(options)
        return self.inner.receive_batch(queue, **options)

    def change_visibility_batch(self, queue, changes):
        with self.lock:
            self.changes += [change.timeout for change in changes]
        return self.inner.change_visibility_batch(queue, changes)


def test_ten_tasks_on_a_queue_whose_visibility_timeout_is_0_all_run_exactly_once(
    wait_until, worker_running
):
    memory = InMemoryQueue()
    memory.create_queue("zero", visibility_timeout=0)
    recording = Recording(memory)
    app = App(queue=recording)
    runs = []
    app.register_task_handler("t", queue="zero")(lambda n: runs.append(n))
    app.add_tasks("t", [{"n": n} for n in range(10)])

    with worker_running(app.worker(threads=2, wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 10)

    assert sorted(runs) == list(range(10))
    assert worker.counts["expired"] == 0
    assert memory.bodies("zero") == []
    assert {o.get("visibility_timeout") for o in recording.receive_options} == {30}


def test_a_queue_with_its_own_visibility_timeout_is_received_with_it():
    memory = InMemoryQueue()
    memory.create_queue("own", visibility_timeout=45)
    recording = Recording(memory)
    app = App(queue=recording)
    app.register_task_handler("t", queue="own")(lambda: None)
    app.add_task("t")

    worker = app.worker(wait_seconds=0)
    thread = threading.Thread(target=worker.start)
    thread.start()
    try:
        while not worker.counts["succeeded"]:
            thread.join(0.01)
    finally:
        worker.stop()
        thread.join(10)

    assert all("visibility_timeout" not in o for o in recording.receive_options)


def test_the_heartbeat_extends_a_zero_visibility_queues_running_task_by_the_default(
    wait_until, worker_running
):
    clock = FakeClock()
    memory = InMemoryQueue(clock)
    memory.create_queue("zero", visibility_timeout=0)
    recording = Recording(memory)
    app = App(queue=recording, clock=clock)
    started, release = threading.Event(), threading.Event()

    @app.register_task_handler("long", queue="zero")
    def long_task():
        started.set()
        release.wait(10)

    app.add_task("long")
    with worker_running(app.worker(wait_seconds=1)) as worker:
        assert started.wait(5)
        clock.advance(DEFAULT_VISIBILITY_TIMEOUT / 2 + 1)  # past half the default
        wait_until(lambda: recording.changes)
        clock.advance(DEFAULT_VISIBILITY_TIMEOUT / 2)  # past the receive's own 30 s
        hidden = memory.stats("zero")
        release.set()
        wait_until(lambda: worker.counts["succeeded"] == 1)

    assert set(recording.changes) == {DEFAULT_VISIBILITY_TIMEOUT}
    assert (hidden.visible, hidden.in_flight) == (0, 1)
    assert memory.bodies("zero") == []
