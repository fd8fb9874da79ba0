import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.domain._errors import QueueNotFound
from simple_worker.ports.queue import OutgoingMessage, QueueInfo, QueueStats, VisibilityChange
from simple_worker.testing.clock import FakeClock
from simple_worker.testing.queue_contract import FifoQueuePortContract, QueuePortContract


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def memory_queue(clock):
    return InMemoryQueue(clock)


class TestInMemoryQueue(QueuePortContract):
    @pytest.fixture
    def queue_port(self, memory_queue):
        return memory_queue

    @pytest.fixture
    def new_queue(self, memory_queue):
        def create(visibility_timeout=30):
            name = f"contract-{uuid.uuid4().hex}"
            memory_queue.create_queue(name, visibility_timeout=visibility_timeout)
            return name

        return create

    @pytest.fixture
    def let_time_pass(self, clock):
        return clock.advance


class TestInMemoryFifoQueue(FifoQueuePortContract):
    @pytest.fixture
    def queue_port(self, memory_queue):
        return memory_queue

    @pytest.fixture
    def new_fifo_queue(self, memory_queue):
        def create(*, content_based_deduplication=False):
            name = f"contract-{uuid.uuid4().hex}.fifo"
            memory_queue.create_queue(name, content_based_deduplication=content_based_deduplication)
            return name

        return create


def send(queue, name, *bodies):
    messages = [OutgoingMessage(f"m{index}", body) for index, body in enumerate(bodies)]
    return queue.send_batch(name, messages)


def receive_one(queue, name):
    [message] = queue.receive_batch(name, max_messages=1)
    return message


def release(queue, name, message):
    assert queue.change_visibility_batch(name, [VisibilityChange(message.receipt, 0)]) == {}


@pytest.fixture
def jobs(memory_queue):
    memory_queue.create_queue("jobs")
    return "jobs"


def test_a_message_turns_visible_again_when_its_visibility_timeout_runs_out(
    memory_queue, clock, jobs
):
    send(memory_queue, jobs, "a")
    first = receive_one(memory_queue, jobs)

    clock.advance(29)
    assert memory_queue.receive_batch(jobs) == []
    clock.advance(2)
    again = receive_one(memory_queue, jobs)

    assert again.message_id == first.message_id
    assert again.receive_count == 2


def test_an_expired_receipt_no_longer_deletes(memory_queue, clock, jobs):
    send(memory_queue, jobs, "a")
    message = receive_one(memory_queue, jobs)
    clock.advance(31)

    failed = memory_queue.delete_batch(jobs, [message.receipt])

    assert "expired" in failed[message.receipt]
    assert memory_queue.bodies(jobs) == ["a"]


def test_a_stale_receipt_is_reported_and_deletes_nothing(memory_queue, jobs):
    send(memory_queue, jobs, "a")
    stale = receive_one(memory_queue, jobs)
    release(memory_queue, jobs, stale)
    receive_one(memory_queue, jobs)

    failed = memory_queue.delete_batch(jobs, [stale.receipt])

    assert "stale" in failed[stale.receipt]
    assert memory_queue.bodies(jobs) == ["a"]


def test_a_made_up_or_used_receipt_is_reported(memory_queue, jobs):
    send(memory_queue, jobs, "a")
    message = receive_one(memory_queue, jobs)
    assert memory_queue.delete_batch(jobs, [message.receipt]) == {}

    failed = memory_queue.delete_batch(jobs, [message.receipt, "made-up"])

    assert set(failed) == {message.receipt, "made-up"}


def test_a_visibility_change_is_measured_from_now(memory_queue, clock, jobs):
    send(memory_queue, jobs, "a")
    message = receive_one(memory_queue, jobs)
    clock.advance(20)

    changes = [VisibilityChange(message.receipt, 60)]
    assert memory_queue.change_visibility_batch(jobs, changes) == {}

    clock.advance(59)
    assert memory_queue.receive_batch(jobs) == []
    clock.advance(1)
    assert receive_one(memory_queue, jobs).receive_count == 2


@pytest.mark.parametrize("timeout", [-1, 43_201])
def test_a_visibility_timeout_out_of_range_is_reported(memory_queue, jobs, timeout):
    send(memory_queue, jobs, "a")
    message = receive_one(memory_queue, jobs)

    failed = memory_queue.change_visibility_batch(
        jobs, [VisibilityChange(message.receipt, timeout)]
    )

    assert "43200" in failed[message.receipt]
    assert memory_queue.stats(jobs) == QueueStats(visible=0, in_flight=1, delayed=0)


def test_messages_are_received_oldest_first(memory_queue, jobs):
    send(memory_queue, jobs, *"abcdefghijkl")

    first = memory_queue.receive_batch(jobs)
    rest = memory_queue.receive_batch(jobs)

    assert [message.body for message in first + rest] == list("abcdefghijkl")


@pytest.mark.parametrize("max_messages", [0, 11])
def test_receive_refuses_max_messages_outside_1_to_10(memory_queue, jobs, max_messages):
    with pytest.raises(ValueError, match="max_messages"):
        memory_queue.receive_batch(jobs, max_messages=max_messages)


def test_a_message_moves_to_the_dead_letter_queue_after_max_receive_count_receives(
    memory_queue, clock
):
    memory_queue.create_queue("jobs-dlq")
    memory_queue.create_queue("jobs", dead_letter_queue="jobs-dlq", max_receive_count=2)
    send(memory_queue, "jobs", "poison")
    release(memory_queue, "jobs", receive_one(memory_queue, "jobs"))
    receive_one(memory_queue, "jobs")
    clock.advance(31)

    assert memory_queue.receive_batch("jobs") == []
    assert memory_queue.bodies("jobs") == []
    dead = receive_one(memory_queue, "jobs-dlq")
    assert dead.body == "poison"
    assert dead.receive_count == 3


def test_describe_reports_the_redrive_settings(memory_queue):
    memory_queue.create_queue("jobs-dlq")
    memory_queue.create_queue(
        "jobs", visibility_timeout=60, dead_letter_queue="jobs-dlq", max_receive_count=5
    )

    assert memory_queue.describe("jobs") == QueueInfo(
        url="memory://jobs",
        max_message_size=1_048_576,
        visibility_timeout=60,
        dead_letter_queue="jobs-dlq",
        max_receive_count=5,
    )


def test_create_queue_refuses_a_dead_letter_queue_that_does_not_exist(memory_queue):
    with pytest.raises(QueueNotFound) as raised:
        memory_queue.create_queue("jobs", dead_letter_queue="nowhere", max_receive_count=3)

    assert raised.value.queue_names == ("nowhere",)
    assert memory_queue.queue_names() == []


def test_create_queue_refuses_a_dead_letter_queue_without_max_receive_count(memory_queue):
    memory_queue.create_queue("jobs-dlq")

    with pytest.raises(ValueError, match="together"):
        memory_queue.create_queue("jobs", dead_letter_queue="jobs-dlq")


def test_create_queue_again_with_the_same_settings_keeps_the_messages(memory_queue, jobs):
    send(memory_queue, jobs, "a")

    memory_queue.create_queue(jobs)

    assert memory_queue.bodies(jobs) == ["a"]


def test_create_queue_again_with_other_settings_is_refused(memory_queue, jobs):
    with pytest.raises(ValueError, match="other settings"):
        memory_queue.create_queue(jobs, visibility_timeout=5)


def test_auto_create_makes_an_unknown_queue_on_first_use_with_the_defaults(clock):
    queue = InMemoryQueue(clock, auto_create=True, max_message_size=2048, visibility_timeout=10)

    send(queue, "p-default", "a")

    assert queue.queue_names() == ["p-default"]
    assert queue.describe("p-default") == QueueInfo("memory://p-default", 2048, 10)
    assert queue.bodies("p-default") == ["a"]


@pytest.mark.parametrize(
    "operation",
    [
        lambda queue: queue.delete_batch("nowhere", ["receipt"]),
        lambda queue: queue.change_visibility_batch("nowhere", [VisibilityChange("r", 0)]),
        lambda queue: queue.bodies("nowhere"),
    ],
    ids=["delete_batch", "change_visibility_batch", "bodies"],
)
def test_without_auto_create_every_method_refuses_a_missing_queue(memory_queue, operation):
    with pytest.raises(QueueNotFound, match="nowhere"):
        operation(memory_queue)

    assert memory_queue.queue_names() == []


def test_a_body_over_the_size_limit_is_reported_failed_and_not_sent(clock):
    queue = InMemoryQueue(clock, max_message_size=1024)
    queue.create_queue("jobs")
    messages = [
        OutgoingMessage("fits", "x" * 1024),
        OutgoingMessage("too-long", "x" * 1025),
        OutgoingMessage("too-many-bytes", "é" * 513),
    ]

    result = queue.send_batch("jobs", messages)

    assert result.sent == ("fits",)
    assert set(result.failed) == {"too-long", "too-many-bytes"}
    assert "1026 bytes" in result.failed["too-many-bytes"]
    assert queue.bodies("jobs") == ["x" * 1024]


def test_send_refuses_two_messages_with_the_same_id(memory_queue, jobs):
    with pytest.raises(ValueError, match="distinct ids"):
        memory_queue.send_batch(jobs, [OutgoingMessage("same", "a"), OutgoingMessage("same", "b")])

    assert memory_queue.bodies(jobs) == []


def test_a_waiting_receive_returns_the_message_sent_while_it_waits(memory_queue, jobs):
    waiting = threading.Event()

    def receive():
        waiting.set()
        return memory_queue.receive_batch(jobs, wait_seconds=2)

    with ThreadPoolExecutor(max_workers=1) as pool:
        received = pool.submit(receive)
        waiting.wait()
        time.sleep(0.05)  # let the receiver reach its wait; the test passes either way
        send(memory_queue, jobs, "wake up")

        assert [message.body for message in received.result(timeout=10)] == ["wake up"]


def test_a_waiting_receive_notices_a_message_turning_visible_as_the_clock_moves(
    memory_queue, clock, jobs
):
    send(memory_queue, jobs, "again")
    receive_one(memory_queue, jobs)

    with ThreadPoolExecutor(max_workers=1) as pool:
        received = pool.submit(memory_queue.receive_batch, jobs, wait_seconds=5)
        clock.advance(31)

        assert [message.body for message in received.result(timeout=10)] == ["again"]


def test_concurrent_senders_and_receivers_receive_every_message_exactly_once(memory_queue, jobs):
    total = 2000
    received = Counter()
    lock = threading.Lock()

    def produce(worker):
        for start in range(0, total // 4, 50):
            bodies = [f"{worker}-{n}" for n in range(start, start + 50)]
            assert len(send(memory_queue, jobs, *bodies).sent) == 50

    def consume():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with lock:
                if sum(received.values()) >= total:
                    return
            messages = memory_queue.receive_batch(jobs, wait_seconds=1)
            with lock:
                received.update(message.body for message in messages)
            assert memory_queue.delete_batch(jobs, [m.receipt for m in messages]) == {}

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(consume) for _ in range(4)]
        futures += [pool.submit(produce, worker) for worker in range(4)]
        for future in futures:
            future.result(timeout=60)

    assert len(received) == total
    assert set(received.values()) == {1}
    assert memory_queue.stats(jobs) == QueueStats(visible=0, in_flight=0, delayed=0)


# --- Delays, attributes and FIFO queues ---------------------------------------------------


def fifo_message(body, group="g", dedup=None):
    return OutgoingMessage(body, body, group_id=group, deduplication_id=dedup or body)


def test_a_delayed_message_turns_visible_when_the_clock_reaches_its_delay(
    memory_queue, clock, jobs
):
    memory_queue.send_batch(jobs, [OutgoingMessage("m", "later", delay_seconds=60)])

    clock.advance(59)
    assert memory_queue.receive_batch(jobs) == []
    assert memory_queue.stats(jobs) == QueueStats(visible=0, in_flight=0, delayed=1)
    clock.advance(1)

    assert receive_one(memory_queue, jobs).body == "later"


def test_a_queue_named_fifo_is_a_fifo_queue_created_or_auto_created(clock, memory_queue):
    auto = InMemoryQueue(clock, auto_create=True)
    memory_queue.create_queue("jobs.fifo")

    assert memory_queue.describe("jobs.fifo").fifo is True
    assert auto.describe("p-jobs.fifo").fifo is True
    assert auto.describe("p-jobs").fifo is False


def test_content_based_deduplication_is_refused_on_a_standard_queue(memory_queue):
    with pytest.raises(ValueError, match="FIFO queues"):
        memory_queue.create_queue("jobs", content_based_deduplication=True)


@pytest.mark.parametrize(("queue", "dlq"), [("jobs.fifo", "dlq"), ("jobs", "dlq.fifo")])
def test_a_queue_and_its_dead_letter_queue_must_be_of_one_type(memory_queue, queue, dlq):
    memory_queue.create_queue(dlq)

    with pytest.raises(ValueError, match="both be FIFO queues or both standard"):
        memory_queue.create_queue(queue, dead_letter_queue=dlq, max_receive_count=2)


def test_a_fifo_message_moves_to_its_fifo_dead_letter_queue_with_its_group(memory_queue, clock):
    memory_queue.create_queue("dlq.fifo")
    memory_queue.create_queue("jobs.fifo", dead_letter_queue="dlq.fifo", max_receive_count=1)
    memory_queue.send_batch("jobs.fifo", [fifo_message("a1", "a"), fifo_message("a2", "a")])
    receive_one(memory_queue, "jobs.fifo")
    clock.advance(31)

    after = memory_queue.receive_batch("jobs.fifo")
    dead = receive_one(memory_queue, "dlq.fifo")

    assert [message.body for message in after] == ["a2"]  # its group no longer waits on a1
    assert (dead.body, dead.group_id) == ("a1", "a")


def test_a_fifo_group_stays_locked_until_its_message_turns_visible_again(memory_queue, clock):
    memory_queue.create_queue("jobs.fifo")
    memory_queue.send_batch("jobs.fifo", [fifo_message("a1"), fifo_message("a2")])
    first = receive_one(memory_queue, "jobs.fifo")

    clock.advance(29)
    assert memory_queue.receive_batch("jobs.fifo") == []
    clock.advance(1)
    again = memory_queue.receive_batch("jobs.fifo")

    assert [(m.body, m.receive_count) for m in again] == [("a1", 2), ("a2", 1)]
    assert first.body == "a1"


def test_a_fifo_deduplication_id_is_forgotten_after_five_minutes(memory_queue, clock):
    memory_queue.create_queue("jobs.fifo")
    memory_queue.send_batch("jobs.fifo", [fifo_message("first", dedup="same")])

    clock.advance(299)
    memory_queue.send_batch("jobs.fifo", [fifo_message("dropped", dedup="same")])
    clock.advance(1)
    memory_queue.send_batch("jobs.fifo", [fifo_message("kept", dedup="same")])

    assert memory_queue.bodies("jobs.fifo") == ["first", "kept"]


def test_fifo_receivers_on_many_threads_never_hold_two_messages_of_a_group(memory_queue):
    memory_queue.create_queue("jobs.fifo")
    groups = [f"g{n}" for n in range(5)]
    sent = [fifo_message(f"{group}:{n}", group) for n in range(40) for group in groups]
    memory_queue.send_batch("jobs.fifo", sent)
    order = {group: [] for group in groups}
    holders = {}
    lock = threading.Lock()
    overlaps = []

    def consume():
        while True:
            with lock:
                if sum(map(len, order.values())) == len(sent):
                    return
            messages = memory_queue.receive_batch("jobs.fifo")
            with lock:
                for message in messages:
                    if holders.get(message.group_id, threading.get_ident()) != (
                        threading.get_ident()
                    ):
                        overlaps.append(message.body)
                    holders[message.group_id] = threading.get_ident()
                    order[message.group_id].append(int(message.body.split(":")[1]))
            time.sleep(0.001)  # hold them a moment, as a task would
            with lock:
                for message in messages:
                    holders.pop(message.group_id, None)
            assert memory_queue.delete_batch("jobs.fifo", [m.receipt for m in messages]) == {}

    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(consume) for _ in range(4)]:
            future.result(timeout=60)

    assert overlaps == []
    assert order == {group: list(range(40)) for group in groups}


def test_a_receive_may_ask_for_its_own_visibility_timeout(memory_queue, clock):
    memory_queue.create_queue("zero", visibility_timeout=0)
    send(memory_queue, "zero", "a")
    [first] = memory_queue.receive_batch("zero", visibility_timeout=30)

    clock.advance(29)
    assert memory_queue.receive_batch("zero") == []
    clock.advance(2)
    [again] = memory_queue.receive_batch("zero")  # with the queue's own: 0, visible at once
    [third] = memory_queue.receive_batch("zero")

    assert again.message_id == third.message_id == first.message_id
    assert third.receive_count == 3
