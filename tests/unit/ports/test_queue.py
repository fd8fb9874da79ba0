import itertools

import attrs
from hypothesis import given
from hypothesis import strategies as st

from simple_worker.ports.queue import MAX_BATCH_BYTES, OutgoingMessage, split_batches


def test_a_message_size_counts_body_and_attributes_in_bytes():
    message = OutgoingMessage("m", "héllo", attributes={"n": 5, "s": "ab"})

    assert message.size() == len("héllo".encode()) + (1 + 6 + 1) + (1 + 6 + 2)


def test_a_message_size_is_computed_once_and_never_stale():
    message = OutgoingMessage("m", "x" * 1000)
    first = message.size()

    assert message.size() == first == 1000
    assert attrs.evolve(message, body="y").size() == 1
    assert message == OutgoingMessage("m", "x" * 1000)  # the cache is not compared
    assert "_size" not in repr(message)


@given(st.lists(st.integers(min_value=0, max_value=400_000), max_size=40))
def test_split_batches_keeps_order_and_the_limits_of_one_call(sizes):
    messages = [OutgoingMessage(id=str(n), body="x" * size) for n, size in enumerate(sizes)]

    batches = list(split_batches(messages))

    assert [m for batch in batches for m in batch] == messages
    for batch in batches:
        assert 1 <= len(batch) <= 10
        assert sum(m.size() for m in batch) <= MAX_BATCH_BYTES
    for first, second in itertools.pairwise(batches):  # cut only where the next would not fit
        full = sum(m.size() for m in first) + second[0].size() > MAX_BATCH_BYTES
        assert len(first) == 10 or full
