"""``simple-worker worker`` with ``async def`` handlers, in a real process against moto.

``async_app:app``'s ``nap`` task records its start and end. Waits are bounded polls;
bounds are not measurements (how fast is the benchmark's business).
"""

import signal
from collections import Counter

import pytest

from simple_worker import App


@pytest.fixture
def async_producer(moto_server, prefix):
    """An App with ``async_app``'s task name, to enqueue tasks."""
    app = App(queue_prefix=prefix, sqs_endpoint_url=moto_server)
    app.register_task_handler("nap")(lambda n, sleep=0.05: None)
    return app


def test_a_thousand_async_tasks_each_run_exactly_once(
    create_queue, async_producer, start_cli, records, counts, wait_until
):
    create_queue("default", VisibilityTimeout=30)
    worker = start_cli(
        *("worker", "async_app:app", "--async-concurrency", "100", "--wait-seconds", "1")
    )
    sent = []
    for first in range(0, 1000, 100):
        # At most a few hundred queued at once: moto's calls slow down with the
        # queue's depth (each re-reads every message), and would set the pace.
        wait_until(lambda: sum(counts("default")) < 200, timeout=60, message="the worker to drain")
        sent += async_producer.add_tasks("nap", [{"n": first + n} for n in range(100)])

    wait_until(
        lambda: len(records("end")) >= 1000,
        timeout=120,
        message=lambda: f"1000 tasks to end; {len(records('end'))} did",
    )
    wait_until(lambda: counts("default") == (0, 0), message="every message to be deleted")
    worker.send(signal.SIGTERM)

    assert worker.wait() == 0
    ends = Counter(record["task_id"] for record in records("end"))
    assert ends == Counter(sent)  # each once: none twice, none missing


def test_sigterm_lets_fifty_running_coroutines_finish_deletes_them_and_exits_0(
    create_queue, async_producer, start_cli, records, counts, wait_until
):
    create_queue("default", VisibilityTimeout=30)
    sent = async_producer.add_tasks("nap", [{"n": n, "sleep": 2} for n in range(50)])
    worker = start_cli(
        "worker",
        "async_app:app",
        "--wait-seconds",
        "1",
        env={"SIMPLE_WORKER_ASYNC_CONCURRENCY": "100"},
    )
    wait_until(
        lambda: len(records("start")) == 50,
        message=lambda: f"50 coroutines to start; {len(records('start'))} did",
    )

    worker.send(signal.SIGTERM)

    assert worker.wait() == 0
    assert sorted(record["task_id"] for record in records("end")) == sorted(sent)
    assert counts("default") == (0, 0)
    assert "Worker stopped" in worker.stderr()
