import attrs

from simple_worker.ports.queue import OutgoingMessage


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
