"""How queues share the buffer's places: no queue is ever locked out, busy ones share by weight."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simple_worker.consumer._room import BufferRoom


def room(capacity, *queues, weights=None):
    weights = weights or {}
    return BufferRoom(capacity, {name: weights.get(name, 1) for name in queues})


def test_idle_queues_long_poll_with_one_place_each_so_a_third_queue_still_gets_room():
    # The bug this replaces: two empty long polls booked ten places each of twenty.
    shared = room(20, "a", "b", "c")
    for name in "abc":
        assert shared.grant(name) == 1
        shared.book(name, 1)

    assert shared.total() == 3


def test_a_busy_queue_among_idle_ones_receives_full_batches_up_to_what_idle_ones_leave():
    shared = room(22, "a", "b", "c")  # the default for one thread: 20 plus 2
    shared.book("a", 1)
    shared.received("a", booked=1, count=1)  # a turns busy

    assert shared.share("a") == 20
    assert shared.grant("a") == 10
    shared.book("a", 10)
    assert shared.grant("a") == 0  # 11 held: another ten would pass its 20
    assert (shared.grant("b"), shared.grant("c")) == (1, 1)


def test_busy_queues_share_the_places_by_weight():
    shared = room(20, "high", "low", weights={"high": 3})
    for name in ("high", "low"):
        shared.book(name, 1)
        shared.received(name, booked=1, count=1)

    assert (shared.share("high"), shared.share("low")) == (15, 5)
    assert (shared.grant("high"), shared.grant("low")) == (10, 0)  # low: one held, 5 don't fit


def test_a_queue_holding_nothing_gets_what_is_free_at_once_even_below_a_batch():
    shared = room(12, "a", "b")
    shared.book("a", 1)
    shared.received("a", booked=1, count=1)  # a busy, b idle: a may hold 11
    shared.book("a", 10)
    shared.received("a", booked=10, count=9)  # a holds 10
    shared.book("b", 1)
    shared.received("b", booked=1, count=1)  # b busy too: shares of 6 each
    shared.left("b")  # its message went to a task thread: b holds nothing

    assert shared.grant("b") == 2  # not the 6 it wants: what a leaves free, at once
    assert shared.grant("a") == 0  # a holds more than its share until it drains


def test_a_lone_queue_always_asks_for_a_full_batch():
    shared = room(20, "only")
    assert shared.grant("only") == 10
    shared.book("only", 10)
    shared.received("only", booked=10, count=0)  # an empty receive: still asks ten

    assert shared.grant("only") == 10


def test_extra_places_go_beyond_the_capacity_and_the_share():
    shared = room(3, "a", "b", "c")
    shared.book("a", 1)
    shared.received("a", booked=1, count=1)

    assert shared.grant("a") == 0  # a holds its one place; b and c are owed theirs
    assert shared.grant("a", extra=10) == 1


def test_a_buffer_smaller_than_the_number_of_queues_is_refused():
    with pytest.raises(ValueError, match="cannot give 3 queues a place"):
        room(2, "a", "b", "c")


# --- a model: any sequence of receives and takes keeps every guarantee -----------------

QUEUES = ("a", "b", "c", "d", "e")
steps = st.lists(
    st.tuples(
        st.sampled_from(("receive", "answer", "take")),
        st.sampled_from(QUEUES),
        st.integers(0, 10),
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(
    queues=st.integers(1, len(QUEUES)),
    spare=st.integers(0, 25),
    weights=st.lists(st.integers(1, 4), min_size=len(QUEUES), max_size=len(QUEUES)),
    steps=steps,
)
def test_every_queue_holding_nothing_can_always_poll_and_the_buffer_never_overflows(
    queues, spare, weights, steps
):
    names = QUEUES[:queues]
    capacity = queues + spare
    shared = BufferRoom(capacity, dict(zip(names, weights, strict=False)))
    under_way = {name: [] for name in names}  # bookings of receives not answered yet
    buffered = dict.fromkeys(names, 0)

    for action, name, number in steps:
        if name not in names:
            continue
        if action == "receive":
            granted = shared.grant(name)
            assert 0 <= granted <= 10
            if granted:
                shared.book(name, granted)
                under_way[name].append(granted)
        elif action == "answer" and under_way[name]:
            booked = under_way[name].pop(0)
            count = min(number, booked)
            shared.received(name, booked, count)
            buffered[name] += count
        elif action == "take" and buffered[name]:
            buffered[name] -= 1
            shared.left(name)

        assert shared.total() <= capacity
        for queue in names:
            assert shared.used(queue) == buffered[queue] + sum(under_way[queue])
            if shared.used(queue) == 0:
                assert shared.grant(queue) >= 1, f"{queue} holds nothing and cannot poll"
