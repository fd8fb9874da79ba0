"""The visibility heartbeat stops extending a message its time limit has let go."""

from simple_worker.consumer._buffer import HeldMessages
from simple_worker.consumer._heartbeat import VisibilityHeartbeat
from simple_worker.consumer._time_limits import GRACE, TimeLimits
from simple_worker.ports.queue import QueueInfo, ReceivedMessage
from simple_worker.testing.clock import FakeClock


def test_a_task_past_its_limit_and_the_grace_is_no_longer_extended_the_others_are():
    clock = FakeClock()
    held = HeldMessages(clock, 10, {"q": 1})
    held.add(
        "q",
        [ReceivedMessage("q", str(n), f"r{n}", "b", receive_count=1) for n in range(2)],
        visibility_timeout=30,
        reserved=0,
    )
    held.take(0)  # both running
    held.take(0)
    limits = TimeLimits(clock)
    limits.start("hung", "r0", 2)  # r0 has a 2 s limit; r1 none
    limits.start("long", "r1", None)
    calls = []

    def change(queue, changes):
        calls.append(sorted(c.receipt for c in changes))
        return {}

    heartbeat = VisibilityHeartbeat(
        held, {"q": QueueInfo("url", 1024, 30)}, change, clock, lets_go=limits.lets_go
    )

    clock.advance(2 + GRACE - 1)  # within limit + grace, not yet due
    heartbeat.extend_due()
    clock.advance(15 - (2 + GRACE - 1))  # due; r0 is now past its limit + grace
    heartbeat.extend_due()

    assert calls == [["r1"]]  # only the task still within its limit is extended
