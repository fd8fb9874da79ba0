import asyncio
import functools
import inspect

import pytest

from simple_worker.domain._errors import (
    DuplicateTaskName,
    InvalidQueueName,
    InvalidTaskName,
    UnknownTask,
    UnsupportedHandler,
)
from simple_worker.domain._queue_rules import MAX_QUEUE_NAME_LENGTH, check_queue_name
from simple_worker.domain._registry import TaskRegistry
from simple_worker.domain._signature import HandlerSignature


def send_email(to, subject="hi"):
    pass


def other(x):
    pass


def with_args(*args):
    pass


def test_register_returns_the_registration_and_get_finds_it():
    registry = TaskRegistry()
    registration = registry.register("send_email", send_email, "p-default")
    assert registration.task_name == "send_email"
    assert registration.handler is send_email
    assert registration.queue == "p-default"
    assert registration.signature == HandlerSignature.of("send_email", send_email)
    assert registry.get("send_email") is registration


def test_register_refuses_a_name_already_taken_and_keeps_the_first_handler():
    registry = TaskRegistry()
    registry.register("send_email", send_email, "p-default")
    with pytest.raises(DuplicateTaskName) as caught:
        registry.register("send_email", other, "p-other")
    assert caught.value.task_name == "send_email"
    assert "'send_email' is already registered" in str(caught.value)
    assert registry.get("send_email").handler is send_email
    assert registry.queues() == ["p-default"]


def test_register_refuses_the_same_handler_twice_under_one_name():
    registry = TaskRegistry()
    registry.register("send_email", send_email, "p-default")
    with pytest.raises(DuplicateTaskName):
        registry.register("send_email", send_email, "p-default")


def test_get_of_an_unknown_name_raises_unknown_task_listing_registered_names():
    registry = TaskRegistry()
    registry.register("send_email", send_email, "p-default")
    registry.register("billing.charge", other, "p-default")
    with pytest.raises(UnknownTask) as caught:
        registry.get("send_emails")
    error = caught.value
    assert error.task_name == "send_emails"
    assert error.known == ("billing.charge", "send_email")
    assert "'send_emails'" in str(error)
    assert "Registered tasks: billing.charge, send_email." in str(error)


def test_get_on_an_empty_registry_raises_unknown_task_without_a_list():
    with pytest.raises(UnknownTask) as caught:
        TaskRegistry().get("send_email")
    assert caught.value.known == ()
    assert "Registered tasks" not in str(caught.value)


@pytest.mark.parametrize("name", ["", "_private", "bad name", "a" * 129])
def test_register_refuses_an_invalid_task_name_and_registers_nothing(name):
    registry = TaskRegistry()
    with pytest.raises(InvalidTaskName):
        registry.register(name, send_email, "p-default")
    assert registry.task_names() == []


def test_register_refuses_an_unsupported_handler_and_leaves_the_name_free():
    registry = TaskRegistry()
    with pytest.raises(UnsupportedHandler) as caught:
        registry.register("send_email", with_args, "p-default")
    assert caught.value.task_name == "send_email"
    assert registry.task_names() == []
    registry.register("send_email", send_email, "p-default")
    assert registry.get("send_email").handler is send_email


@pytest.mark.parametrize(
    "queue_name",
    [
        "default",
        "p-default",
        "my_queue-2",
        "a",
        "q" * MAX_QUEUE_NAME_LENGTH,
        "orders.fifo",
        "q" * (MAX_QUEUE_NAME_LENGTH - len(".fifo")) + ".fifo",
    ],
)
def test_check_queue_name_accepts_valid_sqs_names(queue_name):
    assert check_queue_name(queue_name) == queue_name


def test_queue_name_limit_is_80_characters():
    assert MAX_QUEUE_NAME_LENGTH == 80


@pytest.mark.parametrize(
    "queue_name",
    ["", "q" * 81, "q" * (MAX_QUEUE_NAME_LENGTH - len(".fifo") + 1) + ".fifo"],
)
def test_check_queue_name_refuses_empty_and_too_long_names(queue_name):
    with pytest.raises(InvalidQueueName) as caught:
        check_queue_name(queue_name)
    assert caught.value.queue_name == queue_name
    assert caught.value.reason == "SQS queue names are 1 to 80 characters long"


@pytest.mark.parametrize(
    "queue_name",
    [
        "has space",
        "dot.name",
        "p:default",
        "p/default",
        "caf\u00e9",
        "tab\t",
        "newline\n",
        ".fifo",
        "orders.fifo.fifo",
        "orders.fifo-dlq",
        "orders.FIFO",
        "orders.fif",
        "orders.",
    ],
)
def test_check_queue_name_refuses_other_characters_and_fifo_not_at_the_end(queue_name):
    with pytest.raises(InvalidQueueName) as caught:
        check_queue_name(queue_name)
    assert caught.value.queue_name == queue_name
    assert caught.value.reason.startswith("use letters, digits, _ and - only")
    assert repr(queue_name) in str(caught.value)


def test_register_refuses_an_invalid_queue_name_and_registers_nothing():
    registry = TaskRegistry()
    with pytest.raises(InvalidQueueName) as caught:
        registry.register("send_email", send_email, "p.default")
    assert caught.value.queue_name == "p.default"
    assert registry.task_names() == []
    assert registry.queues() == []


def test_queues_lists_each_queue_once_in_registration_order():
    registry = TaskRegistry()
    registry.register("t1", other, "p-b")
    registry.register("t2", other, "p-a")
    registry.register("t3", other, "p-b")
    registry.register("t4", other, "p-c")
    registry.register("t5", other, "p-a")
    assert registry.queues() == ["p-b", "p-a", "p-c"]


def test_task_names_lists_names_in_registration_order():
    registry = TaskRegistry()
    for name in ["zeta", "alpha", "mid"]:
        registry.register(name, other, "p-default")
    assert registry.task_names() == ["zeta", "alpha", "mid"]


def test_two_registries_share_nothing():
    first, second = TaskRegistry(), TaskRegistry()
    first.register("send_email", send_email, "p-default")
    assert second.task_names() == []


async def coroutine_handler(to):
    pass


async def async_generator_handler(to):
    yield to


class AsyncCallable:
    async def __call__(self, to):
        pass


class AsyncMethods:
    async def send(self, to):
        pass


class SyncCallable:
    def __call__(self, to):
        pass


def marked_coroutine_function():
    def handler(to):
        pass

    return inspect.markcoroutinefunction(handler)


def sync_wrapper_of_async():
    @functools.wraps(coroutine_handler)
    def handler(to):
        return asyncio.run(coroutine_handler(to))

    return handler


ASYNC_HANDLERS = {
    "async def": lambda: coroutine_handler,
    "a partial of an async def": lambda: functools.partial(coroutine_handler),
    "a partial of a partial of an async def": lambda: functools.partial(
        functools.partial(coroutine_handler), to="x"
    ),
    "an async generator function": lambda: async_generator_handler,
    "a partial of an async generator function": lambda: functools.partial(async_generator_handler),
    "an object whose __call__ is async": AsyncCallable,
    "a partial of an object whose __call__ is async": lambda: functools.partial(AsyncCallable()),
    "a bound async method": lambda: AsyncMethods().send,
}
MARKED = pytest.param(
    marked_coroutine_function,
    id="a function marked by inspect.markcoroutinefunction",
    marks=pytest.mark.skipif(not hasattr(inspect, "markcoroutinefunction"), reason="Python 3.12+"),
)


COROUTINE_HANDLERS = {
    kind: make for kind, make in ASYNC_HANDLERS.items() if "generator" not in kind
}
ASYNC_GENERATOR_HANDLERS = {
    kind: make for kind, make in ASYNC_HANDLERS.items() if "generator" in kind
}


@pytest.mark.parametrize(
    "make_handler",
    [*[pytest.param(make, id=kind) for kind, make in COROUTINE_HANDLERS.items()], MARKED],
)
def test_register_accepts_a_coroutine_handler_and_marks_it_async(make_handler):
    registry = TaskRegistry()
    registry.register("send_email", make_handler(), "p-default")
    assert registry.get("send_email").is_async


@pytest.mark.parametrize(
    "make_handler",
    [pytest.param(make, id=kind) for kind, make in ASYNC_GENERATOR_HANDLERS.items()],
)
def test_register_refuses_an_async_generator_handler_saying_to_return_instead(make_handler):
    registry = TaskRegistry()
    with pytest.raises(UnsupportedHandler) as caught:
        registry.register("send_email", make_handler(), "p-default")
    message = str(caught.value)
    assert "task 'send_email' cannot be registered" in message
    assert "async generator" in message
    assert "Return instead of yield" in message
    assert registry.task_names() == []


def test_register_marks_a_sync_handler_not_async():
    registry = TaskRegistry()
    registry.register("send_email", send_email, "p-default")
    assert not registry.get("send_email").is_async


@pytest.mark.parametrize(
    "handler",
    [
        send_email,
        SyncCallable(),
        functools.partial(send_email, subject="x"),
        sync_wrapper_of_async(),
    ],
    ids=["a function", "an object whose __call__ is sync", "a partial", "a sync wrapper of async"],
)
def test_register_accepts_synchronous_callables(handler):
    TaskRegistry().register("send_email", handler, "p-default")
