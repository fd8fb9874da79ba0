"""Many queues, weights and a zero visibility timeout, in real worker processes on moto.

DESIGN.md section 4: every queue is polled, and a message waiting on any of them
starts without waiting behind another queue's long poll; optional weights give a
queue a larger share when several have work. Waits are bounded polls; the one
share asserted comes with its tolerance.
"""

from __future__ import annotations

from collections import Counter

import pytest

# As worker_support.RECEIVE_REQUESTS: botocore's line, or the adapter's for a direct call.
RECEIVE_REQUESTS = (
    "Making request for OperationModel(name=ReceiveMessage)",
    "Making request for ReceiveMessage directly",
)


def receive_calls(worker, queue):
    """How many ReceiveMessage calls the worker has made on ``queue`` (it logs each one)."""
    return sum(
        1
        for line in worker.log().splitlines()
        if any(request in line for request in RECEIVE_REQUESTS) and f'/{queue}"' in line
    )


@pytest.mark.parametrize("queues", [3, 6])
def test_with_every_queue_empty_a_task_on_the_last_queue_runs_within_seconds(
    queues, prefix, create_queue, producer, start_worker, records, wait_until
):
    names = [f"q{index}" for index in range(queues)]
    for name in names:
        create_queue(name)
    # One thread and the default buffer: before the fix, the first two queues' long
    # polls booked the whole buffer, and the third queue was never polled.
    worker = start_worker(
        queues=names, numbered_queues=queues, wait_seconds=20, log_sqs_requests=True
    )

    def polled():
        return {name: receive_calls(worker, prefix + name) for name in names}

    wait_until(
        lambda: all(polled().values()),
        timeout=5,
        message=lambda: f"a long poll on each of the {queues} queues: {polled()}",
    )

    producer.add_task(f"record_{queues - 1}", n=1)

    wait_until(lambda: records("end"), timeout=5, message="the task on the last queue to run")
    assert [(r["task"], r["n"]) for r in records("end")] == [(f"record_{queues - 1}", 1)]
    assert worker.stop() == 0


def test_with_weights_three_to_one_the_heavy_queue_runs_three_tasks_in_four_under_backlog(
    create_queue, producer, start_worker, records, wait_until
):
    # Tolerance: of the first 40 runs, while both queues still have a backlog (60 tasks
    # each), the heavy queue's share is 0.75 +- 0.1: turns go heavy, heavy, light,
    # heavy, and the light queue's buffer may run dry for a round trip now and then.
    create_queue("default")
    create_queue("other")
    producer.add_tasks("record", [{"n": n} for n in range(60)])
    producer.add_tasks("record_other", [{"n": n} for n in range(60)])

    worker = start_worker(queues=["default=3", "other=1"], threads=1, handler_sleep=0.05)
    wait_until(
        lambda: len(records("start")) >= 40,
        message=lambda: f"40 tasks to start; {len(records('start'))} did",
    )

    assert worker.stop() == 0
    first = [record["task"] for record in records("start")][:40]
    share = first.count("record") / len(first)
    assert 0.65 <= share <= 0.85, f"the heavy queue ran {share:.0%} of the first 40 tasks"


def test_ten_tasks_on_a_queue_whose_visibility_timeout_is_0_all_run_exactly_once(
    create_queue, producer, start_worker, records, wait_until
):
    queue = create_queue("default", VisibilityTimeout=0)
    producer.add_tasks("record", [{"n": n} for n in range(10)])

    worker = start_worker(queues=["default"], threads=2)
    wait_until(
        lambda: len(records("end")) >= 10,
        message=lambda: f"10 tasks to run; {len(records('end'))} did",
    )
    wait_until(lambda: queue.counts() == (0, 0), message=lambda: f"deletes: {queue.counts()}")

    assert worker.stop() == 0
    assert Counter(r["n"] for r in records("start")) == Counter(range(10))
