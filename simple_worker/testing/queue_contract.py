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

An adapter whose clock is not the real one (the in-memory queue with a `FakeClock`)
also overrides ``let_time_pass``, which by default sleeps.

An adapter that does FIFO queues also passes `FifoQueuePortContract`, with the
same ``queue_port`` fixture and a ``new_fifo_queue``::

    class TestMyAdapterFifo(FifoQueuePortContract):
        @pytest.fixture
        def new_fifo_queue(self, queue_port: MyAdapter) -> NewFifoQueue:
            def create(*, content_based_deduplication: bool = False) -> str:
                name = f"contract-{uuid.uuid4().hex}.fifo"
                ...  # create an empty FIFO queue called name
                return name

            return create

The tests hold only what both SQS and the in-memory queue guarantee, and wait (with
``let_time_pass``) only twice, so the suite stays fast against a real server: one
test waits out a one-second delivery delay, one a five-second visibility timeout
that a receive asked for. Receives that expect a message poll for up to a second,
as real SQS's short polls may miss messages; receives that expect nothing do not
wait.
"""

# A test suite living in the package (so other adapters can import it) gets the rules
# pyproject relaxes for tests/: it asserts, compares literals, and its names are its docs.
# ruff: noqa: S101, D102, PLR2004

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Protocol

import pytest

from simple_worker.domain._errors import QueueNotFound
from simple_worker.ports.queue import (
    MAX_BATCH_SIZE,
    OutgoingMessage,
    QueuePort,
    QueueStats,
    ReceivedMessage,
    VisibilityChange,
)

__all__ = ["FifoQueuePortContract", "NewFifoQueue", "NewQueue", "QueuePortContract"]

_POLL_SECONDS = 1


class NewQueue(Protocol):
    """Creates a fresh, empty queue with a unique name and returns its full name."""

    def __call__(self, visibility_timeout: int = 30) -> str:
        """Create the queue, whose messages stay invisible ``visibility_timeout`` seconds."""


class NewFifoQueue(Protocol):
    """Creates a fresh, empty FIFO queue (``<unique>.fifo``) and returns its full name."""

    def __call__(self, *, content_based_deduplication: bool = False) -> str:
        """Create the queue, deduplicating by body hash if ``content_based_deduplication``."""


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


def _receive(port: QueuePort, queue: str, count: int) -> list[ReceivedMessage]:
    """Receive ``count`` messages, and any more that come at once; leave them in flight."""
    received: list[ReceivedMessage] = []
    for _ in range(count):
        received += port.receive_batch(queue, wait_seconds=_POLL_SECONDS)
        if len(received) >= count:
            break
    assert len(received) >= count, received
    return received + port.receive_batch(queue, wait_seconds=0)


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

    @pytest.fixture
    def let_time_pass(self) -> Callable[[float], None]:
        """Override if the adapter's clock is not the real one: make ``seconds`` go by."""
        return time.sleep

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

    def test_a_visibility_timeout_given_to_receive_hides_the_message_that_long(
        self,
        queue_port: QueuePort,
        new_queue: NewQueue,
        let_time_pass: Callable[[float], None],
    ) -> None:
        # A queue whose own timeout (0) would leave a received message visible at once.
        queue = new_queue(visibility_timeout=0)
        _send(queue_port, queue, '{"n": 1}')
        first = queue_port.receive_batch(
            queue, max_messages=1, wait_seconds=_POLL_SECONDS, visibility_timeout=5
        )
        assert len(first) == 1, first

        at_once = queue_port.receive_batch(queue, wait_seconds=0)
        let_time_pass(3.5)  # short of 5 s by more than a slow call takes
        before = queue_port.receive_batch(queue, wait_seconds=0)
        let_time_pass(1.6)
        after = _receive_one(queue_port, queue)

        assert (at_once, before) == ([], [])
        assert (after.message_id, after.receive_count) == (first[0].message_id, 2)

    def test_a_receive_with_visibility_timeout_zero_leaves_the_message_visible(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue(visibility_timeout=30)
        _send(queue_port, queue, '{"n": 1}')
        first = queue_port.receive_batch(
            queue, max_messages=1, wait_seconds=_POLL_SECONDS, visibility_timeout=0
        )
        assert len(first) == 1, first

        again = _receive_one(queue_port, queue)

        assert (again.message_id, again.receive_count) == (first[0].message_id, 2)
        assert again.receipt != first[0].receipt

    @pytest.mark.parametrize(
        "arguments",
        [
            {"max_messages": 0},
            {"max_messages": 11},
            {"wait_seconds": -1},
            {"wait_seconds": 21},
            {"visibility_timeout": -1},
            {"visibility_timeout": 43_201},
        ],
        ids=lambda arguments: "-".join(f"{k}={v}" for k, v in arguments.items()),
    )
    def test_receive_refuses_an_argument_out_of_range_with_value_error(
        self, queue_port: QueuePort, new_queue: NewQueue, arguments: dict[str, int]
    ) -> None:
        queue = new_queue()
        _send(queue_port, queue, '{"n": 1}')

        with pytest.raises(ValueError, match=next(iter(arguments))):
            queue_port.receive_batch(queue, **arguments)

        assert _receive_one(queue_port, queue).receive_count == 1  # nothing was received

    def test_describe_says_a_standard_queue_is_not_fifo(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        assert queue_port.describe(new_queue()).fifo is False

    def test_a_delayed_message_is_not_received_before_its_delay(
        self,
        queue_port: QueuePort,
        new_queue: NewQueue,
        let_time_pass: Callable[[float], None],
    ) -> None:
        queue = new_queue()
        result = queue_port.send_batch(
            queue,
            [OutgoingMessage("later", '"later"', delay_seconds=1), OutgoingMessage("now", '"now"')],
        )
        assert result.sent == ("later", "now")

        first = _receive(queue_port, queue, 1)
        stats = queue_port.stats(queue)
        let_time_pass(1.1)
        second = queue_port.receive_batch(queue, wait_seconds=2)

        assert [message.body for message in first] == ['"now"']
        assert (stats.delayed, stats.in_flight) == (1, 1)
        assert [(m.body, m.receive_count) for m in second] == [('"later"', 1)]

    def test_message_attributes_come_back_as_text(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        attributes: dict[str, str | int] = {"trace": "abc-123", "attempt": 3, "lang.de": "Grüße"}
        queue_port.send_batch(queue, [OutgoingMessage("m", "{}", attributes=attributes)])

        message = _receive_one(queue_port, queue)

        assert message.attributes == {"trace": "abc-123", "attempt": "3", "lang.de": "Grüße"}

    def test_a_group_id_comes_back_on_a_standard_queue_and_none_without_one(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        queue_port.send_batch(
            queue, [OutgoingMessage("a", '"a"', group_id="tenant-1"), OutgoingMessage("b", '"b"')]
        )

        received = _receive(queue_port, queue, 2)

        assert {m.body: (m.group_id, dict(m.attributes)) for m in received} == {
            '"a"': ("tenant-1", {}),
            '"b"': (None, {}),
        }

    def test_a_group_id_on_a_standard_queue_holds_no_message_back(
        self, queue_port: QueuePort, new_queue: NewQueue
    ) -> None:
        queue = new_queue()
        group = [OutgoingMessage(f"m{n}", f'"{n}"', group_id="tenant-1") for n in range(3)]
        queue_port.send_batch(queue, group)

        # All three in flight at once: a fair queue's group is no FIFO message group.
        received = _receive(queue_port, queue, 3)

        assert sorted(m.body for m in received) == ['"0"', '"1"', '"2"']

    @pytest.mark.parametrize(
        ("bad", "code"),
        [
            (OutgoingMessage("bad", "{}", deduplication_id="d"), "InvalidParameterValue"),
            (OutgoingMessage("bad", "{}", delay_seconds=901), "InvalidParameterValue"),
            (
                OutgoingMessage("bad", "{}", attributes={f"a{n}": n for n in range(11)}),
                "InvalidParameterValue",
            ),
            (OutgoingMessage("bad", "{}", attributes={"AWS.trace": "x"}), "InvalidParameterValue"),
            (OutgoingMessage("bad", "{}", attributes={"a..b": "x"}), "InvalidParameterValue"),
            (OutgoingMessage("bad", "{}", attributes={"empty": ""}), "InvalidParameterValue"),
            (OutgoingMessage("bad", "{}", attributes={"flag": True}), "InvalidParameterValue"),
            (OutgoingMessage("bad", "{}", group_id="has space"), "InvalidParameterValue"),
        ],
        ids=[
            "deduplication-id",
            "delay-over-900",
            "11-attributes",
            "reserved-name",
            "double-dot",
            "empty-value",
            "bool-value",
            "bad-group-id",
        ],
    )
    def test_a_message_a_standard_queue_refuses_fails_alone_with_the_reason(
        self, queue_port: QueuePort, new_queue: NewQueue, bad: OutgoingMessage, code: str
    ) -> None:
        queue = new_queue()

        result = queue_port.send_batch(queue, [OutgoingMessage("good", "{}", group_id="g"), bad])

        assert result.sent == ("good",), result
        assert result.failed[bad.id].startswith(f"{code}: "), result


class FifoQueuePortContract:
    """The behaviour of FIFO queues; subclass it to test an adapter that does them."""

    @pytest.fixture
    def queue_port(self) -> QueuePort:
        """Override: the adapter under test."""
        raise NotImplementedError("override the queue_port fixture in your test class")

    @pytest.fixture
    def new_fifo_queue(self) -> NewFifoQueue:
        """Override: a `NewFifoQueue` that creates fresh FIFO queues on the adapter."""
        raise NotImplementedError("override the new_fifo_queue fixture in your test class")

    def test_describe_says_a_fifo_queue_is_fifo_and_how_it_deduplicates(
        self, queue_port: QueuePort, new_fifo_queue: NewFifoQueue
    ) -> None:
        plain = queue_port.describe(new_fifo_queue())
        by_content = queue_port.describe(new_fifo_queue(content_based_deduplication=True))

        assert (plain.fifo, plain.content_based_deduplication) == (True, False)
        assert (by_content.fifo, by_content.content_based_deduplication) == (True, True)

    def test_each_groups_messages_come_in_the_order_sent_across_batches(
        self, queue_port: QueuePort, new_fifo_queue: NewFifoQueue
    ) -> None:
        queue = new_fifo_queue()
        groups = ["a", "b"] * 12  # interleaved: a0, b1, a2, b3, ...
        messages = [
            OutgoingMessage(f"m{n}", json.dumps([g, n]), group_id=g, deduplication_id=f"d{n}")
            for n, g in enumerate(groups)
        ]
        assert len(queue_port.send_batch(queue, messages).sent) == 24  # in three calls

        order: list[list[object]] = []
        for _ in range(24):
            received = queue_port.receive_batch(queue, wait_seconds=_POLL_SECONDS)
            order += [json.loads(message.body) for message in received]
            queue_port.delete_batch(queue, [message.receipt for message in received])
            if len(order) == 24:
                break

        assert [n for group, n in order if group == "a"] == list(range(0, 24, 2))
        assert [n for group, n in order if group == "b"] == list(range(1, 24, 2))

    def test_no_message_of_a_group_comes_while_one_of_its_messages_is_in_flight(
        self, queue_port: QueuePort, new_fifo_queue: NewFifoQueue
    ) -> None:
        queue = new_fifo_queue()
        queue_port.send_batch(
            queue,
            [
                OutgoingMessage(body, f'"{body}"', group_id=body[0], deduplication_id=body)
                for body in ("a1", "a2", "b1")
            ],
        )
        a1 = _receive_one(queue_port, queue)

        others = _receive(queue_port, queue, 1)
        assert queue_port.delete_batch(queue, [a1.receipt]) == {}
        after = _receive_one(queue_port, queue)

        assert a1.body == '"a1"'
        assert [m.body for m in others] == ['"b1"']
        assert (after.body, after.group_id) == ('"a2"', "a")

    def test_a_message_made_visible_again_comes_before_the_rest_of_its_group(
        self, queue_port: QueuePort, new_fifo_queue: NewFifoQueue
    ) -> None:
        queue = new_fifo_queue()
        queue_port.send_batch(
            queue,
            [
                OutgoingMessage(f"m{n}", f'"{n}"', group_id="g", deduplication_id=f"d{n}")
                for n in (1, 2)
            ],
        )
        first = _receive_one(queue_port, queue)

        _release(queue_port, queue, first)
        again = _receive_one(queue_port, queue)

        assert (first.body, again.body, again.receive_count) == ('"1"', '"1"', 2)

    def test_a_group_stays_locked_only_for_the_visibility_timeout_a_receive_gave(
        self, queue_port: QueuePort, new_fifo_queue: NewFifoQueue
    ) -> None:
        queue = new_fifo_queue()
        queue_port.send_batch(
            queue,
            [
                OutgoingMessage(f"m{n}", f'"{n}"', group_id="g", deduplication_id=f"d{n}")
                for n in (1, 2)
            ],
        )
        first = queue_port.receive_batch(
            queue, max_messages=1, wait_seconds=_POLL_SECONDS, visibility_timeout=0
        )
        assert [m.body for m in first] == ['"1"']

        # Visible at once, not after the queue's 30 s, and still before the rest of its group.
        again = _receive_one(queue_port, queue)

        assert (again.body, again.receive_count) == ('"1"', 2)

    def test_a_deduplication_id_sent_again_is_reported_sent_but_received_once(
        self, queue_port: QueuePort, new_fifo_queue: NewFifoQueue
    ) -> None:
        queue = new_fifo_queue()
        # Two groups, so that the first one in flight could not hide a second copy.
        first = OutgoingMessage("first", '"first"', group_id="g1", deduplication_id="same")
        second = OutgoingMessage("second", '"second"', group_id="g2", deduplication_id="same")

        results = [queue_port.send_batch(queue, [message]) for message in (first, second)]
        received = _receive(queue_port, queue, 1)

        assert [result.sent for result in results] == [("first",), ("second",)]
        assert [message.body for message in received] == ['"first"']

    def test_content_based_deduplication_drops_a_body_sent_again(
        self, queue_port: QueuePort, new_fifo_queue: NewFifoQueue
    ) -> None:
        queue = new_fifo_queue(content_based_deduplication=True)
        messages = [OutgoingMessage(f"m{n}", '"same"', group_id=f"g{n}") for n in range(2)]

        result = queue_port.send_batch(
            queue, [*messages, OutgoingMessage("x", '"other"', group_id="g")]
        )
        received = _receive(queue_port, queue, 2)

        assert result.sent == ("m0", "m1", "x")
        assert sorted(message.body for message in received) == ['"other"', '"same"']

    def test_group_id_and_attributes_come_back(
        self, queue_port: QueuePort, new_fifo_queue: NewFifoQueue
    ) -> None:
        queue = new_fifo_queue()
        queue_port.send_batch(
            queue,
            [
                OutgoingMessage(
                    "m", "{}", group_id="order-7", deduplication_id="d", attributes={"n": 1}
                )
            ],
        )

        message = _receive_one(queue_port, queue)

        assert (message.group_id, dict(message.attributes)) == ("order-7", {"n": "1"})

    @pytest.mark.parametrize(
        ("bad", "code"),
        [
            (OutgoingMessage("bad", "{}", deduplication_id="d"), "MissingParameter"),
            (OutgoingMessage("bad", "{}", group_id="g"), "InvalidParameterValue"),
            (
                OutgoingMessage("bad", "{}", group_id="g", deduplication_id="d", delay_seconds=1),
                "InvalidParameterValue",
            ),
        ],
        ids=["no-group-id", "no-deduplication-id", "delay"],
    )
    def test_a_message_a_fifo_queue_refuses_fails_alone_with_the_reason(
        self, queue_port: QueuePort, new_fifo_queue: NewFifoQueue, bad: OutgoingMessage, code: str
    ) -> None:
        queue = new_fifo_queue()

        result = queue_port.send_batch(
            queue, [OutgoingMessage("good", "{}", group_id="g", deduplication_id="ok"), bad]
        )

        assert result.sent == ("good",), result
        assert result.failed[bad.id].startswith(f"{code}: "), result
