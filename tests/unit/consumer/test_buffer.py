import threading

from simple_worker.consumer._buffer import HeldMessages
from simple_worker.ports.queue import ReceivedMessage
from simple_worker.testing.clock import FakeClock


def messages(count, start=0):
    return [
        ReceivedMessage(queue="q", message_id=str(n), receipt=f"r{n}", body="b", receive_count=1)
        for n in range(start, start + count)
    ]


def grouped(*names, queue="jobs.fifo"):
    """Messages named ``<group><n>``, e.g. ``grouped("a1", "a2", "b1")``."""
    return [
        ReceivedMessage(queue, name, f"r-{name}", name, receive_count=1, group_id=name[0])
        for name in names
    ]


def fifo_held(*names, capacity=20):
    held = HeldMessages(FakeClock(), capacity)
    held.keep_group_order(["jobs.fifo"])
    held.reserve(len(names), timeout=0)
    held.add(grouped(*names), visibility_timeout=30, reserved=len(names))
    return held


def bodies(received):
    return [message.body for message in received]


def test_reserve_books_room_so_concurrent_receives_cannot_overfill_the_buffer():
    held = HeldMessages(FakeClock(), capacity=20)

    assert held.reserve(10, timeout=0) == 10
    assert held.reserve(10, timeout=0) == 10
    assert held.reserve(10, timeout=0) == 0  # both bookings are still under way

    held.add(messages(10), visibility_timeout=30, reserved=10)
    held.add(messages(3, 10), visibility_timeout=30, reserved=10)

    assert held.buffered_count() == 13
    assert held.reserve(10, timeout=0) == 0
    assert held.reserve(7, timeout=0) == 7


def test_extra_room_is_granted_only_while_the_buffer_is_empty_and_a_thread_waits():
    held = HeldMessages(FakeClock(), capacity=10)
    assert held.reserve(10, timeout=0) == 10

    assert held.reserve(10, timeout=0, extra=30) == 0  # nobody waits for work

    taker = threading.Thread(target=held.take, args=(5,))
    taker.start()
    try:
        assert held.reserve(10, timeout=5, extra=30) == 10
    finally:
        held.add(messages(1), visibility_timeout=30, reserved=20)
        taker.join(5)


def test_add_after_close_buffers_nothing_and_frees_the_booking():
    held = HeldMessages(FakeClock(), capacity=10)
    assert held.reserve(10, timeout=0) == 10
    held.close()

    assert held.add(messages(10), visibility_timeout=30, reserved=10) is False
    assert held.buffered_count() == 0


def test_close_returns_the_buffered_messages_to_release():
    held = HeldMessages(FakeClock(), capacity=10)
    held.reserve(10, timeout=0)
    held.add(messages(4), visibility_timeout=30, reserved=10)
    held.take(0)

    released = held.close()

    assert [m.message_id for m in released] == ["1", "2", "3"]
    assert held.take(0) is None


def test_due_for_extension_returns_messages_past_half_their_visibility_timeout():
    clock = FakeClock()
    held = HeldMessages(clock, capacity=10)
    held.reserve(2, timeout=0)
    held.add(messages(2), visibility_timeout=30, reserved=2)
    held.take(0)  # one running, one buffered: both are held

    clock.advance(14)
    assert held.due_for_extension({"q": 30}) == []
    clock.advance(2)
    due = held.due_for_extension({"q": 30})

    assert sorted(m.message_id for m, _ in due) == ["0", "1"]
    assert {timeout for _, timeout in due} == {30}


def test_an_extension_not_reported_as_done_is_due_again_at_the_next_look():
    clock = FakeClock()
    held = HeldMessages(clock, capacity=10)
    held.reserve(2, timeout=0)
    held.add(messages(2), visibility_timeout=30, reserved=2)
    clock.advance(16)

    held.extended(["r0"], 30, since=clock.monotonic())  # r1's call failed

    assert [m.message_id for m, _ in held.due_for_extension({"q": 30})] == ["1"]
    clock.advance(15)
    assert sorted(m.message_id for m, _ in held.due_for_extension({"q": 30})) == ["0", "1"]


def test_a_finished_message_is_no_longer_due():
    clock = FakeClock()
    held = HeldMessages(clock, capacity=10)
    held.reserve(1, timeout=0)
    held.add(messages(1), visibility_timeout=30, reserved=1)
    running = held.take(0)

    assert held.finish(running) == (30, [])
    clock.advance(20)

    assert held.due_for_extension({"q": 30}) == []


def test_a_fifo_groups_next_message_is_not_taken_before_the_one_running_finished():
    held = fifo_held("a1", "a2", "b1")

    first, second = held.take(0), held.take(0)
    blocked = held.take(0)
    held.finish(first, succeeded=True)
    third = held.take(0)

    assert bodies([first, second]) == ["a1", "b1"]
    assert blocked is None
    assert third.body == "a2"
    assert held.buffered_count() == 0


def test_a_fifo_group_that_failed_hands_back_its_buffered_rest_to_release():
    held = fifo_held("a1", "a2", "a3", "b1", "b2")
    a1, b1 = held.take(0), held.take(0)

    _, released = held.finish(a1, succeeded=False)
    held.finish(b1, succeeded=True)

    assert bodies(released) == ["a2", "a3"]
    assert bodies([held.take(0)]) == ["b2"]
    assert held.take(0) is None
    assert held.buffered_count() == 0


def test_a_fifo_group_runs_again_once_its_failed_message_comes_back():
    held = fifo_held("a1", "a2")
    held.finish(held.take(0), succeeded=False)

    held.reserve(2, timeout=0)
    held.add(grouped("a1", "a2"), visibility_timeout=30, reserved=2)

    assert held.take(0).body == "a1"
    assert held.take(0) is None


def test_group_ids_on_a_standard_queue_order_nothing():
    held = HeldMessages(FakeClock(), capacity=10)
    held.keep_group_order(["jobs.fifo"])
    held.reserve(3, timeout=0)
    held.add(grouped("a1", "a2", "a3", queue="jobs"), visibility_timeout=30, reserved=3)

    taken = [held.take(0) for _ in range(3)]
    _, released = held.finish(taken[0], succeeded=False)

    assert bodies(taken) == ["a1", "a2", "a3"]
    assert released == []


def test_fifo_messages_waiting_behind_their_group_are_held_extended_and_released_on_close():
    clock = FakeClock()
    held = HeldMessages(clock, capacity=10)
    held.keep_group_order(["jobs.fifo"])
    held.reserve(3, timeout=0)
    held.add(grouped("a1", "a2", "a3"), visibility_timeout=30, reserved=3)
    running = held.take(0)
    clock.advance(16)

    due = held.due_for_extension({"jobs.fifo": 30})
    released = held.close()

    assert sorted(m.body for m, _ in due) == ["a1", "a2", "a3"]
    assert bodies(released) == ["a2", "a3"]
    assert held.finish(running, succeeded=True)[1] == []


def test_fifo_messages_waiting_behind_their_group_take_room_in_the_buffer():
    held = fifo_held("a1", "a2", "a3", capacity=3)
    held.take(0)

    assert held.buffered_count() == 2
    assert held.reserve(2, timeout=0) == 0
    assert held.reserve(1, timeout=0) == 1


def test_an_idle_thread_lets_receivers_go_beyond_capacity_while_only_blocked_messages_wait():
    held = fifo_held("a1", "a2", "a3", capacity=3)
    held.take(0)
    taker = threading.Thread(target=held.take, args=(5,))
    taker.start()
    try:
        assert held.reserve(10, timeout=5, extra=10) == 10
    finally:
        held.add(grouped("b1"), visibility_timeout=30, reserved=10)
        taker.join(5)


def test_a_fifo_group_is_idle_once_its_last_held_message_finished():
    held = fifo_held("a1", "a2", "b1")
    standard = messages(1)[0]

    a1, b1 = held.take(0), held.take(0)
    held.finish(a1)
    held.finish(b1)
    a2 = held.take(0)

    assert not held.group_idle(a1)  # a2 of its group is running
    assert held.group_idle(b1)
    held.finish(a2)
    assert held.group_idle(a2)
    assert not held.group_idle(standard)  # no group order to keep
