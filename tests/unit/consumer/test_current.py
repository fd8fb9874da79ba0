import threading

import pytest

from simple_worker import App, current_task
from simple_worker.testing.clock import FakeClock


def test_a_handler_reads_its_task_id_queue_receive_count_and_enqueue_time():
    clock = FakeClock()
    app = App(queue_prefix="shop-", testing_mode=True, clock=clock)
    seen = []

    @app.register_task_handler("charge")
    def charge(order_id):
        task = current_task()
        seen.append(
            (
                task.id,
                task.name,
                task.payload,
                task.enqueued_at,
                task.delivery.queue,
                task.delivery.receive_count,
            )
        )

    task_id = app.add_task("charge", order_id=5)
    app.testing_worker().run_all()

    assert seen == [(task_id, "charge", {"order_id": 5}, clock.now(), "shop-default", 1)]


def test_the_receive_count_says_which_attempt_this_is():
    clock = FakeClock()
    app = App(testing_mode=True, clock=clock)
    attempts = []

    @app.register_task_handler("flaky")
    def flaky():
        attempts.append(current_task().delivery.receive_count)
        if len(attempts) < 2:
            raise RuntimeError("first attempt fails")

    app.add_task("flaky")
    worker = app.testing_worker()
    worker.run_all(raise_errors=False)
    clock.advance(30)  # the in-memory queue's visibility timeout
    worker.run_all()

    assert attempts == [1, 2]


def test_outside_a_handler_there_is_no_current_task():
    with pytest.raises(RuntimeError, match="only available inside a task handler"):
        current_task()


def test_the_current_task_is_gone_after_the_handler_and_not_seen_by_its_threads():
    app = App(testing_mode=True)
    from_thread = []

    @app.register_task_handler("spawn")
    def spawn():
        def look():
            try:
                current_task()
            except RuntimeError:
                from_thread.append("none")

        thread = threading.Thread(target=look)
        thread.start()
        thread.join()

    app.add_task("spawn")
    app.testing_worker().run_all()

    assert from_thread == ["none"]
    with pytest.raises(RuntimeError):
        current_task()
