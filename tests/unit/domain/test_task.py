import attrs
import pytest

from simple_worker.domain._errors import InvalidTaskName, SimpleWorkerError
from simple_worker.domain._task import MAX_TASK_NAME_LENGTH, Task, check_task_name


@pytest.mark.parametrize(
    "name",
    [
        "send_email",
        "billing.charge",
        "reports:nightly",
        "a/b-c",
        "a",
        "7zip",
        "Upper.Case_9",
        "a" * MAX_TASK_NAME_LENGTH,
    ],
)
def test_check_task_name_accepts_and_returns_a_valid_name(name):
    assert check_task_name(name) == name


def test_task_name_limit_is_128_characters():
    assert MAX_TASK_NAME_LENGTH == 128


def test_check_task_name_refuses_an_empty_name():
    with pytest.raises(InvalidTaskName) as caught:
        check_task_name("")
    assert caught.value.name == ""
    assert caught.value.reason == "it is empty"
    assert "Invalid task name ''" in str(caught.value)


def test_check_task_name_refuses_129_characters_and_gives_length_and_limit():
    with pytest.raises(InvalidTaskName) as caught:
        check_task_name("a" * 129)
    assert caught.value.reason == "it is 129 characters long, the limit is 128"
    assert "129 characters long, the limit is 128" in str(caught.value)


def test_check_task_name_shortens_an_overlong_name_in_the_error():
    with pytest.raises(InvalidTaskName) as caught:
        check_task_name("a" * 10_000)
    assert caught.value.name == "a" * 128 + "..."
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize(
    "name",
    [
        "_private",
        ".hidden",
        "-dash",
        ":colon",
        "/slash",
        "send email",
        " send_email",
        "send_email ",
        "send\temail",
        "send\nemail",
        "send_email\n",
        "send\x00email",
        "send\x7femail",
        "caf\u00e9",
        "send,email",
        "send*",
    ],
)
def test_check_task_name_refuses_characters_outside_the_rule(name):
    with pytest.raises(InvalidTaskName) as caught:
        check_task_name(name)
    assert caught.value.name == name
    assert "letters, digits and _ . : - / only" in caught.value.reason
    assert repr(name) in str(caught.value)


@pytest.mark.parametrize(
    ("name", "type_name"), [(5, "int"), (None, "NoneType"), (b"send_email", "bytes")]
)
def test_check_task_name_refuses_a_non_str_and_names_its_type(name, type_name):
    with pytest.raises(InvalidTaskName) as caught:
        check_task_name(name)
    assert caught.value.name == name
    assert caught.value.reason == f"a task name is a str, not {type_name}"


def test_invalid_task_name_is_a_simple_worker_error():
    with pytest.raises(SimpleWorkerError):
        check_task_name("")


def test_task_refuses_an_invalid_name():
    with pytest.raises(InvalidTaskName) as caught:
        Task(name="bad name", payload={})
    assert caught.value.name == "bad name"


def test_task_refuses_a_non_str_name():
    with pytest.raises(InvalidTaskName):
        Task(name=None, payload={})  # type: ignore[arg-type]


def test_task_without_id_and_time_has_none_for_both():
    task = Task(name="send_email", payload={"to": "a@example.com"})
    assert task.name == "send_email"
    assert task.payload == {"to": "a@example.com"}
    assert task.id is None
    assert task.enqueued_at is None


def test_task_is_immutable():
    task = Task(name="send_email", payload={})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        task.name = "other"  # type: ignore[misc]
