"""max_concurrency in the threaded worker and the testing worker, on in-memory queues."""

import threading
import time
from collections import Counter

from simple_worker import App
from simple_worker.adapters.memory._queue import InMemoryQueue


class Gauge:
    """Records how many handlers of a name run at once, and the most ever."""

    def __init__(self):
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __enter__(self):
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc):
        with self._lock:
            self.now -= 1


def test_at_most_n_limited_tasks_run_at_once_while_others_flow_on_several_queues(
    wait_until, worker_running
):
    memory = InMemoryQueue()
    memory.create_queue("default")
    memory.create_queue("other")
    app = App(queue=memory)
    gauge = Gauge()
    runs = Counter()
    limited_done_when_others_done = []

    @app.register_task_handler("limited", max_concurrency=2)
    def limited(n):
        with gauge:
            runs["limited", n] += 1
            time.sleep(0.02)

    @app.register_task_handler("quick")
    def quick(n):
        runs["quick", n] += 1
        if sum(1 for key in runs if key[0] == "quick") == 50:
            limited_done_when_others_done.append(sum(1 for k in runs if k[0] == "limited"))

    app.register_task_handler("elsewhere", queue="other")(lambda n: runs.update([("else", n)]))
    for n in range(50):  # mixed on one queue, as a backlog would be
        app.add_task("limited", n=n)
        app.add_task("quick", n=n)
    app.add_tasks("elsewhere", [{"n": n} for n in range(20)])

    with worker_running(app.worker(threads=8, wait_seconds=0), timeout=30) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 120, timeout=60)

    assert gauge.most == 2
    assert set(runs.values()) == {1}  # none ran twice
    assert len(runs) == 120
    assert limited_done_when_others_done[0] < 50  # the others did not wait for them


def test_async_tasks_keep_their_limit_on_the_event_loop(wait_until, worker_running):
    import asyncio  # noqa: PLC0415 - this test only

    memory = InMemoryQueue()
    memory.create_queue("default")
    app = App(queue=memory)
    gauge = Gauge()
    runs = Counter()

    @app.register_task_handler("limited", max_concurrency=3)
    async def limited(n):
        with gauge:
            runs["limited", n] += 1
            await asyncio.sleep(0.02)

    @app.register_task_handler("quick")
    async def quick(n):
        runs["quick", n] += 1

    for n in range(30):
        app.add_task("limited", n=n)
        app.add_task("quick", n=n)

    worker = app.worker(threads=2, async_concurrency=20, wait_seconds=0)
    with worker_running(worker, timeout=30):
        wait_until(lambda: worker.counts["succeeded"] == 60, timeout=60)

    assert gauge.most == 3  # 20 coroutines at once, but 3 of this task
    assert set(runs.values()) == {1}
    assert len(runs) == 60


def test_the_testing_worker_runs_limited_tasks_one_at_a_time():
    app = App(testing_mode=True)
    ran = []
    app.register_task_handler("limited", max_concurrency=1)(lambda n: ran.append(n))
    app.add_tasks("limited", [{"n": n} for n in range(3)])
    app.testing_worker().run_all()
    assert sorted(ran) == [0, 1, 2]
