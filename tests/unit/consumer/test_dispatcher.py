import logging

import pytest

from simple_worker import (
    Delivery,
    MessageDecodeError,
    PayloadMismatch,
    TaskExecutor,
    UnknownTask,
)
from simple_worker.consumer._dispatcher import Dispatcher
from simple_worker.domain._registry import TaskRegistry
from simple_worker.ports.middleware import Outcome
from simple_worker.ports.queue import ReceivedMessage
from simple_worker.testing.clock import FakeClock


@pytest.fixture
def ran():
    return []


@pytest.fixture
def dispatcher(ran):
    registry = TaskRegistry()
    registry.register("t", lambda a: ran.append(a), "q")
    registry.register("boom", lambda: 1 / 0, "q")
    return Dispatcher(registry, TaskExecutor)


def message(body, receive_count=1):
    return ReceivedMessage(
        queue="q", message_id="m-1", receipt="r-1", body=body, receive_count=receive_count
    )


def test_dispatch_runs_a_valid_task(dispatcher, ran):
    result = dispatcher.dispatch(message('{"task_name": "t", "task_payload": {"a": 5}}'))

    assert result.outcome is Outcome.SUCCEEDED
    assert result.task.payload == {"a": 5}
    assert ran == [5]


def test_dispatch_reports_a_handler_error_as_failed(dispatcher):
    result = dispatcher.dispatch(message('{"task_name": "boom", "task_payload": {}}'))

    assert result.outcome is Outcome.FAILED
    assert isinstance(result.error, ZeroDivisionError)


DUE = "2026-12-24T00:00:00Z"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{not json", MessageDecodeError),
        ('{"task_name": "nope", "task_payload": {}}', UnknownTask),
        ('{"task_name": "t", "task_payload": {"b": 1}}', PayloadMismatch),
        ('{"task_name": "t", "task_payload": []}', MessageDecodeError),
    ],
)
def test_dispatch_rejects_a_message_that_cannot_run_without_running_it(
    dispatcher, ran, body, error
):
    result = dispatcher.dispatch(message(body))

    assert result.outcome is Outcome.REJECTED
    assert isinstance(result.error, error)
    assert ran == []


def test_a_rejection_logs_one_warning_with_the_reason_and_message_facts(dispatcher, caplog):
    caplog.set_level(logging.DEBUG)

    dispatcher.dispatch(message('{"task_name": "t", "task_payload": {"b": 1}}', 3))

    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert "m-1" in record.getMessage()
    assert "receive 3" in record.getMessage()
    assert "missing a; unexpected b" in record.getMessage()
    assert (record.queue, record.receive_count, record.reason) == (
        "q",
        3,
        "PayloadMismatch",
    )


def test_a_rejection_log_line_stays_short_for_a_hostile_payload(dispatcher, caplog):
    keys = ", ".join(f'"{"k" * 1000}{n}": 1' for n in range(1000))
    caplog.set_level(logging.DEBUG)

    dispatcher.dispatch(message(f'{{"task_name": "t", "task_payload": {{{keys}}}}}'))

    assert len(caplog.records[0].getMessage()) < 2000


def test_an_executor_whose_hook_raises_makes_the_task_fail_not_the_dispatcher():
    class BrokenHooks(TaskExecutor):
        def success_handler(self, task):
            raise RuntimeError("hook bug")

    registry = TaskRegistry()
    registry.register("t", lambda: None, "q")

    result = Dispatcher(registry, BrokenHooks).dispatch(
        message('{"task_name": "t", "task_payload": {}}')
    )

    assert result.outcome is Outcome.FAILED
    assert str(result.error) == "hook bug"


def test_a_rejection_has_the_stable_fields_and_names_the_task_when_it_decoded(dispatcher, caplog):
    caplog.set_level(logging.DEBUG)

    dispatcher.dispatch(message('{"task_name": "nope", "task_payload": {}, "task_id": "x"}'))
    dispatcher.dispatch(message("not json"))

    named, unnamed = caplog.records
    assert (named.outcome, named.error_type, named.task_name, named.task_id) == (
        "rejected",
        "UnknownTask",
        "nope",
        "x",
    )
    assert (named.message_id, named.queue, named.receive_count) == ("m-1", "q", 1)
    assert (unnamed.outcome, unnamed.error_type) == ("rejected", "MessageDecodeError")
    assert not hasattr(unnamed, "task_name")


def test_a_dispatched_task_carries_its_delivery_and_duration():
    registry = TaskRegistry()
    registry.register("t", lambda: None, "q")
    clock = FakeClock()

    result = Dispatcher(registry, TaskExecutor, clock=clock).dispatch(
        message('{"task_name": "t", "task_payload": {}}', receive_count=4)
    )

    assert result.task.delivery == Delivery(message_id="m-1", queue="q", receive_count=4)
    assert result.duration == 0.0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            '{"task_name": "nobody", "task_payload": {}, "not_before": "2026-12-24T00:00:00Z"}',
            UnknownTask,
        ),
        (
            '{"task_name": "t", "task_payload": {"b": 1}, "not_before": "2026-12-24T00:00:00Z"}',
            PayloadMismatch,
        ),
    ],
    ids=["unknown task", "payload mismatch"],
)
def test_a_message_that_cannot_run_is_refused_before_it_would_be_sent_on(ran, body, error):
    registry = TaskRegistry()
    registry.register("t", lambda a: ran.append(a), "q")
    dispatcher = Dispatcher(registry, TaskExecutor, clock=FakeClock())

    result = dispatcher.dispatch(message(body))

    assert (result.outcome, type(result.error)) == (Outcome.REJECTED, error)


@pytest.mark.parametrize(
    ("not_before", "outcome"),
    [
        ("2026-12-31T00:00:00Z", Outcome.DEFERRED),  # within a year: what producers allow
        ("2027-01-03T00:00:00Z", Outcome.REJECTED),  # beyond it, and beyond a day of skew
        ("9999-12-31T00:00:00Z", Outcome.REJECTED),
    ],
)
def test_a_due_time_further_ahead_than_producers_allow_is_refused(ran, not_before, outcome):
    registry = TaskRegistry()
    registry.register("t", lambda a: ran.append(a), "q")
    dispatcher = Dispatcher(registry, TaskExecutor, clock=FakeClock())
    body = f'{{"task_name": "t", "task_payload": {{"a": 1}}, "not_before": "{not_before}"}}'

    result = dispatcher.dispatch(message(body))

    assert result.outcome is outcome
    if outcome is Outcome.REJECTED:
        assert "more than 366 days ahead" in str(result.error)
    assert ran == []
