"""The receive side of the SQS bill: receive calls, empty ones, messages; logged at stop."""

import logging
import threading

from simple_worker import App
from simple_worker.adapters.memory._queue import InMemoryQueue


class CountingQueue:
    """Counts the receive calls and what they returned, next to the worker's own counts."""

    def __init__(self, inner):
        self.inner = inner
        self.lock = threading.Lock()
        self.receives = self.empty = self.messages = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def receive_batch(self, queue, **kwargs):
        messages = self.inner.receive_batch(queue, **kwargs)
        with self.lock:
            self.receives += 1
            self.empty += not messages
            self.messages += len(messages)
        return messages


def test_the_worker_counts_receives_empty_receives_and_messages_and_logs_them_at_stop(
    caplog, wait_until
):
    memory = InMemoryQueue()
    memory.create_queue("default", visibility_timeout=30)
    counting = CountingQueue(memory)
    app = App(queue=counting)
    app.register_task_handler("t")(lambda n: None)
    app.add_tasks("t", [{"n": n} for n in range(25)])
    caplog.set_level(logging.INFO, logger="simple_worker")

    worker = app.worker(wait_seconds=0)
    thread = threading.Thread(target=worker.start)
    thread.start()
    try:
        wait_until(lambda: worker.counts["succeeded"] == 25)
        wait_until(lambda: worker.receive_counts()["empty_receives"] >= 2)
    finally:
        worker.stop()
        thread.join(10)

    # A receive under way at the stop may end after it: both sides agree once it has.
    wait_until(
        lambda: (
            worker.receive_counts()
            == {
                "receives": counting.receives,
                "empty_receives": counting.empty,
                "messages_received": counting.messages,
            }
        )
    )
    assert worker.receive_counts()["messages_received"] == 25
    [stopped] = [r for r in caplog.records if r.getMessage() == "Worker stopped"]
    assert stopped.messages_received == 25
    assert stopped.receives >= 3  # at most ten messages per receive
    assert stopped.empty_receives >= 2


def test_a_worker_that_never_ran_has_counted_nothing():
    app = App(testing_mode=True)
    app.register_task_handler("t")(lambda: None)

    assert app.worker().receive_counts() == {
        "receives": 0,
        "empty_receives": 0,
        "messages_received": 0,
    }


def test_stopping_is_true_from_the_stop_request_on():
    app = App(testing_mode=True)
    app.register_task_handler("t")(lambda: None)
    worker = app.worker()

    assert worker.stopping is False
    worker.stop()
    assert worker.stopping is True
