import json
import logging
import threading
import time
from collections import Counter
from contextlib import contextmanager

import attrs
import pytest

from simple_worker import (
    App,
    ConfigurationError,
    QueueNotFound,
    QueueServiceError,
    RetryIntervals,
    current_task,
)
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.ports.queue import OutgoingMessage
from simple_worker.testing.clock import FakeClock


@attrs.define
class CountingQueue:
    """Counts the port calls made on an in-memory queue, by method."""

    inner: InMemoryQueue
    calls: dict = attrs.field(factory=dict)

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def counted(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)

        return counted


@pytest.fixture
def memory():
    queue = InMemoryQueue()
    queue.create_queue("dlq")
    for name in ("default", "other"):
        queue.create_queue(
            name, visibility_timeout=30, dead_letter_queue="dlq", max_receive_count=3
        )
    return queue


@pytest.fixture
def app(memory):
    return App(queue=memory)


def test_worker_drains_tasks_from_every_registered_queue(app, memory, wait_until, worker_running):
    ran = []
    app.register_task_handler("a")(lambda n: ran.append(("a", n)))
    app.register_task_handler("b", queue="other")(lambda n: ran.append(("b", n)))
    app.add_tasks("a", [{"n": n} for n in range(30)])
    app.add_tasks("b", [{"n": n} for n in range(30)])

    with worker_running(app.worker(threads=4, wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 60)
        wait_until(lambda: memory.bodies("default") == memory.bodies("other") == [])

    assert sorted(ran) == sorted([("a", n) for n in range(30)] + [("b", n) for n in range(30)])


def test_worker_deletes_in_batches_of_ten(memory, wait_until, worker_running):
    counting = CountingQueue(memory)
    app = App(queue=counting)
    app.register_task_handler("t")(lambda n: None)
    app.add_tasks("t", [{"n": n} for n in range(50)])

    with worker_running(app.worker(wait_seconds=1)) as worker:
        wait_until(lambda: memory.bodies("default") == [])

    assert worker.counts["succeeded"] == 50
    assert counting.calls["delete_batch"] <= 6


def test_a_waiting_message_on_one_queue_does_not_wait_for_another_queues_long_poll(
    app, worker_running
):
    ran = threading.Event()
    app.register_task_handler("idle")(lambda: None)
    app.register_task_handler("busy", queue="other")(ran.set)

    with worker_running(app.worker(wait_seconds=20)):
        time.sleep(0.2)  # both pollers are now in their long poll
        app.add_task("busy")
        assert ran.wait(5), "the task on the second queue did not run"


def test_a_failed_task_stays_in_the_queue_for_redelivery(app, memory, wait_until, worker_running):
    app.register_task_handler("boom")(lambda: 1 / 0)
    app.add_task("boom")

    with worker_running(app.worker(wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["failed"] == 1)

    stats = memory.stats("default")
    assert (stats.visible, stats.in_flight) == (0, 1)


def test_a_retry_policy_sets_the_failed_message_visibility(app, memory, wait_until, worker_running):
    attempts = []

    @app.register_task_handler("flaky")
    def flaky():
        attempts.append(time.monotonic())
        if len(attempts) < 2:
            raise RuntimeError("first attempt fails")

    app.add_task("flaky")

    with worker_running(app.worker(wait_seconds=1, retry_policy=RetryIntervals([0]))) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 1)

    assert len(attempts) == 2
    assert memory.bodies("default") == []


def test_a_poison_message_is_never_run_and_reaches_the_dead_letter_queue(
    app, memory, caplog, wait_until, worker_running
):
    ran = []
    app.register_task_handler("t")(lambda a: ran.append(a))
    memory.send_batch(
        "default", [OutgoingMessage(id="x", body='{"task_name": "t", "task_payload": {}}')]
    )
    app.add_task("t", a=1)
    caplog.set_level(logging.WARNING)

    with worker_running(app.worker(wait_seconds=1)) as worker:
        wait_until(lambda: len(memory.bodies("dlq")) == 1)

    assert ran == [1]
    assert worker.counts["rejected"] == 3
    assert memory.bodies("default") == []
    rejections = [r for r in caplog.records if r.getMessage().startswith("Rejected message")]
    assert [r.receive_count for r in rejections] == [1, 2, 3]


def test_a_poison_message_on_a_queue_without_redrive_is_backed_off_not_deleted(
    caplog, wait_until, worker_running
):
    clock = FakeClock()
    memory = InMemoryQueue(clock)
    memory.create_queue("plain", visibility_timeout=10)
    app = App(queue=memory)
    app.register_task_handler("t", queue="plain")(lambda: None)
    memory.send_batch("plain", [OutgoingMessage(id="x", body="not json")])
    caplog.set_level(logging.WARNING)

    with worker_running(app.worker(wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["rejected"] == 1)
        clock.advance(19)  # past the visibility timeout, not past the doubled one
        time.sleep(0.3)
        hidden_after_19s = worker.counts["rejected"]
        clock.advance(2)
        wait_until(lambda: worker.counts["rejected"] == 2)
        clock.advance(39)  # the second rejection backs off to 40 s
        time.sleep(0.3)
        hidden_after_39s = worker.counts["rejected"]

    assert (hidden_after_19s, hidden_after_39s) == (1, 2)
    assert memory.bodies("plain") == ["not json"]
    assert any("no redrive policy" in r.getMessage() for r in caplog.records)


def test_stop_finishes_the_running_task_and_releases_buffered_ones(app, memory, wait_until):
    started, release = threading.Event(), threading.Event()
    finished = []

    @app.register_task_handler("slow")
    def slow(n):
        started.set()
        release.wait(5)
        finished.append(n)

    app.add_tasks("slow", [{"n": n} for n in range(5)])
    worker = app.worker(wait_seconds=1)
    thread = threading.Thread(target=worker.start)
    thread.start()
    assert started.wait(5)
    wait_until(lambda: memory.stats("default").visible == 0)

    worker.stop()
    time.sleep(0.2)
    released = memory.stats("default")
    release.set()
    thread.join(10)

    assert not thread.is_alive()
    assert finished == [0]
    assert (released.visible, released.in_flight) == (4, 1)
    assert len(memory.bodies("default")) == 4


def test_stop_with_nothing_in_flight_returns_promptly(app):
    app.register_task_handler("t")(lambda: None)
    worker = app.worker(wait_seconds=20)
    thread = threading.Thread(target=worker.start)
    thread.start()
    time.sleep(0.2)

    worker.stop()
    thread.join(3)

    assert not thread.is_alive()


def test_the_heartbeat_keeps_a_long_task_from_being_delivered_twice(wait_until, worker_running):
    memory = InMemoryQueue()
    memory.create_queue("short", visibility_timeout=1)
    app = App(queue=memory)
    runs = []

    @app.register_task_handler("long", queue="short")
    def long_task():
        runs.append(1)
        time.sleep(3)

    app.add_task("long")
    with worker_running(app.worker(threads=2, wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 1)

    assert runs == [1]
    assert memory.bodies("short") == []


def test_start_names_every_missing_queue_at_once():
    app = App(queue_prefix="p-", queue=InMemoryQueue())
    app.register_task_handler("a", queue="one")(lambda: None)
    app.register_task_handler("b", queue="two")(lambda: None)

    with pytest.raises(QueueNotFound, match="2 queues do not exist: p-one, p-two") as raised:
        app.worker().start()

    assert raised.value.queue_names == ("p-one", "p-two")


def test_start_without_any_queue_is_refused():
    with pytest.raises(ConfigurationError, match="register a task handler"):
        App(testing_mode=True).worker().start()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threads": 0}, "threads"),
        ({"wait_seconds": 21}, "wait_seconds"),
        ({"buffer_size": 0}, "buffer_size"),
    ],
)
def test_worker_options_out_of_range_are_refused(app, options, message):
    with pytest.raises(ConfigurationError, match=message):
        app.worker(**options)


@attrs.define
class FlakyQueue:
    """Receives fail ``failures`` times, then work."""

    inner: InMemoryQueue
    failures: int

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def receive_batch(self, queue, **kwargs):
        if self.failures:
            self.failures -= 1
            raise QueueServiceError("ReceiveMessage failed: ServiceUnavailable", queue=queue)
        return self.inner.receive_batch(queue, **kwargs)


def test_the_worker_rides_out_failing_receives_and_logs_them_sparingly(
    memory, caplog, monkeypatch, wait_until, worker_running
):
    monkeypatch.setattr("simple_worker.consumer._poller._MAX_BACKOFF", 0.05)
    flaky = FlakyQueue(memory, failures=5)
    app = App(queue=flaky)
    app.register_task_handler("t")(lambda: None)
    app.add_task("t")
    caplog.set_level(logging.INFO, logger="simple_worker")

    with worker_running(app.worker(wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 1)

    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    assert "ServiceUnavailable" in errors[0].getMessage()
    assert any("works again after 5 failure(s)" in r.getMessage() for r in caplog.records)


def test_a_single_finished_task_is_deleted_within_a_second_not_held_for_a_full_batch(
    app, memory, wait_until, worker_running
):
    app.register_task_handler("t")(lambda: None)
    app.add_task("t")

    with worker_running(app.worker(wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 1)
        wait_until(lambda: memory.bodies("default") == [], timeout=5)


def test_a_worker_with_slow_tasks_never_holds_more_than_its_buffer_and_threads(
    app, memory, worker_running
):
    app.register_task_handler("slow")(lambda n: time.sleep(0.02))
    app.add_tasks("slow", [{"n": n} for n in range(60)])
    buffered, running_tasks = set(), set()

    with worker_running(app.worker(threads=1, buffer_size=5, wait_seconds=1)) as worker:
        while worker.counts["succeeded"] < 60:
            buffered.add(worker.buffered_count())
            running_tasks.add(worker.running_count())
            time.sleep(0.002)

    assert max(buffered) <= 5
    assert max(running_tasks) <= 1


# Lifecycle log lines and the liveness signal.

STABLE_TASK_FIELDS = ("task_name", "task_id", "message_id", "queue", "receive_count")


def test_a_task_life_is_logged_with_stable_fields_and_no_payload(
    app, memory, caplog, wait_until, worker_running
):
    @app.register_task_handler("t")
    def handler(secret):
        if secret == "fail":
            raise ValueError("no")

    ok_id = app.add_task("t", secret="s3cr3t")
    app.add_task("t", secret="fail")
    caplog.set_level(logging.DEBUG, logger="simple_worker")

    with worker_running(app.worker(wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] + worker.counts["failed"] == 2)

    def one(message_start, **fields):
        [record] = [
            r
            for r in caplog.records
            if r.getMessage().startswith(message_start)
            and all(getattr(r, k, None) == v for k, v in fields.items())
        ]
        return record

    assert one("Received 2 message(s) from default").count == 2
    started = one("Processing task t", task_id=ok_id)
    succeeded = one("Processed task t successfully")
    failed = one("Failed to process task t")
    for record in (started, succeeded, failed):
        assert all(getattr(record, field) is not None for field in STABLE_TASK_FIELDS)
        assert (record.queue, record.receive_count) == ("default", 1)
    assert (succeeded.outcome, failed.outcome, failed.error_type) == (
        "succeeded",
        "failed",
        "ValueError",
    )
    assert isinstance(succeeded.duration, float)
    assert isinstance(failed.duration, float)
    assert one("Worker started").queues == ["default"]
    stopped = one("Worker stopped")
    assert (stopped.succeeded, stopped.failed, stopped.rejected) == (1, 1, 0)  # zeros too
    assert not any("s3cr3t" in r.getMessage() or "s3cr3t" in str(vars(r)) for r in caplog.records)


def test_released_and_extended_messages_are_logged_per_queue(
    memory, caplog, wait_until, worker_running
):
    memory.create_queue("short", visibility_timeout=1, dead_letter_queue="dlq", max_receive_count=3)
    app = App(queue=memory)
    release = threading.Event()
    app.register_task_handler("slow", queue="short")(lambda: release.wait(10))
    app.add_tasks("slow", [{} for _ in range(3)])
    caplog.set_level(logging.DEBUG, logger="simple_worker")

    with worker_running(app.worker(wait_seconds=1)) as worker:
        wait_until(lambda: any(r.getMessage().startswith("Extending") for r in caplog.records))
        worker.stop()  # while the first task runs and two wait in the buffer
        wait_until(lambda: any(r.getMessage().startswith("Released") for r in caplog.records))
        release.set()

    extended = next(r for r in caplog.records if r.getMessage().startswith("Extending"))
    assert (extended.queue, extended.levelname) == ("short", "DEBUG")
    released = [r for r in caplog.records if r.getMessage().startswith("Released")]
    # The first release is the buffer at stop; a poll under way then may add more.
    assert (released[0].queue, released[0].count) == ("short", 2)
    assert {r.queue for r in released} == {"short"}


def mtime(path):
    return path.stat().st_mtime_ns


def test_the_heartbeat_file_is_touched_while_consuming_and_goes_stale_when_receives_fail(
    memory, monkeypatch, tmp_path, wait_until, worker_running
):
    monkeypatch.setattr("simple_worker.consumer._worker._LIVENESS_INTERVAL", 0.05)
    monkeypatch.setattr("simple_worker.consumer._worker._TICK", 0.02)
    monkeypatch.setattr("simple_worker.consumer._worker._RECEIVE_FAILURE_GRACE", 0.3)
    monkeypatch.setattr("simple_worker.consumer._poller._MAX_BACKOFF", 0.05)
    flaky = FlakyQueue(memory, failures=0)
    app = App(queue=flaky)
    app.register_task_handler("t")(lambda: None)
    heartbeat = tmp_path / "alive"

    with worker_running(app.worker(wait_seconds=0, heartbeat_file=heartbeat)):
        wait_until(heartbeat.exists)
        first = mtime(heartbeat)
        wait_until(lambda: mtime(heartbeat) > first)  # advances while consuming

        flaky.failures = 10**9  # from now on every receive fails
        time.sleep(0.6)  # past the grace period: the beats stop
        stale = mtime(heartbeat)
        time.sleep(0.3)  # several beat intervals
        assert mtime(heartbeat) == stale

        flaky.failures = 0  # receiving works again: so do the beats
        wait_until(lambda: mtime(heartbeat) > stale)

    stopped = mtime(heartbeat)
    time.sleep(0.2)
    assert mtime(heartbeat) == stopped  # not touched once the worker stopped


def test_a_worker_without_a_heartbeat_file_writes_none(app, tmp_path, monkeypatch, worker_running):
    monkeypatch.chdir(tmp_path)
    app.register_task_handler("t")(lambda: None)

    with worker_running(app.worker(wait_seconds=0)):
        time.sleep(0.1)

    assert list(tmp_path.iterdir()) == []


def test_a_finished_task_on_a_short_visibility_timeout_is_deleted_before_it_can_return(
    wait_until, worker_running
):
    memory = InMemoryQueue()
    memory.create_queue("short", visibility_timeout=1)
    app = App(queue=memory)
    runs = []

    @app.register_task_handler("t", queue="short")
    def t():
        runs.append(time.monotonic())
        time.sleep(0.7)

    app.add_task("t")
    with worker_running(app.worker(wait_seconds=1)):
        wait_until(lambda: memory.bodies("short") == [], timeout=5)
        time.sleep(1.5)  # past the visibility timeout: a message not deleted would be back

    assert len(runs) == 1


# --- FIFO queues: a group's tasks in order, groups side by side ---------------------------


def send_grouped(memory, queue, tasks):
    """Send ``record`` tasks, one per (group, seq), through the port with their group ids."""
    messages = [
        OutgoingMessage(
            id=f"{group}-{seq}",
            body=json.dumps({"task_name": "record", "task_payload": {"group": group, "seq": seq}}),
            group_id=group,
            deduplication_id=f"{group}-{seq}" if queue.endswith(".fifo") else None,
        )
        for group, seq in tasks
    ]
    assert len(memory.send_batch(queue, messages).sent) == len(messages)


@attrs.define
class GroupRecorder:
    """Records each task's (group, seq) as it starts, and any overlap within a group."""

    started: list = attrs.field(factory=list)
    running: Counter = attrs.field(factory=Counter)
    overlaps: list = attrs.field(factory=list)
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    @contextmanager
    def task(self, group, seq):
        with self.lock:
            self.started.append((group, seq))
            self.running[group] += 1
            if self.running[group] > 1:
                self.overlaps.append((group, seq))
        try:
            yield
        finally:
            with self.lock:
                self.running[group] -= 1

    def order(self, group):
        with self.lock:
            return [seq for g, seq in self.started if g == group]


@pytest.fixture
def fifo_memory():
    queue = InMemoryQueue()
    queue.create_queue("dlq.fifo")
    queue.create_queue("jobs.fifo", dead_letter_queue="dlq.fifo", max_receive_count=5)
    return queue


def test_a_fifo_groups_tasks_run_one_at_a_time_in_order_while_groups_run_side_by_side(
    fifo_memory,
    wait_until,
    worker_running,
):
    app = App(queue=fifo_memory)
    recorder = GroupRecorder()
    # The first tasks of two groups meet here: only groups running side by side get past.
    meeting = threading.Barrier(2, timeout=5)

    @app.register_task_handler("record", queue="jobs.fifo")
    def record(group, seq):
        with recorder.task(group, seq):
            if seq == 0 and group in ("a", "b"):
                meeting.wait()
            time.sleep(0.002)  # long enough for a second thread to try the group's next one

    groups = ["a", "b", "c", "d"]
    send_grouped(fifo_memory, "jobs.fifo", [(g, n) for n in range(10) for g in groups])

    with worker_running(app.worker(threads=4, wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 40)
        wait_until(lambda: fifo_memory.bodies("jobs.fifo") == [])

    assert recorder.overlaps == []
    assert {group: recorder.order(group) for group in groups} == {
        group: list(range(10)) for group in groups
    }


def test_a_failed_fifo_task_sends_the_rest_of_its_group_back_to_run_after_it(
    fifo_memory, wait_until, worker_running
):
    app = App(queue=fifo_memory)
    recorder = GroupRecorder()
    failed_once = set()

    @app.register_task_handler("record", queue="jobs.fifo")
    def record(group, seq):
        with recorder.task(group, seq):
            if (group, seq) == ("a", 1) and (group, seq) not in failed_once:
                failed_once.add((group, seq))
                raise RuntimeError("a1 fails once")

    send_grouped(fifo_memory, "jobs.fifo", [(g, n) for n in range(4) for g in "ab"])

    # A retry delay of 0: a1 comes back at once, ahead of a2 and a3, which were released
    # (once a0's delete, batched for up to a second, has unlocked the group).
    worker = app.worker(threads=2, wait_seconds=1, retry_policy=RetryIntervals([0]))
    with worker_running(worker):
        wait_until(lambda: worker.counts["succeeded"] == 8)
        wait_until(lambda: fifo_memory.bodies("jobs.fifo") == [])

    assert recorder.order("a") == [0, 1, 1, 2, 3]
    assert recorder.order("b") == [0, 1, 2, 3]
    assert worker.counts["failed"] == 1


def test_group_ids_on_a_standard_queue_hold_no_task_back(app, memory, wait_until, worker_running):
    together = threading.Barrier(3, timeout=5)

    @app.register_task_handler("record")
    def record(group, seq):
        together.wait()  # three tasks of one tenant run at once, or this times out

    send_grouped(memory, "default", [("tenant", n) for n in range(3)])

    with worker_running(app.worker(threads=3, wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 3)

    assert worker.counts["failed"] == 0


def test_a_failure_says_when_the_task_runs_again_or_that_it_goes_to_the_dead_letter_queue(
    caplog, wait_until, worker_running
):
    memory = InMemoryQueue()
    memory.create_queue("dlq")
    memory.create_queue("once", dead_letter_queue="dlq", max_receive_count=1)
    memory.create_queue("twice", dead_letter_queue="dlq", max_receive_count=2)
    app = App(queue=memory)
    app.register_task_handler("fail_once", queue="once")(lambda: 1 / 0)
    app.register_task_handler("fail_twice", queue="twice")(lambda: 1 / 0)
    app.add_task("fail_once")
    app.add_task("fail_twice")
    caplog.set_level(logging.INFO, logger="simple_worker")

    with worker_running(app.worker(wait_seconds=0, retry_policy=RetryIntervals([5]))) as worker:
        wait_until(lambda: worker.counts["failed"] == 2)

    lines = {
        r.getMessage(): r for r in caplog.records if r.name == "simple_worker.consumer._settler"
    }
    again = lines["Task fail_twice will run again in 5 s"]
    assert (again.levelname, again.retry_in, again.receive_count) == ("INFO", 5, 1)
    last = lines[
        "Task fail_once failed on its last allowed receive (1 of 1): SQS moves it to dlq "
        "when it turns visible again, in 5 s"
    ]
    assert (last.levelname, last.dead_letter_queue, last.task_name) == (
        "WARNING",
        "dlq",
        "fail_once",
    )


def test_a_buffered_message_whose_visibility_ran_out_is_not_run_on_that_receive(
    caplog, wait_until, worker_running
):
    clock = FakeClock()
    memory = InMemoryQueue(clock)
    memory.create_queue("default", visibility_timeout=30)

    @attrs.define
    class NoExtensions:
        """SQS refusing every visibility change: the heartbeat cannot extend anything."""

        inner: InMemoryQueue

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def change_visibility_batch(self, queue, changes):
            return {change.receipt: "ServiceUnavailable: try again" for change in changes}

    app = App(queue=NoExtensions(memory), clock=clock)
    gate = threading.Event()
    runs = []

    @app.register_task_handler("t")
    def t(n):
        runs.append((n, current_task().delivery.receive_count))
        if n == 0:
            gate.wait(10)

    app.add_tasks("t", [{"n": 0}, {"n": 1}])
    worker = app.worker(threads=1, wait_seconds=0)
    with worker_running(worker):
        wait_until(lambda: runs == [(0, 1)] and worker.buffered_count() == 1)
        clock.advance(31)  # task 1's visibility runs out while it waits in the buffer
        gate.set()
        wait_until(lambda: (1, 2) in runs)

    assert worker.counts["expired"] == 1
    assert (1, 1) not in runs  # not run on the receive whose visibility ran out
    assert "waited past its visibility timeout" in caplog.text
