"""The threaded worker, the testing worker and the Lambda runner settle every case the same way.

Each case sets up queues and one or two messages on an in-memory queue with a
fake clock, runs the testing worker until nothing is left to receive and the
threaded worker until it reaches the same state (or 10 s pass), then records
what the queues look like and as the clock moves on. The Lambda runner is
played as an event source mapping would (receive, invoke, delete what is not
reported failed) until nothing is left to receive. All must leave the same
record.
"""

import contextlib
import runpy
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from simple_worker import App, RetryIntervals
from simple_worker.ports.queue import OutgoingMessage
from simple_worker.testing import FakeClock

# Run by path: importlib mode puts no test folder on sys.path.
play = runpy.run_path(str(Path(__file__).with_name("lambda_events.py")))["play"]

CHECKPOINTS = (0, 4, 5, 29, 30, 59, 60, 899, 900)


def plain(app):
    app.queue.create_queue("q", visibility_timeout=30)


def zero_visibility(app):
    app.queue.create_queue("q", visibility_timeout=0)


def with_dlq(app):
    app.queue.create_queue("q-dlq", visibility_timeout=30)
    app.queue.create_queue(
        "q", visibility_timeout=30, dead_letter_queue="q-dlq", max_receive_count=3
    )


def fifo(app):
    app.queue.create_queue("q-dlq.fifo", visibility_timeout=30)
    app.queue.create_queue(
        "q.fifo", visibility_timeout=30, dead_letter_queue="q-dlq.fifo", max_receive_count=2
    )


def handlers(app, queue="q"):
    app.register_task_handler("ok", queue=queue)(lambda n=0: None)
    app.register_task_handler("boom", queue=queue)(lambda n=0: 1 / 0)


def succeed(app):
    plain(app)
    handlers(app)
    app.add_task("ok")


def fail(app):
    plain(app)
    handlers(app)
    app.add_task("boom")


def fail_on_zero_visibility(app):
    zero_visibility(app)
    handlers(app)
    app.add_task("boom")


def fail_with_dlq(app):
    with_dlq(app)
    handlers(app)
    app.add_task("boom")


def reject_with_dlq(app):
    with_dlq(app)
    handlers(app)
    app.queue.send_batch("q", [OutgoingMessage("m", "not json")])


def reject_without_dlq(app):
    plain(app)
    handlers(app)
    app.queue.send_batch("q", [OutgoingMessage("m", '{"task_name": "nobody", "task_payload": {}}')])


def defer(app):
    plain(app)
    handlers(app)
    app.with_options(not_before=app.clock.now() + timedelta(hours=2)).add_task("ok")
    app.clock.advance(900)  # it arrives early, after SQS's longest delay


def fifo_failure_holds_its_group_back(app):
    fifo(app)
    handlers(app, queue="q.fifo")
    sender = app.with_options(group_id="g")
    sender.add_task("boom", n=1)
    sender.add_task("ok", n=2)


CASES = {
    "success": (succeed, None),
    "failure": (fail, None),
    "failure, retry policy": (fail, RetryIntervals([5])),
    "failure, dead-letter queue": (fail_with_dlq, RetryIntervals([0])),
    "failure, visibility timeout 0": (fail_on_zero_visibility, None),
    "rejection, dead-letter queue": (reject_with_dlq, None),
    "rejection, no dead-letter queue": (reject_without_dlq, None),
    "deferral": (defer, None),
    "FIFO failure": (fifo_failure_holds_its_group_back, None),
}


def record(app, clock, runs):
    """What the queues hold now and at each checkpoint, and how many runs had each outcome."""
    names = app.queue.queue_names()
    seen = []
    start = 0
    for checkpoint in CHECKPOINTS:
        clock.advance(checkpoint - start)
        start = checkpoint
        seen.append({name: app.queue.stats(name) for name in names})
    return runs, seen


def now(app):
    return {name: app.queue.stats(name) for name in app.queue.queue_names()}


def run_testing_worker(app, policy):
    report = app.testing_worker(retry_policy=policy).run_all(raise_errors=False)
    return Counter(run.outcome.value for run in report.runs)


def run_lambda_runner(app, policy):
    handler = app.lambda_handler(retry_policy=policy)
    play(app, handler, app.registry.queues())
    # Records released unstarted (a FIFO group behind a failure) are not runs.
    return Counter({k: v for k, v in handler.counts.items() if v and k != "unstarted"})


def run_threaded_worker(app, policy, expected, wait_until, worker_running):
    """Run until the worker settled what the testing worker did and receives come back empty.

    The worker counts a message once it is settled (its delete handed to the
    batcher, which flushes at stop), so its counts cannot match while a settlement
    is under way; the empty receives after that let a message released towards
    the dead-letter queue be moved there, as the testing worker's last receive
    does. A worker that never gets there (10 s) fails the comparison below, with
    the difference.
    """
    worker = app.worker(wait_seconds=0, retry_policy=policy, threads=2)

    def runs():
        return Counter({k: v for k, v in worker.counts.items() if v})

    def settled():
        idle = worker.running_count() == 0 and worker.buffered_count() == 0
        return idle and runs() == expected

    def empty_receives():
        return worker.receive_counts()["empty_receives"]

    with worker_running(worker), contextlib.suppress(AssertionError):
        wait_until(settled)
        seen = empty_receives()
        wait_until(lambda: settled() and empty_receives() >= seen + 2)
    return runs()


@pytest.mark.parametrize(("setup", "policy"), CASES.values(), ids=CASES.keys())
def test_both_drivers_settle_the_same_way(setup, policy, wait_until, worker_running):
    clock = FakeClock()
    app = App(testing_mode=True, clock=clock)
    setup(app)
    runs = run_testing_worker(app, policy)
    expected = runs
    by_testing_worker = record(app, clock, runs)

    clock = FakeClock()
    app = App(testing_mode=True, clock=clock)
    setup(app)
    runs = run_threaded_worker(app, policy, expected, wait_until, worker_running)
    by_threaded_worker = record(app, clock, runs)

    assert by_testing_worker == by_threaded_worker
    assert by_testing_worker[0]  # something ran: the case is not empty


# An event source mapping cannot be made on a queue whose visibility timeout is
# under the function's timeout, so that case has no Lambda counterpart.
LAMBDA_CASES = {k: v for k, v in CASES.items() if k != "failure, visibility timeout 0"}


@pytest.mark.parametrize(("setup", "policy"), LAMBDA_CASES.values(), ids=LAMBDA_CASES.keys())
def test_the_lambda_runner_settles_as_the_testing_worker(setup, policy):
    records = []
    for run in (run_testing_worker, run_lambda_runner):
        clock = FakeClock()
        app = App(testing_mode=True, clock=clock)
        setup(app)
        records.append(record(app, clock, run(app, policy)))
    assert records[0] == records[1]
    assert records[0][0]
