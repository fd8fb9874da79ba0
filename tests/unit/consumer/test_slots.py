"""Concurrency limits: which buffered message a task thread may take (`TaskSlots`)."""

import json
import threading

from simple_worker.consumer._buffer import HeldMessages
from simple_worker.consumer._slots import TaskSlots, task_name_of
from simple_worker.ports.queue import ReceivedMessage
from simple_worker.testing import FakeClock


def message(n, name, queue="q"):
    body = json.dumps({"task_name": name, "task_payload": {}, "task_id": str(n)})
    return ReceivedMessage(queue, str(n), f"r{n}", body, receive_count=1)


def held(limits, queues=("q",), capacity=20):
    return HeldMessages(FakeClock(), capacity, dict.fromkeys(queues, 1), TaskSlots(limits))


def test_a_limited_task_is_admitted_until_its_slots_are_taken():
    slots = TaskSlots({"lim": 2})
    a, b, c, other = message(1, "lim"), message(2, "lim"), message(3, "lim"), message(4, "x")
    for m in (a, b):
        assert slots.admits(m)
        slots.started(m)
    assert not slots.admits(c)
    assert slots.admits(other)  # not limited
    assert slots.ended(a)
    assert not slots.ended(other)
    assert slots.admits(c)
    assert slots.running("lim") == 1


def test_a_body_that_is_not_a_task_envelope_is_not_limited():
    assert task_name_of("not json") is None
    assert task_name_of('["a pointer", {}]') is None
    assert task_name_of('{"task_name": 3}') is None
    assert task_name_of('{"task_name": "t"}') == "t"


def test_a_thread_takes_the_next_message_that_can_start_past_those_waiting_for_a_slot():
    buffer = held({"lim": 1})
    first, second, other = message(1, "lim"), message(2, "lim"), message(3, "x")
    booked = buffer.reserve("q", 0)
    buffer.add("q", [first, second, other], 30, booked)

    assert buffer.take(0) == first
    assert buffer.take(0) == other  # the second "lim" waits for the slot
    assert buffer.take(0) is None
    assert buffer.buffered_count() == 1

    buffer.finish(first)
    assert buffer.take(0) == second


def test_a_message_waiting_for_a_slot_is_still_extended_by_the_heartbeat():
    clock = FakeClock()
    buffer = HeldMessages(clock, 20, {"q": 1}, TaskSlots({"lim": 1}))
    buffer.add("q", [message(1, "lim"), message(2, "lim")], 30, buffer.reserve("q", 0))
    buffer.take(0)
    clock.advance(16)
    due = [m.receipt for m, _ in buffer.due_for_extension({"q": 30})]
    assert due == ["r2", "r1"]  # buffered, then running


def test_a_slot_freed_wakes_a_thread_waiting_for_it():
    buffer = held({"lim": 1})
    first, second = message(1, "lim"), message(2, "lim")
    buffer.add("q", [first, second], 30, buffer.reserve("q", 0))
    assert buffer.take(0) == first
    taken = []
    thread = threading.Thread(target=lambda: taken.append(buffer.take(10)))
    thread.start()
    buffer.finish(first)
    thread.join(10)
    assert taken == [second]


def test_receivers_get_extra_room_while_only_messages_waiting_for_a_slot_are_buffered():
    buffer = held({"lim": 1}, capacity=2)
    buffer.add("q", [message(1, "lim"), message(2, "lim")], 30, buffer.reserve("q", 0))
    assert buffer.take(0) is not None
    assert buffer.reserve("q", 0, extra=5) == 0  # no thread waits: no extra room

    waiting = []
    thread = threading.Thread(target=lambda: waiting.append(buffer.take(0.5)))
    thread.start()
    try:
        granted = 0
        for _ in range(50):
            granted = buffer.reserve("q", 0.01, extra=5)
            if granted:
                break
        assert granted > 0  # the full buffer holds nothing a waiting thread can run
    finally:
        thread.join(5)


def test_close_forgets_the_messages_waiting_for_a_slot():
    buffer = held({"lim": 1})
    waiting = message(2, "lim")
    buffer.add("q", [message(1, "lim"), waiting], 30, buffer.reserve("q", 0))
    buffer.take(0)
    assert buffer.close() == [waiting]
