import inspect
import re

import pytest

from simple_worker.domain import _errors as errors
from simple_worker.domain._errors import (
    InvalidPayload,
    MessageDecodeError,
    MessageTooLarge,
    QueueNotFound,
    QueueServiceError,
    SendFailed,
    SimpleWorkerError,
    TaskRefused,
    TooManyTasks,
)

ERROR_CLASSES = [
    cls
    for name, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, BaseException)
    and cls.__module__ == errors.__name__
    and not name.startswith("_")
]


def docstring_tree() -> dict[str, str | None]:
    """Map each class drawn in the module docstring to the parent it is drawn under."""
    parents: dict[str, str | None] = {}
    path: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        root = re.fullmatch(r"    (\w+)", line)
        branch = re.match(r"    ([│ ]*)[├└]── (\w+)", line)
        if root:
            path = [root.group(1)]
            parents[root.group(1)] = None
        elif branch:
            depth = len(branch.group(1)) // 4 + 1
            path = [*path[:depth], branch.group(2)]
            parents[branch.group(2)] = path[depth - 1]
    return parents


def test_the_errors_module_defines_the_errors_of_the_design():
    names = {cls.__name__ for cls in ERROR_CLASSES}
    assert {
        "SimpleWorkerError",
        "InvalidTaskName",
        "InvalidQueueName",
        "DuplicateTaskName",
        "UnsupportedHandler",
        "UnknownTask",
        "PayloadMismatch",
        "InvalidPayload",
        "MessageTooLarge",
        "MessageDecodeError",
        "QueueNotFound",
        "QueueServiceError",
        "SendFailed",
        "TooManyTasks",
    } <= names


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_derives_from_simple_worker_error(cls):
    assert issubclass(cls, SimpleWorkerError)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_has_a_docstring_starting_raised_when_or_raised_for(cls):
    doc = cls.__doc__ or ""
    assert doc.startswith(("Raised when", "Raised for")), doc


def test_module_docstring_draws_every_error_under_its_real_parent():
    tree = docstring_tree()
    assert set(tree) == {cls.__name__ for cls in ERROR_CLASSES}
    for cls in ERROR_CLASSES:
        parent = tree[cls.__name__]
        if parent is None:
            assert cls is SimpleWorkerError
        else:
            assert parent in {base.__name__ for base in cls.__bases__}, cls.__name__


def test_queue_not_found_with_one_queue_names_it_and_how_to_create_it():
    error = QueueNotFound(["p-default"])
    assert error.queue_names == ("p-default",)
    assert str(error) == (
        "1 queue does not exist: p-default. Create it, each with a dead-letter queue, with "
        "simple-worker queues create MODULE:APP (your App, as the worker command names it), "
        "or fix queue_prefix."
    )


def test_queue_not_found_with_two_queues_lists_both_and_how_to_create_them():
    error = QueueNotFound(["p-default", "p-emails"])
    assert error.queue_names == ("p-default", "p-emails")
    assert str(error) == (
        "2 queues do not exist: p-default, p-emails. Create them, each with a dead-letter "
        "queue, with simple-worker queues create MODULE:APP (your App, as the worker command "
        "names it), or fix queue_prefix."
    )


def test_send_failed_message_counts_sent_failed_and_unknown_tasks():
    error = SendFailed(
        "p-default",
        sent_ids=["id-1", "id-2"],
        failed={"id-3": "Throttled"},
        unknown_ids=["id-4"],
    )
    message = str(error)
    assert "2 of 4 tasks were sent to p-default" in message
    assert "1 was not sent (id-3: Throttled)" in message
    assert "1 may or may not have been sent (id-4)" in message
    assert message.endswith("Send the tasks that were not sent again.")


def test_send_failed_keeps_ids_and_is_a_queue_service_error():
    error = SendFailed("p-default", sent_ids=["a"], failed={"b": "InternalError"})
    assert isinstance(error, QueueServiceError)
    assert error.sent_ids == ("a",)
    assert error.failed == {"b": "InternalError"}
    assert error.unknown_ids == ()
    assert error.operation == "SendMessageBatch"
    assert error.queue == "p-default"


def test_send_failed_without_unknown_ids_does_not_mention_them():
    error = SendFailed("p-default", sent_ids=[], failed={"b": "InternalError"})
    assert "0 of 1 tasks were sent to p-default" in str(error)
    assert "may or may not" not in str(error)


def test_message_too_large_gives_size_and_limit():
    error = MessageTooLarge("send_email", size=2048, limit=1024)
    assert isinstance(error, TaskRefused)
    assert (error.task_name, error.size, error.limit) == ("send_email", 2048, 1024)
    assert "'send_email' encodes to 2048 bytes, over the limit of 1024 bytes" in str(error)


def test_invalid_payload_gives_task_path_and_reason():
    error = InvalidPayload("send_email", "payload['a'][1]", "set is not a JSON type")
    assert str(error).startswith(
        "The payload for task 'send_email' is not plain JSON at payload['a'][1]: "
        "set is not a JSON type."
    )


def test_message_decode_error_keeps_its_reason():
    error = MessageDecodeError("it has no task_name")
    assert error.reason == "it has no task_name"
    assert str(error) == "Message is not a task envelope: it has no task_name."


def test_too_many_tasks_gives_the_limit_and_how_to_raise_it():
    error = TooManyTasks(1000)
    assert error.limit == 1000
    assert "ran 1000 tasks" in str(error)
    assert "max_tasks" in str(error)
