import threading

from simple_worker.consumer._buffer import HeldMessages
from simple_worker.ports.queue import ReceivedMessage
from simple_worker.testing.clock import FakeClock


def messages(count, start=0, queue="q"):
    return [
        ReceivedMessage(queue=queue, message_id=str(n), receipt=f"r{n}", body="b", receive_count=1)
        for n in range(start, start + count)
    ]


def grouped(*names, queue="jobs.fifo"):
    """Messages named ``<group><n>``, e.g. ``grouped("a1", "a2", "b1")``."""
    return [
        ReceivedMessage(queue, name, f"r-{name}", name, receive_count=1, group_id=name[0])
        for name in names
    ]


def held_messages(capacity=20, queues=("q",), clock=None, weights=None):
    weights = weights or {}
    return HeldMessages(
        clock or FakeClock(), capacity, {name: weights.get(name, 1) for name in queues}
    )


def put(held, received, queue=None):
    """Buffer ``received`` as one receive would; its booking is not what the test is about."""
    queue = queue or received[0].queue
    held.add(queue, received, visibility_timeout=30, reserved=0)


def fifo_held(*names, capacity=20):
    held = held_messages(capacity, queues=("jobs.fifo",))
    held.keep_group_order(["jobs.fifo"])
    put(held, grouped(*names))
    return held


def bodies(received):
    return [message.body for message in received]


def test_reserve_books_room_so_concurrent_receives_cannot_overfill_the_buffer():
    held = held_messages(capacity=20)

    assert held.reserve("q", timeout=0) == 10
    assert held.reserve("q", timeout=0) == 10
    assert held.reserve("q", timeout=0) == 0  # both bookings are still under way

    held.add("q", messages(10), visibility_timeout=30, reserved=10)
    held.add("q", messages(3, 10), visibility_timeout=30, reserved=10)

    assert held.buffered_count() == 13
    assert held.reserve("q", timeout=0) == 0  # a receive waits until ten fit
    for _ in range(3):
        held.take(0)
    assert held.reserve("q", timeout=0) == 10


def test_extra_room_is_granted_only_while_the_buffer_is_empty_and_a_thread_waits():
    held = held_messages(capacity=10)
    assert held.reserve("q", timeout=0) == 10

    assert held.reserve("q", timeout=0, extra=30) == 0  # nobody waits for work

    taker = threading.Thread(target=held.take, args=(5,))
    taker.start()
    try:
        assert held.reserve("q", timeout=5, extra=30) == 10
    finally:
        held.add("q", messages(1), visibility_timeout=30, reserved=20)
        taker.join(5)


def test_add_after_close_buffers_nothing_and_frees_the_booking():
    held = held_messages(capacity=10)
    assert held.reserve("q", timeout=0) == 10
    held.close()

    assert held.add("q", messages(10), visibility_timeout=30, reserved=10) is False
    assert held.buffered_count() == 0
    assert held.held_counts() == {"q": 0}


def test_close_returns_the_buffered_messages_to_release():
    held = held_messages(capacity=10)
    held.reserve("q", timeout=0)
    held.add("q", messages(4), visibility_timeout=30, reserved=10)
    held.take(0)

    released = held.close()

    assert [m.message_id for m in released] == ["1", "2", "3"]
    assert held.take(0) is None


def test_due_for_extension_returns_messages_past_half_their_visibility_timeout():
    clock = FakeClock()
    held = held_messages(capacity=10, clock=clock)
    put(held, messages(2))
    held.take(0)  # one running, one buffered: both are held

    clock.advance(14)
    assert held.due_for_extension({"q": 30}) == []
    clock.advance(2)
    due = held.due_for_extension({"q": 30})

    assert sorted(m.message_id for m, _ in due) == ["0", "1"]
    assert {timeout for _, timeout in due} == {30}


def test_an_extension_not_reported_as_done_is_due_again_at_the_next_look():
    clock = FakeClock()
    held = held_messages(capacity=10, clock=clock)
    put(held, messages(2))
    clock.advance(16)

    held.extended(["r0"], 30, since=clock.monotonic())  # r1's call failed

    assert [m.message_id for m, _ in held.due_for_extension({"q": 30})] == ["1"]
    clock.advance(15)
    assert sorted(m.message_id for m, _ in held.due_for_extension({"q": 30})) == ["0", "1"]


def test_a_finished_message_is_no_longer_due():
    clock = FakeClock()
    held = held_messages(capacity=10, clock=clock)
    put(held, messages(1))
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

    put(held, grouped("a1", "a2"))

    assert held.take(0).body == "a1"
    assert held.take(0) is None


def test_group_ids_on_a_standard_queue_order_nothing():
    held = held_messages(capacity=10, queues=("jobs",))
    held.keep_group_order(["jobs.fifo"])
    put(held, grouped("a1", "a2", "a3", queue="jobs"))

    taken = [held.take(0) for _ in range(3)]
    _, released = held.finish(taken[0], succeeded=False)

    assert bodies(taken) == ["a1", "a2", "a3"]
    assert released == []


def test_fifo_messages_waiting_behind_their_group_are_held_extended_and_released_on_close():
    clock = FakeClock()
    held = held_messages(capacity=10, queues=("jobs.fifo",), clock=clock)
    held.keep_group_order(["jobs.fifo"])
    put(held, grouped("a1", "a2", "a3"))
    running = held.take(0)
    clock.advance(16)

    due = held.due_for_extension({"jobs.fifo": 30})
    released = held.close()

    assert sorted(m.body for m, _ in due) == ["a1", "a2", "a3"]
    assert bodies(released) == ["a2", "a3"]
    assert held.finish(running, succeeded=True)[1] == []


def test_fifo_messages_waiting_behind_their_group_take_room_in_the_buffer():
    held = fifo_held("a1", "a2", "a3", capacity=3)
    a1 = held.take(0)

    assert held.buffered_count() == 2
    assert held.reserve("jobs.fifo", timeout=0) == 0  # a batch of three does not fit
    held.finish(a1)
    held.finish(held.take(0))
    held.take(0)
    assert held.reserve("jobs.fifo", timeout=0) == 3


def test_an_idle_thread_lets_receivers_go_beyond_capacity_while_only_blocked_messages_wait():
    held = fifo_held("a1", "a2", "a3", capacity=3)
    held.take(0)
    taker = threading.Thread(target=held.take, args=(5,))
    taker.start()
    try:
        assert held.reserve("jobs.fifo", timeout=5, extra=10) == 3  # beyond the capacity
    finally:
        held.add("jobs.fifo", grouped("b1"), visibility_timeout=30, reserved=3)
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


# --- several queues: a place for every queue's poll, weighted turns for the threads ----------


def test_three_queues_can_all_book_room_for_their_long_polls_at_once():
    held = held_messages(capacity=20, queues=("a", "b", "c"))

    assert [held.reserve(name, timeout=0) for name in "abc"] == [1, 1, 1]
    assert held.held_counts() == {"a": 1, "b": 1, "c": 1}


def test_a_queue_turns_busy_once_a_receive_brings_messages_and_then_asks_for_batches():
    held = held_messages(capacity=22, queues=("a", "b", "c"))
    booked = held.reserve("a", timeout=0)
    held.add("a", messages(1, queue="a"), visibility_timeout=30, reserved=booked)

    assert held.reserve("a", timeout=0) == 10
    assert held.reserve("b", timeout=0) == 1


def test_a_queues_receiver_waiting_for_room_wakes_when_its_queue_empties():
    held = held_messages(capacity=3, queues=("a", "b", "c"))
    put(held, messages(3, queue="a"))  # a holds all it may: b and c are owed a place each
    got = []
    waiter = threading.Thread(target=lambda: got.append(held.reserve("a", timeout=5)))
    waiter.start()
    for _ in range(3):
        held.take(0)
    waiter.join(5)

    assert got == [1]


def test_task_threads_take_from_queues_in_weighted_turns_each_queue_in_order():
    held = held_messages(queues=("high", "low"), weights={"high": 3})
    put(held, messages(6, queue="high"))
    put(held, messages(6, start=100, queue="low"))

    taken = [held.take(0) for _ in range(12)]

    assert [m.queue for m in taken[:8]] == ["high", "high", "low", "high"] * 2
    assert [m.message_id for m in taken if m.queue == "low"] == [str(n) for n in range(100, 106)]
    assert held.take(0) is None
