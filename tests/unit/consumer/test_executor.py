import inspect
import logging
import sys
from contextlib import contextmanager

import pytest

from simple_worker import Delivery, HandlerReturnedAwaitable, Task, TaskExecutor


def make_task(**payload):
    return Task(name="t", payload=payload, id="id-1")


def test_run_calls_the_handler_with_the_payload_as_keywords():
    calls = []
    outcome = TaskExecutor(lambda a, b: calls.append((a, b))).run(make_task(b=2, a=1))

    assert outcome.succeeded
    assert calls == [(1, 2)]


def test_run_returns_the_handler_error_instead_of_raising():
    error = KeyError("x")

    def handler():
        raise error

    outcome = TaskExecutor(handler).run(make_task())

    assert not outcome.succeeded
    assert outcome.error is error


def test_execute_keeps_the_0_2_boolean_interface():
    assert TaskExecutor(lambda: None).execute(make_task()) is True
    assert TaskExecutor(lambda: 1 / 0).execute(make_task()) is False


def test_context_of_a_subclass_wraps_the_handler():
    events = []

    class Wrapping(TaskExecutor):
        @contextmanager
        def context(self):
            events.append("enter")
            try:
                yield
            finally:
                events.append("exit")

    Wrapping(lambda: events.append("run")).run(make_task())
    Wrapping(lambda: 1 / 0).run(make_task())

    assert events == ["enter", "run", "exit", "enter", "exit"]


def test_hooks_of_a_subclass_see_start_success_and_failure():
    events = []

    class Hooked(TaskExecutor):
        def log_start(self, task):
            events.append(("start", task.name))

        def success_handler(self, task):
            events.append(("success", task.name))

        def failure_handler(self, task, exc):
            events.append(("failure", type(exc).__name__))

    Hooked(lambda: None).run(make_task())
    Hooked(lambda: 1 / 0).run(make_task())

    assert events == [
        ("start", "t"),
        ("success", "t"),
        ("start", "t"),
        ("failure", "ZeroDivisionError"),
    ]


def test_default_hooks_log_start_success_and_failure_with_task_fields(caplog):
    caplog.set_level(logging.DEBUG, logger="simple_worker")

    TaskExecutor(lambda: None).run(make_task())
    TaskExecutor(lambda: 1 / 0).run(make_task())

    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert messages == [
        ("DEBUG", "Processing task t"),
        ("INFO", "Processed task t successfully"),
        ("DEBUG", "Processing task t"),
        ("ERROR", "Failed to process task t: ZeroDivisionError: division by zero"),
    ]
    assert all(r.task_id == "id-1" for r in caplog.records)
    assert caplog.records[-1].exc_info is not None


def test_at_info_a_task_that_succeeds_is_one_line_its_outcome(caplog):
    caplog.set_level(logging.INFO, logger="simple_worker")

    TaskExecutor(lambda: None).run(make_task())

    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "Processed task t successfully")
    ]


class CustomBaseError(BaseException):
    """A BaseException of the application's own, not an Exception."""


def raise_(error):
    def handler():
        raise error

    return handler


BASE_EXCEPTIONS = {
    "SystemExit": lambda: SystemExit(3),
    "sys.exit()": lambda: SystemExit(None),
    "KeyboardInterrupt": KeyboardInterrupt,
    "GeneratorExit": GeneratorExit,
    "a BaseException subclass": lambda: CustomBaseError("custom"),
}


@pytest.mark.parametrize("make_error", BASE_EXCEPTIONS.values(), ids=BASE_EXCEPTIONS.keys())
def test_a_base_exception_from_a_handler_fails_the_task_and_is_logged_with_its_traceback(
    make_error, caplog
):
    error = make_error()
    exits = []

    class Wrapping(TaskExecutor):
        @contextmanager
        def context(self):
            try:
                yield
            except BaseException as exc:
                exits.append(exc)
                raise

    outcome = Wrapping(raise_(error)).run(make_task())

    assert outcome.error is error
    assert not outcome.succeeded
    assert exits == [error], "the context sees the error, as it sees any other"
    [failed] = [r for r in caplog.records if r.levelname == "ERROR"]
    expected = f"Failed to process task t: {type(error).__name__}"
    assert failed.getMessage() == (f"{expected}: {error}" if str(error) else expected)
    assert failed.exc_info[1] is error
    assert failed.error_type == type(error).__name__


def test_a_0_2_failure_handler_typed_for_exception_still_gets_a_base_exception():
    seen = []

    class Old(TaskExecutor):
        def failure_handler(self, task, exc: Exception) -> None:
            seen.append(exc)

    assert Old(lambda: sys.exit(2)).execute(make_task()) is False
    assert [type(e) for e in seen] == [SystemExit]


async def coroutine_function():
    raise AssertionError("never runs")


async def async_generator_function():
    yield 1


class Awaitable:
    def __await__(self):
        yield


def test_a_handler_that_returns_a_coroutine_fails_and_the_coroutine_is_closed_unrun(caplog):
    returned = []

    def handler():
        returned.append(coroutine_function())
        return returned[0]

    outcome = TaskExecutor(handler).run(make_task())

    assert isinstance(outcome.error, HandlerReturnedAwaitable)
    assert "returned a coroutine (coroutine_function)" in str(outcome.error)
    assert "Register the async function itself" in str(outcome.error)
    assert inspect.getcoroutinestate(returned[0]) == inspect.CORO_CLOSED
    assert "Failed to process task t: HandlerReturnedAwaitable" in caplog.text


@pytest.mark.parametrize(
    ("result", "returned"),
    [
        (async_generator_function, "an async generator (async_generator_function)"),
        (Awaitable, "an awaitable (Awaitable)"),
    ],
    ids=["an async generator", "an object with __await__"],
)
def test_a_handler_that_returns_other_async_objects_fails(result, returned):
    outcome = TaskExecutor(lambda: result()).run(make_task())

    assert isinstance(outcome.error, HandlerReturnedAwaitable)
    assert f"returned {returned} instead of running" in str(outcome.error)


def test_a_handler_returning_a_plain_value_succeeds():
    assert TaskExecutor(lambda: [1, 2]).run(make_task()).succeeded


def received_task(**payload):
    return Task(name="t", payload=payload, id="id-1", delivery=Delivery("m-1", "p-default", 2))


def test_default_hooks_log_the_delivery_outcome_and_duration_of_a_received_task(caplog):
    caplog.set_level(logging.DEBUG, logger="simple_worker")

    TaskExecutor(lambda secret: None).run(received_task(secret="s3cr3t"))
    TaskExecutor(lambda: 1 / 0).run(received_task())

    started, succeeded, _, failed = caplog.records
    for record in (started, succeeded, failed):
        assert (record.message_id, record.queue, record.receive_count) == ("m-1", "p-default", 2)
    assert (succeeded.outcome, failed.outcome, failed.error_type) == (
        "succeeded",
        "failed",
        "ZeroDivisionError",
    )
    assert succeeded.duration >= 0
    assert failed.duration >= 0
    assert not any("s3cr3t" in str(vars(record)) for record in caplog.records)


def test_a_subclass_hook_sees_the_delivery_and_duration():
    seen = []

    class Timing(TaskExecutor):
        def success_handler(self, task):
            seen.append((task.delivery.message_id, self.duration() >= 0))

    Timing(lambda: None).run(received_task())

    assert seen == [("m-1", True)]


def test_a_subclass_that_replaces_init_still_runs_and_logs(caplog):
    caplog.set_level(logging.INFO, logger="simple_worker")

    class OwnInit(TaskExecutor):
        def __init__(self, task_handler_fn):  # no super().__init__(), as some 0.2 code does
            self.task_handler_fn = task_handler_fn

    assert OwnInit(lambda: None).run(received_task()).succeeded
    assert caplog.records[-1].duration >= 0


def test_delivery_takes_no_part_in_task_equality():
    assert received_task() == make_task()


def test_payloads_are_logged_on_start_and_failure_only_when_opted_in(caplog):
    class PayloadLogging(TaskExecutor):
        log_payloads = True

    caplog.set_level(logging.DEBUG, logger="simple_worker")

    PayloadLogging(lambda order_id: None).run(received_task(order_id=17))
    PayloadLogging(lambda order_id: 1 / 0).run(received_task(order_id=18))

    started, succeeded, started_again, failed = caplog.records
    assert started.payload == {"order_id": 17}
    assert (started_again.payload, failed.payload) == ({"order_id": 18}, {"order_id": 18})
    assert not hasattr(succeeded, "payload")


def test_the_failure_line_says_the_exceptions_message_cut_to_a_bounded_size(caplog):
    caplog.set_level(logging.ERROR)

    TaskExecutor(raise_(ConnectionError("payments down\nretry later"))).run(make_task())
    TaskExecutor(raise_(ValueError("x" * 100_000))).run(make_task())

    first, second = (r.getMessage() for r in caplog.records)
    assert first == "Failed to process task t: ConnectionError: payments down\\nretry later"
    assert second.startswith("Failed to process task t: ValueError: xxx")
    assert len(second.encode()) < 2_000
    assert second.endswith("(100000 characters)")
