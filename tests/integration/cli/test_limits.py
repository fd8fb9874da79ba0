"""Time and concurrency limits in real worker processes, on moto.

Real processes, real signals, moto over HTTP. Waits are bounded polls for a
condition; nothing asserts on time.
"""

import signal

import pytest

from simple_worker import App


@pytest.fixture
def producer(moto_server, prefix):
    """An App with the prefix and ``limits_app``'s task names, to enqueue tasks."""
    app = App(queue_prefix=prefix, sqs_endpoint_url=moto_server)
    for name in ("spin", "wait_forever", "hung", "quick", "limited"):
        app.register_task_handler(name)(lambda n: None)
    return app


@pytest.mark.parametrize("task", ["spin", "wait_forever"])  # a sync loop, a coroutine
def test_a_task_that_never_ends_fails_at_its_limit_and_is_dead_lettered_while_others_run(
    create_queue, start_cli, records, counts, wait_until, producer, task
):
    create_queue("default", max_receive_count=2, VisibilityTimeout=30)
    producer.add_task(task, n=0)
    worker = start_cli(
        "worker", "limits_app:app", "--threads", "2", "--wait-seconds", "1",
        "--retry-intervals", "0",
    )  # fmt: skip
    wait_until(lambda: records(task), message=lambda: f"the {task} task; log:\n{worker.stderr()}")
    producer.add_tasks("quick", [{"n": n} for n in range(10)])
    wait_until(lambda: len(records("end")) == 10, message="the quick tasks to run meanwhile")
    wait_until(
        lambda: counts("default-dlq")[0] == 1,
        message=lambda: f"the {task} task in the dead-letter queue; log:\n{worker.stderr()}",
    )
    worker.send(signal.SIGTERM)

    assert worker.wait() == 0
    assert [r["receive"] for r in records(task)] == [1, 2]  # redelivered once, then moved
    log = worker.stderr()
    assert log.count(f"Task {task} passed its time limit of 2 s: interrupting it") == 2
    assert "TaskTimeLimitExceeded" in log
    assert counts("default") == (0, 0)


def test_a_task_stuck_past_the_hard_limit_gets_its_process_replaced_and_nothing_is_lost(
    create_queue, start_cli, records, wait_until, producer
):
    create_queue("default", VisibilityTimeout=3)
    producer.add_task("hung", n=0)
    supervisor = start_cli(
        "worker", "limits_app:app", "--processes", "2", "--threads", "2", "--wait-seconds", "1"
    )
    wait_until(lambda: records("hung"), message=lambda: f"the hung task; {supervisor.stderr()}")
    producer.add_tasks("quick", [{"n": n} for n in range(20)])
    wait_until(
        lambda: len(records("end")) == 21,
        timeout=60,
        message=lambda: f"every task to end; log:\n{supervisor.stderr()}",
    )
    log = supervisor.stderr()
    assert "Task hung still running 6 s after it started, past the hard time limit" in log
    assert "exited unexpectedly (status 3)" in log
    supervisor.send(signal.SIGTERM)

    assert supervisor.wait() == 0
    ends = records("end")
    assert sorted(r["n"] for r in ends if r["task"] == "quick") == list(range(20))
    assert [r["receive"] for r in records("hung")] == [1, 2]
    assert supervisor.stderr().count("Started worker process") == 3  # one restart


def test_max_concurrency_2_with_8_threads_keeps_2_at_once_while_the_others_run(
    create_queue, start_cli, records, wait_until, producer
):
    create_queue("default", VisibilityTimeout=30)
    for first in range(0, 50, 5):  # one backlog, mixed five by five
        for task in ("limited", "quick"):
            producer.add_tasks(task, [{"n": n} for n in range(first, first + 5)])
    worker = start_cli("worker", "limits_app:app", "--threads", "8", "--wait-seconds", "1")
    wait_until(
        lambda: len(records("end")) == 100,
        timeout=60,
        message=lambda: f"every task to end; log:\n{worker.stderr()}",
    )
    worker.send(signal.SIGTERM)

    assert worker.wait() == 0
    starts = records("start")
    assert max(r["running"] for r in starts) <= 2
    ends = records("end")
    for task in ("limited", "quick"):
        assert sorted(r["n"] for r in ends if r["task"] == task) == list(range(50))  # once each
    order = [r["task"] for r in ends]
    last_quick = max(i for i, task in enumerate(order) if task == "quick")
    assert order[:last_quick].count("limited") < 50  # the others did not wait for them
