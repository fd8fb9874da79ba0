"""Time limits: the watchdog's rules with a fake clock and a recording interrupt."""

import logging

import attrs
import pytest

from simple_worker import TaskTimeLimitExceeded
from simple_worker.consumer._time_limits import GRACE, TimeLimits
from simple_worker.testing import FakeClock


@attrs.define
class RecordingInterrupt:
    sent: list = attrs.field(factory=list)
    withdrawn: int = 0

    def send(self, error):
        self.sent.append(error())

    def withdraw(self):
        self.withdrawn += 1


@pytest.fixture
def clock():
    return FakeClock()


def limits_with(clock, **options):
    interrupt = RecordingInterrupt()
    return TimeLimits(clock, interrupts=lambda: interrupt, **options), interrupt


def test_a_task_is_interrupted_once_past_its_limit_with_an_error_naming_it(clock):
    limits, interrupt = limits_with(clock)
    limits.start("slow", "r1", 2.0)

    clock.advance(2.0)
    limits.check()
    assert interrupt.sent == []  # at the limit, not past it
    clock.advance(0.1)
    limits.check()
    limits.check()

    assert len(interrupt.sent) == 1
    error = interrupt.sent[0]
    assert isinstance(error, TaskTimeLimitExceeded)
    assert not isinstance(error, Exception)  # a handler's `except Exception` lets it through
    assert (error.task_name, error.time_limit) == ("slow", 2.0)


def test_a_task_without_a_limit_is_never_interrupted(clock):
    limits, interrupt = limits_with(clock)
    limits.start("free", "r1", None)
    clock.advance(10**6)
    limits.check()
    assert interrupt.sent == []


def test_a_task_registered_with_a_limit_keeps_it_whatever_the_worker_default(clock):
    limits, _ = limits_with(clock, default=60.0)
    assert limits.limit_of(2.0) == 2.0
    assert limits.limit_of(None) == 60.0
    assert TimeLimits(clock).limit_of(None) is None


def test_a_task_that_ends_in_time_keeps_its_own_outcome(clock):
    limits, interrupt = limits_with(clock)
    error = ValueError("boom")
    watch = limits.start("t", "r1", 2.0)
    clock.advance(1.9)
    assert limits.finish(watch, error) is error
    assert limits.finish(limits.start("t", "r2", 2.0), None) is None
    assert interrupt.withdrawn == 0


def test_a_handler_that_returns_just_after_its_limit_fails_and_is_logged(clock, caplog):
    limits, _ = limits_with(clock)
    watch = limits.start("late", "r1", 2.0)
    clock.advance(2.01)  # past the limit before the watchdog looked: no interrupt sent

    with caplog.at_level(logging.WARNING):
        error = limits.finish(watch, None)

    assert isinstance(error, TaskTimeLimitExceeded)
    assert "Task late returned after its time limit of 2 s" in caplog.text


def test_a_handler_that_caught_the_interrupt_and_returned_still_fails(clock):
    limits, interrupt = limits_with(clock)
    watch = limits.start("stubborn", "r1", 1.0)
    clock.advance(1.5)
    limits.check()

    error = limits.finish(watch, None)

    assert isinstance(error, TaskTimeLimitExceeded)
    assert interrupt.withdrawn == 1  # a pending interrupt must not hit the worker's code


def test_an_interrupted_task_keeps_the_interrupt_as_its_error(clock):
    limits, interrupt = limits_with(clock)
    watch = limits.start("t", "r1", 1.0)
    clock.advance(1.5)
    limits.check()
    assert limits.finish(watch, interrupt.sent[0]) is interrupt.sent[0]


def test_the_heartbeat_lets_a_message_go_past_its_limit_and_the_grace(clock):
    limits, _ = limits_with(clock)
    watch = limits.start("t", "r1", 2.0)
    limits.start("free", "r2", None)

    clock.advance(2.0 + GRACE)
    assert not limits.lets_go("r1")
    clock.advance(0.1)
    assert limits.lets_go("r1")
    assert not limits.lets_go("r2")
    assert not limits.lets_go("unknown")
    limits.finish(watch, None)
    assert not limits.lets_go("r1")


def test_a_task_past_the_hard_limit_is_reported_once(clock):
    limits, _ = limits_with(clock, hard_limit=10.0)
    stuck = []
    limits.on_stuck = stuck.append
    watch = limits.start("hung", "r1", 2.0)
    limits.start("quick", "r2", 2.0)
    limits.finish(limits.start("done", "r3", 2.0), None)

    clock.advance(10.0)
    limits.check()
    assert stuck == []
    clock.advance(0.1)
    limits.check()
    limits.check()

    assert [w.task_name for w in stuck] == ["hung", "quick"]
    assert stuck[0] is watch


def test_the_hard_limit_is_never_shorter_than_a_tasks_limit_and_grace(clock):
    limits, _ = limits_with(clock, hard_limit=1.0)
    stuck = []
    limits.on_stuck = stuck.append
    limits.start("t", "r1", 20.0)
    clock.advance(20.0 + GRACE)
    limits.check()
    assert stuck == []
    clock.advance(0.1)
    limits.check()
    assert len(stuck) == 1


def test_without_interrupts_a_task_is_judged_by_its_duration_only(clock):
    limits = TimeLimits(clock, default=1.0)
    watch = limits.start("t", "r1", 1.0)
    clock.advance(5)
    limits.check()  # nothing to send
    assert isinstance(limits.finish(watch, None), TaskTimeLimitExceeded)


def test_a_watchdog_runs_only_where_a_limit_can_be_enforced(clock):
    assert not TimeLimits(clock, default=1.0).enforced([1.0])
    limits, _ = limits_with(clock)
    assert not limits.enforced([None, None])
    assert limits.enforced([None, 3.0])
    assert limits_with(clock, default=1.0)[0].enforced([])
    assert limits_with(clock, hard_limit=9.0)[0].enforced([])
