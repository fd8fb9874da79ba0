"""Real worker processes (``app_main.py``) with real signals, against moto over HTTP.

DESIGN.md section 4: what a worker does with tasks, failures, messages that
cannot run, long tasks and signals, seen from outside the process: its exit
status, its records, its log and the queues. Waits are bounded polls for a
condition; nothing asserts on time.
"""

from __future__ import annotations

import json
import signal
from collections import Counter

import pytest

POISON_BODIES = {
    "not JSON": "this is not JSON",
    "a JSON array": "[1, 2, 3]",
    "JSON that is not an envelope": '{"hello": "world"}',
    "an unknown task name": '{"task_name": "no_such_task", "task_payload": {"n": 1}}',
    "a payload that does not fit the handler": '{"task_name": "record", "task_payload": {"m": 1}}',
    "a 0.2.x envelope whose payload is a list": '{"task_name": "record", "task_payload": [1]}',
    "a 0.2.x envelope whose payload holds NaN": '{"task_name":"record","task_payload":{"n":NaN}}',
    "a newer wire format": '{"task_name": "record", "task_payload": {"n": 1}, "v": 2}',
}


def ns(records):
    return [record["n"] for record in records]


def payload_n(body):
    return json.loads(body)["task_payload"]["n"]


def test_a_worker_with_four_threads_runs_every_task_of_two_queues_exactly_once(
    create_queue, producer, start_worker, records, wait_until
):
    queues = [create_queue("default"), create_queue("other")]
    producer.add_tasks("record", [{"n": n} for n in range(100)])
    producer.add_tasks("record_other", [{"n": n} for n in range(100, 200)])

    worker = start_worker(threads=4)
    wait_until(
        lambda: len(records("end")) >= 200,
        message=lambda: f"200 tasks to run; {len(records('end'))} did",
    )
    wait_until(
        lambda: [queue.counts() for queue in queues] == [(0, 0), (0, 0)],
        message=lambda: f"both queues to be empty: {[queue.counts() for queue in queues]}",
    )

    assert worker.stop() == 0
    assert Counter(ns(records("start"))) == Counter(range(200))
    assert Counter(ns(records("end"))) == Counter(range(200))
    assert {(r["task"], r["n"] < 100) for r in records("end")} == {
        ("record", True),
        ("record_other", False),
    }


def test_sigterm_lets_the_running_task_finish_and_releases_the_buffered_ones_at_once(
    create_queue, producer, start_worker, records, wait_until
):
    queue = create_queue(VisibilityTimeout=60)
    worker = start_worker(queues=["default"])
    producer.add_tasks("record", [{"n": n, "sleep": 3} for n in range(5)])
    [running] = wait_until(lambda: records("start"), message="the first task to start")
    wait_until(
        lambda: queue.counts() == (0, 5),
        message=lambda: f"all five tasks to be received: {queue.counts()}",
    )

    worker.send(signal.SIGTERM)
    assert records("end") == [], "the first task ended before SIGTERM; the test needs it running"

    assert worker.wait(15) == 0
    assert ns(records("start")) == [running["n"]]
    assert ns(records("end")) == [running["n"]]
    # The finished task's message is deleted; the four buffered ones are visible again
    # at once, long before the queue's 60-second visibility timeout.
    assert queue.counts() == (4, 0)
    released = []

    def receive_the_released():
        released.extend(queue.receive())
        return len(released) >= 4

    wait_until(receive_the_released, message=lambda: f"4 released messages; got {released}")
    assert sorted(map(payload_n, released)) == sorted(set(range(5)) - {running["n"]})


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_an_idle_worker_without_sitting_out_its_20_second_long_poll(
    signum, create_queue, start_worker
):
    create_queue()
    worker = start_worker(queues=["default"], wait_seconds=20, log_sqs_requests=True)
    worker.wait_for_log("OperationModel(name=ReceiveMessage)")  # its first long poll is on

    worker.send(signum)

    assert worker.wait(5) == 0
    assert "Worker stopped" in worker.log()


def test_a_second_sigterm_exits_at_once_with_143_and_the_running_task_is_not_lost(
    create_queue, producer, start_worker, records, wait_until
):
    queue = create_queue(VisibilityTimeout=2)
    worker = start_worker(queues=["default"])
    producer.add_task("record", n=7, sleep=60)
    wait_until(lambda: records("start"), message="the task to start")

    worker.send(signal.SIGTERM)
    worker.wait_for_log("Received SIGTERM")
    worker.send(signal.SIGTERM)

    assert worker.wait(5) == 128 + signal.SIGTERM
    assert records("end") == []
    assert sum(queue.counts()) == 1
    # In flight, it turns visible again once its visibility timeout runs out.
    [body] = wait_until(queue.receive, message="the task's message to come back")
    assert json.loads(body)["task_payload"] == {"n": 7, "sleep": 60}


def test_a_failing_task_is_received_again_after_its_visibility_timeout_and_the_worker_goes_on(
    create_queue, producer, start_worker, records, wait_until
):
    queue = create_queue(VisibilityTimeout=1)  # and no redrive policy
    other_queue = create_queue("other")
    worker = start_worker()
    producer.add_task("boom", n=1)
    wait_until(lambda: len(records("boom")) >= 2, message="the failing task to run twice")

    producer.add_task("record_other", n=2)
    wait_until(lambda: records("end"), message="a good task after the failing one")

    assert worker.running()
    assert worker.stop() == 0
    assert set(ns(records("boom"))) == {1}
    assert ns(records("end")) == [2]
    assert sum(queue.counts()) == 1, "the failing task's message is not deleted"
    assert other_queue.counts() == (0, 0)


def test_a_task_that_calls_sys_exit_fails_alone_and_every_later_task_runs(
    create_queue, producer, start_worker, records, wait_until
):
    queue = create_queue(VisibilityTimeout=60)  # the failed task does not come back mid-test
    worker = start_worker(queues=["default"], threads=1)
    producer.add_task("exit", n=3)
    wait_until(lambda: records("exit"), message="the task calling sys.exit() to run")
    worker.wait_for_log("Failed to process task exit: SystemExit")

    producer.add_tasks("record", [{"n": n} for n in range(30)])
    wait_until(
        lambda: len(records("end")) >= 30,
        message=lambda: f"30 tasks after it to run; {len(records('end'))} did",
    )
    wait_until(lambda: queue.counts() == (0, 1), message=lambda: f"deletes: {queue.counts()}")

    assert worker.running()
    assert worker.stop() == 0  # not the handler's status 3
    assert sorted(ns(records("end"))) == list(range(30))
    assert "SystemExit: 3" in worker.log()  # the traceback
    assert sum(queue.counts()) == 1, "the failed task's message is not deleted"


def test_messages_that_cannot_run_are_never_executed_nor_deleted_and_the_worker_goes_on(
    create_queue, producer, start_worker, records, wait_until
):
    queue = create_queue()  # no redrive policy: rejected messages are backed off, and stay
    worker = start_worker(queues=["default"])
    message_ids = {kind: queue.send(body) for kind, body in POISON_BODIES.items()}

    def not_rejected_yet():
        log = worker.log()
        return [kind for kind, id_ in message_ids.items() if f"Rejected message {id_}" not in log]

    wait_until(
        lambda: not not_rejected_yet(),
        message=lambda: f"a rejection of each message; missing: {not_rejected_yet()}",
    )
    producer.add_task("record", n=1)
    wait_until(lambda: records("end"), message="a good task after the poison messages")

    assert worker.running()
    assert worker.stop() == 0
    assert [(r["event"], r["n"]) for r in records()] == [("start", 1), ("end", 1)]
    assert sum(queue.counts()) == len(POISON_BODIES)


def test_a_message_that_cannot_run_reaches_the_dead_letter_queue_by_the_redrive_policy(
    create_queue, start_worker, records, wait_until
):
    dead_letter_queue = create_queue("default-dlq")
    redrive = {"deadLetterTargetArn": dead_letter_queue.arn, "maxReceiveCount": "2"}
    queue = create_queue(RedrivePolicy=json.dumps(redrive))
    start_worker(queues=["default"])
    poison = POISON_BODIES["a payload that does not fit the handler"]
    queue.send(poison)

    moved = wait_until(
        dead_letter_queue.receive, message="the message to reach the dead-letter queue"
    )

    assert moved == [poison]
    assert records() == []
    assert sum(queue.counts()) == 0


def test_a_long_task_keeps_its_message_invisible_so_no_other_worker_runs_it(
    create_queue, producer, start_worker, records, wait_until
):
    create_queue(VisibilityTimeout=2)
    workers = [start_worker(queues=["default"], ready=False) for _ in range(2)]
    for worker in workers:
        worker.wait_ready()

    producer.add_task("record", n=1, sleep=5)  # over twice the visibility timeout
    # One read of the file: a second run, had another worker got the message
    # mid-run, would have started before the first one ended.
    snapshot = wait_until(
        lambda: (read := records()) and any(r["event"] == "end" for r in read) and read,
        message="the long task to end",
    )

    assert [(r["event"], r["n"]) for r in snapshot] == [("start", 1), ("end", 1)]
    assert [worker.stop() for worker in workers] == [0, 0]


def test_a_finished_tasks_message_is_deleted_while_the_worker_runs_without_a_full_batch(
    create_queue, producer, start_worker, records, wait_until
):
    queue = create_queue()
    start_worker(queues=["default"])
    producer.add_task("record", n=1)
    wait_until(lambda: records("end"), message="the task to run")

    # Deletes are batched, and flushed when the oldest has waited a second.
    wait_until(lambda: queue.counts() == (0, 0), timeout=10, message="its message to be deleted")


def test_a_worker_whose_queues_are_missing_exits_with_2_naming_each_of_them(prefix, start_worker):
    worker = start_worker(ready=False)  # on "default" and "other", neither created

    assert worker.wait(20) == 2
    stderr = worker.log()
    assert f"{prefix}default" in stderr
    assert f"{prefix}other" in stderr
    assert "simple-worker queues create" in stderr
    assert "Traceback" not in stderr


def test_messages_in_the_0_2_format_run(create_queue, start_worker, records, wait_until):
    queue = create_queue()
    worker = start_worker(queues=["default"])
    # What simple-worker 0.2.x sends: task_name and task_payload, nothing else.
    queue.send(json.dumps({"task_name": "record", "task_payload": {"n": 5}}))
    queue.send(json.dumps({"task_name": "record", "task_payload": {"n": 6, "sleep": 0}}))

    wait_until(lambda: len(records("end")) >= 2, message="both 0.2.x tasks to run")

    assert worker.stop() == 0
    assert sorted(ns(records("end"))) == [5, 6]
    assert queue.counts() == (0, 0)
