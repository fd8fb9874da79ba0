"""The `QueuePort` contract: one test suite that every queue adapter must pass.

Subclass `QueuePortContract` in a test module and provide two fixtures::

    class TestMyAdapter(QueuePortContract):
        @pytest.fixture
        def queue_port(self) -> QueuePort:
            return MyAdapter()

        @pytest.fixture
        def new_queue(self, queue_port: MyAdapter) -> NewQueue:
            def create(visibility_timeout: int = 30) -> str:
                name = f"contract-{uuid.uuid4().hex}"
                ...  # create an empty queue called name with that visibility timeout
                return name

            return create

The tests hold only what both SQS and the in-memory queue guarantee, and never wait
for a visibility timeout to run out, so the suite stays fast against a real server.
Receives that expect a message poll for up to a second, as real SQS's short polls
may miss messages; receives that expect nothing do not wait.
"""

# A test suite living in the package (so other adapters can import it) gets the rules
# pyproject relaxes for tests/: it asserts, compares literals, and its names are its docs.
# ruff: noqa: S101, D102, PLR2004

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Protocol

import pytest

from simple_worker.domain.errors import QueueNotFound
from simple_worker.ports.queue import (
    MAX_BATCH_SIZE,
    OutgoingMessage,
    QueuePort,
    QueueStats,
    ReceivedMessage,
    VisibilityChange,
)

__all__ = ["NewQueue", "QueuePortContract"]

_POLL_SECONDS = 1


class NewQueue(Protocol):
    """Creates a fresh, empty queue with a unique name and returns its full name."""

    def __call__(self, visibility_timeout: int = 30) -> str:
        """Create the queue, whose messages stay invisible ``visibility_timeout`` seconds."""


def _send(port: QueuePort, queue: str, *bodies: str) -> None:
    messages = [OutgoingMessage(id=f"m{index}", body=body) for index, body in enumerate(bodies)]
    result = port.send_batch(queue, messages)
    assert len(result.sent) == len(bodies), result


def _receive_one(port: QueuePort, queue: str) -> ReceivedMessage:
    received = port.receive_batch(queue, max_messages=1, wait_seconds=_POLL_SECONDS)
    assert len(received) == 1, received
    return received[0]


def _release(port: QueuePort, queue: str, message: ReceivedMessage) -> None:
    assert port.change_visibility_batch(queue, [VisibilityChange(message.receipt, 0)]) == {}


def _missing_queue_name() -> str:
    return f"contract-missing-{uuid.uuid4().hex}"


_OPERATIONS_ON_A_QUEUE: dict[str, Callable[[QueuePort, str], object]] = {
    "describe": lambda port, queue: port.describe(queue),
    "send_batch": lambda port, queue: port.send_batch(queue, [OutgoingMessage("m", "{}")]),
    "receive_batch": lambda port, queue: port.receive_batch(queue),
    "stats": lambda port, queue: port.stats(queue),
}


class QueuePortContract:
    """The behaviour every `QueuePort` adapter shares; subclass it to test an adapter."""

    @pytest.fixture
    def queue_port(self) -> QueuePort:
        """Override: the adapter under test."""
        raise NotImplementedError("override the queue_port fixture in your test class")

    @pytest.fixture
    def new_queue(self) -> NewQueue:
        """Override: a `NewQueue` that creates fresh queues on the adapter under test."""
        raise NotImplementedError("override the new_queue fixture in your test class")

    def test_a_sent_message_is_received_with_its_body_and_receive_count_one(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        _send(queue_port, queue, '{"task_name": "hello"}')

        message = _receive_one(queue_port, queue)

        assert message.body == '{"task_name": "hello"}'
        assert message.receive_count == 1
        assert message.queue == queue

    def test_send_batch_of_25_messages_sends_them_all(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        messages = [OutgoingMessage(id=f"task-{n}", body=f'{{"n": {n}}}') for n in range(25)]

        result = queue_port.send_batch(queue, messages)

        assert sorted(result.sent) == sorted(message.id for message in messages)
        assert result.failed == {}
        assert result.unknown == ()

    def test_25_messages_are_all_received_over_several_receives(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        _send(queue_port, queue, *(f'{{"n": {n}}}' for n in range(25)))

        bodies: list[str] = []
        for _ in range(25):
            received = queue_port.receive_batch(queue, wait_seconds=_POLL_SECONDS)
            bodies.extend(message.body for message in received)
            if len(bodies) >= 25:
                break

        assert sorted(bodies) == sorted(f'{{"n": {n}}}' for n in range(25))

    def test_receive_never_returns_more_than_max_messages(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        _send(queue_port, queue, *(f'{{"n": {n}}}' for n in range(25)))

        three = queue_port.receive_batch(queue, max_messages=3, wait_seconds=_POLL_SECONDS)
        at_most_ten = queue_port.receive_batch(queue, wait_seconds=_POLL_SECONDS)

        assert 1 <= len(three) <= 3
        assert 1 <= len(at_most_ten) <= MAX_BATCH_SIZE

    def test_a_received_message_is_not_received_again_while_invisible(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        _send(queue_port, queue, '{"n": 1}')
        _receive_one(queue_port, queue)

        assert queue_port.receive_batch(queue, wait_seconds=0) == []

    def test_changing_visibility_to_zero_makes_a_message_receivable_again(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        _send(queue_port, queue, '{"n": 1}')
        first = _receive_one(queue_port, queue)

        _release(queue_port, queue, first)
        second = _receive_one(queue_port, queue)

        assert second.body == first.body
        assert second.message_id == first.message_id
        assert second.receive_count == 2
        assert second.receipt != first.receipt

    def test_a_deleted_message_is_gone_for_good(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        _send(queue_port, queue, '{"n": 1}')
        message = _receive_one(queue_port, queue)

        failed = queue_port.delete_batch(queue, [message.receipt])

        assert failed == {}
        assert queue_port.stats(queue) == QueueStats(visible=0, in_flight=0, delayed=0)
        assert queue_port.receive_batch(queue, wait_seconds=0) == []

    def test_deleting_with_a_stale_receipt_does_not_raise(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        _send(queue_port, queue, '{"n": 1}')
        stale = _receive_one(queue_port, queue)
        _release(queue_port, queue, stale)
        _receive_one(queue_port, queue)

        # SQS may accept a stale receipt, so only the absence of an exception is shared.
        failed = queue_port.delete_batch(queue, [stale.receipt])

        assert isinstance(failed, dict)

    def test_deleting_with_a_made_up_receipt_is_reported_not_raised(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        _send(queue_port, queue, '{"n": 1}')
        message = _receive_one(queue_port, queue)

        failed = queue_port.delete_batch(queue, ["made-up-receipt"])

        assert isinstance(failed, dict)
        _release(queue_port, queue, message)
        assert _receive_one(queue_port, queue).message_id == message.message_id

    def test_receive_on_an_empty_queue_returns_nothing(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()

        assert queue_port.receive_batch(queue, wait_seconds=0) == []

    def test_describe_returns_the_visibility_timeout_and_a_size_limit(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue(visibility_timeout=45)

        info = queue_port.describe(queue)

        assert info.visibility_timeout == 45
        assert info.max_message_size > 0

    @pytest.mark.parametrize("operation", list(_OPERATIONS_ON_A_QUEUE))
    def test_an_operation_on_a_missing_queue_raises_queue_not_found_naming_it(
        self, queue_port: QueuePort, operation: str
    ) -> None:
        missing = _missing_queue_name()

        with pytest.raises(QueueNotFound) as raised:
            _OPERATIONS_ON_A_QUEUE[operation](queue_port, missing)

        assert missing in raised.value.queue_names

    def test_stats_count_visible_and_in_flight_messages(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        _send(queue_port, queue, '{"n": 1}', '{"n": 2}', '{"n": 3}')
        _receive_one(queue_port, queue)

        stats = queue_port.stats(queue)

        assert (stats.visible, stats.in_flight) == (2, 1)

    def test_a_body_with_non_ascii_and_json_characters_round_trips_unchanged(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        payload = {"text": "Grüße, 世界 🎉", "json": '{"a": [1, "\\"]}', "tab": "\t", "x": None}
        body = json.dumps(payload, ensure_ascii=False)
        _send(queue_port, queue, body)

        assert _receive_one(queue_port, queue).body == body
