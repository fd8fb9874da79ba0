"""The Lambda runner: each record run as the worker runs it, settled by the one policy.

Events are built from messages really received from an app's in-memory queue, in
the shape AWS documents, so the runner's visibility changes and sends land on a
queue port; ``play`` acts as the event source mapping (deletes what the response
does not name).
"""

import runpy
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simple_worker import (
    App,
    ConfigurationError,
    Middleware,
    QueueNotFound,
    RetryIntervals,
    TaskExecutor,
    current_task,
)
from simple_worker.ports.queue import OutgoingMessage, SendResult
from simple_worker.testing import FakeClock

# Run by path: importlib mode puts no test folder on sys.path.
_events = runpy.run_path(str(Path(__file__).with_name("lambda_events.py")))
event_of, failures, play, Context = (
    _events["event_of"],
    _events["failures"],
    _events["play"],
    _events["Context"],
)

POISON = {
    "not JSON": "{not json",
    "unknown task": '{"task_name": "nobody", "task_payload": {}}',
    "payload that does not fit": '{"task_name": "ok", "task_payload": {"x": 1}}',
}


def make_app(*, fifo=False, **options):
    app = App(testing_mode=True, clock=FakeClock(), **options)
    suffix = ".fifo" if fifo else ""
    app.queue.create_queue(f"q-dlq{suffix}", visibility_timeout=30)
    app.queue.create_queue(
        f"q{suffix}", visibility_timeout=30, dead_letter_queue=f"q-dlq{suffix}", max_receive_count=3
    )
    app.ran = []

    @app.register_task_handler("ok", queue=f"q{suffix}")
    def ok(n=0):
        app.ran.append(n)

    @app.register_task_handler("boom", queue=f"q{suffix}")
    def boom(n=0):
        app.ran.append(n)
        raise RuntimeError(f"task {n} fails")

    return app


def receive(app, name="q"):
    return app.queue.receive_batch(name, max_messages=10)


def visible(app, name="q"):
    return app.queue.stats(name).visible


def test_a_batch_that_succeeds_reports_no_failures_and_the_mapping_deletes_it():
    app = make_app()
    app.add_tasks("ok", [{"n": n} for n in range(3)])
    handler = app.lambda_handler()
    batch = receive(app)
    response = handler(event_of(batch), None)
    assert response == {"batchItemFailures": []}
    assert app.ran == [0, 1, 2]
    assert handler.counts == {"succeeded": 3}


def test_a_failed_task_is_reported_and_comes_back_after_the_visibility_timeout():
    app = make_app()
    app.add_task("boom", n=7)
    batch = receive(app)
    response = app.lambda_handler()(event_of(batch), None)
    assert failures(response) == [batch[0].message_id]
    app.clock.advance(29)
    assert visible(app) == 0
    app.clock.advance(1)
    assert visible(app) == 1


def test_a_retry_policy_sets_the_failed_records_visibility_before_returning():
    app = make_app()
    app.add_task("boom")
    batch = receive(app)
    response = app.lambda_handler(retry_policy=RetryIntervals([5]))(event_of(batch), None)
    assert failures(response) == [batch[0].message_id]
    app.clock.advance(4)
    assert visible(app) == 0
    app.clock.advance(1)
    assert visible(app) == 1


@pytest.mark.parametrize("body", POISON.values(), ids=POISON.keys())
def test_a_message_that_cannot_run_is_reported_failed_and_reaches_the_dead_letter_queue(body):
    app = make_app()
    app.queue.send_batch("q", [OutgoingMessage("m", body)])
    handler = app.lambda_handler()
    responses = play(app, handler, ["q"])
    # Released at once on each receive (visibility 0), then moved by the redrive policy.
    assert [len(failures(r)) for r in responses] == [1, 1, 1]
    assert app.ran == []
    assert app.queue.bodies("q") == []
    assert app.queue.bodies("q-dlq") == [body]
    assert handler.counts == {"rejected": 3}


def test_a_task_due_past_15_minutes_is_sent_on_and_its_record_reported_done():
    app = make_app()
    app.with_options(not_before=app.clock.now() + timedelta(hours=2)).add_task("ok", n=1)
    app.clock.advance(900)
    batch = receive(app)
    response = app.lambda_handler()(event_of(batch), None)
    assert failures(response) == []  # the mapping deletes the copy received
    assert app.ran == []
    app.queue.delete_batch("q", [batch[0].receipt])
    assert app.queue.stats("q").delayed == 1
    assert app.queue.bodies("q") == [batch[0].body]


def test_records_run_with_the_apps_middleware_executor_hooks_and_task_metadata():
    seen = []

    class Recorder(Middleware):
        def worker_started(self, worker):
            seen.append("started")

        def before_task(self, task, message):
            seen.append(("before", task.name))

        def after_task(self, task, message, result):
            seen.append(("after", result.outcome.value))

        def worker_stopped(self, worker):
            seen.append("stopped")

    class Hooked(TaskExecutor):
        def log_start(self, task):
            seen.append(("executor", task.name))

    app = make_app(middleware=[Recorder()])

    @app.register_task_handler("who", queue="q")
    def who():
        task = current_task()
        seen.append(("current", task.delivery.message_id, task.delivery.receive_count))

    app.add_task("who")
    batch = receive(app)
    app.lambda_handler(task_executor_cls=Hooked)(event_of(batch), None)
    assert seen == [
        "started",
        ("before", "who"),
        ("executor", "who"),
        ("current", batch[0].message_id, 1),
        ("after", "succeeded"),
        "stopped",
    ]


def test_a_large_payloads_object_goes_once_its_message_is_deleted():
    app = make_app(large_payload_bucket="big", max_message_size=1024)
    app.add_task("ok", n="x" * 2000)
    store = app.large_payload_store
    assert len(store._objects) == 1
    batch = receive(app)
    response = app.lambda_handler()(event_of(batch), None)
    assert failures(response) == []
    assert app.ran == ["x" * 2000]
    assert app.queue.bodies("q") == []
    assert store._objects == {}


def test_fifo_a_groups_records_after_its_first_failure_are_reported_failed_unrun():
    app = make_app(fifo=True)
    one, two = app.with_options(group_id="g1"), app.with_options(group_id="g2")
    one.add_task("ok", n=1)
    two.add_task("ok", n=4)
    one.add_task("boom", n=2)
    one.add_task("ok", n=3)
    two.add_task("ok", n=5)
    batch = receive(app, "q.fifo")
    assert len(batch) == 5
    response = app.lambda_handler()(event_of(batch), None)
    assert app.ran == [1, 4, 2, 5]  # in order within each group; 3 never started
    # The failed one and the one behind it, in the records' order.
    assert failures(response) == [
        m.message_id for m in batch if '"n":2' in m.body or '"n":3' in m.body
    ]
    # Both stay; the group waits for the failed one's retry, as on SQS.
    assert len(app.queue.bodies("q.fifo")) == 5


@pytest.mark.parametrize(
    ("context", "ran"),
    [
        (None, [0, 1, 2, 3]),
        (object(), [0, 1, 2, 3]),
        (Context(60_000), [0, 1, 2, 3]),
        (Context(5_000, spend=1_500), [0, 1, 2]),  # 5.0, 3.5, 2.0 s left; then 0.5 s
        (Context(1_999), []),
    ],
    ids=["no context", "context without the method", "plenty of time", "runs out", "none left"],
)
def test_no_record_starts_with_less_time_left_than_the_margin(context, ran):
    app = make_app()
    app.add_tasks("ok", [{"n": n} for n in range(4)])
    batch = receive(app)
    handler = app.lambda_handler(time_margin=2)
    response = handler(event_of(batch), context)
    assert app.ran == ran
    assert failures(response) == [m.message_id for m in batch[len(ran) :]]
    # Those not started are released at once, not left for the visibility timeout.
    assert visible(app) == 4 - len(ran)


def test_the_time_margin_takes_a_timedelta_and_is_checked():
    assert App(testing_mode=True).lambda_handler(time_margin=timedelta(seconds=9)).time_margin == 9
    with pytest.raises(ConfigurationError, match="time_margin"):
        App(testing_mode=True).lambda_handler(time_margin=-1)


def test_a_record_of_a_queue_that_does_not_exist_fails_the_invocation_before_anything_runs():
    app = make_app()
    app.add_task("ok")
    [message] = receive(app)
    event = event_of([message])
    event["Records"][0]["eventSourceARN"] = "arn:aws:sqs:us-east-1:123456789012:gone"
    app.queue._auto_create = False
    with pytest.raises(QueueNotFound):
        app.lambda_handler()(event, None)
    assert app.ran == []


# --- a property over mixed batches ---------------------------------------------------

KINDS = st.sampled_from(["ok", "boom", "poison", "later"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(st.tuples(KINDS, st.sampled_from(["a", "b", "c"])), min_size=1, max_size=10),
    fifo=st.booleans(),
    millis=st.one_of(st.none(), st.integers(0, 12_000)),
)
def test_every_record_either_succeeded_or_is_reported_failed_never_both(kinds, fifo, millis):
    app = make_app(fifo=fifo)
    name = "q.fifo" if fifo else "q"
    for n, (kind, group) in enumerate(kinds):
        sender = app.with_options(group_id=group) if fifo else app
        if kind == "poison":
            sent = app.queue.send_batch(
                name,
                [OutgoingMessage(f"p{n}", "{oops", group_id=group, deduplication_id=f"p{n}")]
                if fifo
                else [OutgoingMessage(f"p{n}", "{oops")],
            )
            assert sent.sent
        elif kind == "later" and not fifo:
            sender.with_options(not_before=app.clock.now() + timedelta(hours=1)).add_task("ok", n=n)
        else:
            sender.add_task("boom" if kind == "boom" else "ok", n=n)
    if not fifo:
        app.clock.advance(900)  # "later" tasks arrive, still early
    batch = receive(app, name)
    context = None if millis is None else Context(millis, spend=1_000)
    response = app.lambda_handler()(event_of(batch), context)

    failed = failures(response)
    assert len(failed) == len(set(failed))
    assert [m.message_id for m in batch if m.message_id in failed] == failed
    ran = set(app.ran)
    for message in batch:
        n = _number(message.body)
        done = message.message_id not in failed
        if done:  # ran and succeeded, or sent on to run later
            assert '"boom"' not in message.body
            assert "{oops" not in message.body
            assert (n in ran) != ("not_before" in message.body)
        else:
            assert n not in ran or '"boom"' in message.body
    if fifo:  # within a group, nothing ran after a record that did not succeed
        for group in {g for _, g in kinds}:
            records = [m for m in batch if m.group_id == group]
            stopped = False
            for message in records:
                n = _number(message.body)
                if stopped:
                    assert n not in ran
                    assert message.message_id in failed
                stopped = stopped or message.message_id in failed


def _number(body):
    import json  # noqa: PLC0415

    try:
        return json.loads(body)["task_payload"].get("n")
    except ValueError:
        return None


def test_a_batchs_visibility_changes_go_out_in_one_call_per_queue():
    calls = []
    app = make_app()
    change = app.queue.change_visibility_batch

    def counted(queue, changes):
        calls.append((queue, len(changes)))
        return change(queue, changes)

    app.queue.change_visibility_batch = counted
    app.add_tasks("boom", [{"n": n} for n in range(4)])
    app.queue.send_batch("q", [OutgoingMessage(f"p{n}", "{oops") for n in range(3)])
    batch = receive(app)
    assert len(batch) == 7

    response = app.lambda_handler(retry_policy=RetryIntervals([5]))(event_of(batch), None)

    assert len(failures(response)) == 7
    assert calls == [("q", 7)]  # 4 retry delays and 3 releases, together
    assert visible(app) == 3  # the ones that cannot run, released at once
    app.clock.advance(5)
    assert visible(app) == 7


def test_an_error_around_one_record_reports_it_failed_and_the_batch_goes_on():
    class BrokenPolicy:
        def delay(self, receive_count):
            raise RuntimeError("a bug in a retry policy")

    app = make_app()
    app.add_task("boom", n=1)
    app.add_task("ok", n=2)
    batch = receive(app)

    response = app.lambda_handler(retry_policy=BrokenPolicy())(event_of(batch), None)

    assert app.ran == [1, 2]
    assert failures(response) == [batch[0].message_id]


def test_a_task_that_cannot_be_sent_on_is_reported_failed_and_hidden_for_its_wait():
    app = make_app()
    app.with_options(not_before=app.clock.now() + timedelta(hours=2)).add_task("ok", n=1)
    app.clock.advance(900)
    batch = receive(app)
    app.queue.send_batch = lambda queue, messages: SendResult(
        failed={m.id: "ServiceUnavailable: try later" for m in messages}
    )

    response = app.lambda_handler()(event_of(batch), None)

    assert failures(response) == [batch[0].message_id]
    assert app.ran == []
    app.clock.advance(6299)  # the rest of its wait: 2 h - 15 min
    assert visible(app) == 0
    app.clock.advance(1)
    assert visible(app) == 1


def test_async_handlers_run_in_order_on_one_loop_kept_across_invocations():
    import asyncio  # noqa: PLC0415 - this test only

    app = make_app()
    loops, names = [], []

    @app.register_task_handler("fetch", queue="q")
    async def fetch(n):
        await asyncio.sleep(0)
        loops.append(asyncio.get_running_loop())
        names.append((n, current_task().name))
        if n == 2:
            raise RuntimeError("an async failure")

    handler = app.lambda_handler()
    try:
        app.add_tasks("fetch", [{"n": 0}, {"n": 1}])
        first = handler(event_of(receive(app)), None)
        app.add_task("fetch", n=2)
        batch = receive(app)
        second = handler(event_of(batch), None)
    finally:
        handler.close()

    assert first == {"batchItemFailures": []}
    assert failures(second) == [batch[0].message_id]
    assert sorted(names) == [(0, "fetch"), (1, "fetch"), (2, "fetch")]
    assert len({id(loop) for loop in loops}) == 1  # one loop for the environment's life
    assert handler.counts == {"succeeded": 2, "failed": 1}
