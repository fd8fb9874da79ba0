import threading

from simple_worker.ports.queue import ReceivedMessage
from simple_worker.services.held import HeldMessages
from simple_worker.testing.clock import FakeClock


def messages(count, start=0):
    return [
        ReceivedMessage(queue="q", message_id=str(n), receipt=f"r{n}", body="b", receive_count=1)
        for n in range(start, start + count)
    ]


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

    assert held.finish(running) == 30
    clock.advance(20)

    assert held.due_for_extension({"q": 30}) == []
