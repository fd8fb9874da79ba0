"""``--shutdown-timeout``: a stop ends within its budget even when SQS stops answering.

The command reaches moto through the fault proxy, which is told to hang: it reads
every request and never answers, as an endpoint that accepts connections and then
says nothing. Waits are bounded polls; bounds are not measurements.
"""

import signal

BUDGET = 3
MARGIN = 5
"""Seconds a test allows past the budget: for the process to exit, on a busy machine."""


def test_a_stop_while_sqs_hangs_ends_within_the_budget_and_leaves_the_tasks_to_sqs(
    create_queue, producer, start_cli, records, counts, fault_proxy, wait_until
):
    create_queue("default", VisibilityTimeout=30)
    producer.add_tasks("record", [{"n": n, "sleep": 2} for n in range(4)])
    worker = start_cli(
        *("worker", "cli_app:app", "--threads", "4", "--wait-seconds", "1"),
        *("--shutdown-timeout", str(BUDGET)),
        env={"AWS_ENDPOINT_URL_SQS": fault_proxy.url},
    )
    wait_until(lambda: len(records("start")) == 4, message="the four tasks to start")

    fault_proxy.plan("hang", times=None)
    worker.send(signal.SIGTERM)

    assert worker.wait(timeout=BUDGET + MARGIN) == 124
    log = worker.stderr()
    assert "Gave up deleting 4 finished task message(s)" in log
    assert "Worker stopped" in log
    assert len(records("end")) == 4  # the tasks had time to finish
    assert fault_proxy.injected_by_kind()["hang"] >= 1
    assert counts("default") == (0, 4)  # not deleted: SQS delivers them again


def test_the_supervisor_passes_the_budget_on_and_does_not_kill_a_worker_within_it(
    create_queue, producer, start_cli, records, counts, fault_proxy, wait_until
):
    create_queue("default", VisibilityTimeout=30)
    producer.add_tasks("record", [{"n": n, "sleep": 1} for n in range(2)])
    supervisor = start_cli(
        *("worker", "cli_app:app", "--processes", "2", "--wait-seconds", "1"),
        *("--shutdown-timeout", str(BUDGET)),
        env={"AWS_ENDPOINT_URL_SQS": fault_proxy.url},
    )
    wait_until(lambda: len(records("start")) == 2, message="both tasks to start")

    fault_proxy.plan("hang", times=None)
    supervisor.send(signal.SIGTERM)

    assert supervisor.wait(timeout=BUDGET + MARGIN) == 124
    log = supervisor.stderr()
    assert "killing them" not in log
    assert log.count("stopped: status 124") + log.count("stopped: status 0") == 2
    assert "Gave up deleting" in log
    assert counts("default") == (0, 2)
