import pytest

from simple_worker import App, InvalidTaskOptions
from simple_worker.domain._queue_rules import check_delay, is_fifo_queue, is_sqs_id, takes_delay


@pytest.mark.parametrize(
    ("name", "fifo"),
    [("q.fifo", True), ("q", False), ("fifo", False), ("q-fifo", False), ("a.fifo.fifo", True)],
)
def test_a_queue_is_fifo_when_its_name_ends_in_dot_fifo(name, fifo):
    assert is_fifo_queue(name) is fifo


@pytest.mark.parametrize(
    ("fifo", "delay", "taken"),
    [(False, 0, True), (False, 900, True), (True, 0, True), (True, 1, False)],
)
def test_a_fifo_queue_takes_no_delay_per_message(fifo, delay, taken):
    assert takes_delay(fifo=fifo, delay=delay) is taken


def test_check_delay_names_the_task_and_the_queue():
    with pytest.raises(InvalidTaskOptions, match=r"Task 't' goes to FIFO queue 'q.fifo'"):
        check_delay("q.fifo", 5, task_name="t")
    check_delay("q", 5, task_name="t")
    check_delay("q.fifo", 0)


@pytest.mark.parametrize(
    ("value", "valid"),
    [("g", True), ("a" * 128, True), ("a" * 129, False), ("", False), ("a b", False), ("é", False)],
)
def test_sqs_ids_are_1_to_128_printable_ascii_characters(value, valid):
    assert is_sqs_id(value) is valid


def test_registration_and_sending_refuse_a_fifo_delay_by_the_same_rule():
    app = App(testing_mode=True)
    with pytest.raises(InvalidTaskOptions, match="FIFO queues take no delay per message"):
        app.register_task_handler("t", queue="q.fifo", delay=5)
    app.register_task_handler("u", queue="q.fifo", group_by="g")(lambda g: None)
    with pytest.raises(InvalidTaskOptions, match="FIFO queues take no delay per message"):
        app.with_options(delay=5).add_task("u", g="x")
