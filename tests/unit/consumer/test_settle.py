"""The settle policy as a table: one outcome and its circumstances, one decision."""

from datetime import datetime, timedelta, timezone

import pytest

from simple_worker import ExponentialBackoff, RetryIntervals
from simple_worker.consumer._settle import Action, Settlement, rejection_backoff, settle
from simple_worker.domain._task import Task
from simple_worker.ports.middleware import Outcome
from simple_worker.ports.queue import MAX_VISIBILITY_TIMEOUT, QueueInfo

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
PLAIN = QueueInfo(url="u", max_message_size=1024, visibility_timeout=30)
WITH_DLQ = QueueInfo(
    url="u",
    max_message_size=1024,
    visibility_timeout=30,
    dead_letter_queue="dlq",
    max_receive_count=3,
)
FIFO = QueueInfo(
    url="u",
    max_message_size=1024,
    visibility_timeout=30,
    dead_letter_queue="dlq.fifo",
    max_receive_count=3,
    fifo=True,
)
TASK = Task("t", {}, id="t1")


def due_in(seconds):
    return Task("t", {}, id="t1", not_before=NOW + timedelta(seconds=seconds))


CASES = {
    "a success is deleted": (
        {"outcome": Outcome.SUCCEEDED, "queue": PLAIN, "receive_count": 1},
        Settlement(Action.DELETE),
    ),
    "a success in a FIFO group is deleted and keeps the group going": (
        {
            "outcome": Outcome.SUCCEEDED,
            "queue": FIFO,
            "receive_count": 1,
            "keeps_group_order": True,
        },
        Settlement(Action.DELETE),
    ),
    "a failure without a retry policy waits for the visibility timeout": (
        {"outcome": Outcome.FAILED, "queue": PLAIN, "receive_count": 1},
        Settlement(Action.LEAVE, returns_in=30),
    ),
    "a failure with a retry policy hides for its delay": (
        {
            "outcome": Outcome.FAILED,
            "queue": PLAIN,
            "receive_count": 2,
            "retry_policy": RetryIntervals([5, 60]),
        },
        Settlement(Action.HIDE, visibility=60, returns_in=60),
    ),
    "a retry delay of 0 releases at once": (
        {
            "outcome": Outcome.FAILED,
            "queue": PLAIN,
            "receive_count": 1,
            "retry_policy": RetryIntervals([0]),
        },
        Settlement(Action.HIDE, visibility=0, returns_in=0),
    ),
    "a failure on the last allowed receive names the dead-letter queue": (
        {"outcome": Outcome.FAILED, "queue": WITH_DLQ, "receive_count": 3},
        Settlement(Action.LEAVE, returns_in=30, dead_letter_queue="dlq"),
    ),
    "a failure before the last receive names no dead-letter queue": (
        {"outcome": Outcome.FAILED, "queue": WITH_DLQ, "receive_count": 2},
        Settlement(Action.LEAVE, returns_in=30),
    ),
    "a FIFO failure stops its group": (
        {"outcome": Outcome.FAILED, "queue": FIFO, "receive_count": 1, "keeps_group_order": True},
        Settlement(Action.LEAVE, stop_group=True, returns_in=30),
    ),
    "a rejection with a dead-letter queue is released at once": (
        {"outcome": Outcome.REJECTED, "queue": WITH_DLQ, "receive_count": 1},
        Settlement(Action.HIDE, visibility=0, returns_in=0),
    ),
    "a rejection without one backs off, doubling per receive": (
        {"outcome": Outcome.REJECTED, "queue": PLAIN, "receive_count": 3},
        Settlement(Action.HIDE, visibility=240, returns_in=240),
    ),
    "a rejection's backoff stops at SQS's 12 hours less what the message was held": (
        {"outcome": Outcome.REJECTED, "queue": PLAIN, "receive_count": 40, "held_for": 100},
        Settlement(
            Action.HIDE,
            visibility=MAX_VISIBILITY_TIMEOUT - 110,
            returns_in=MAX_VISIBILITY_TIMEOUT - 110,
        ),
    ),
    "a FIFO rejection stops its group": (
        {"outcome": Outcome.REJECTED, "queue": FIFO, "receive_count": 3, "keeps_group_order": True},
        Settlement(
            Action.HIDE, visibility=0, stop_group=True, returns_in=0, dead_letter_queue="dlq.fifo"
        ),
    ),
    "an early task is sent on with the rest of its wait": (
        {"outcome": Outcome.DEFERRED, "queue": PLAIN, "receive_count": 1, "task": due_in(600)},
        Settlement(Action.SEND_ON, visibility=600, delay=600),
    ),
    "a task due in hours is sent on for 15 minutes": (
        {"outcome": Outcome.DEFERRED, "queue": PLAIN, "receive_count": 1, "task": due_in(7200)},
        Settlement(Action.SEND_ON, visibility=7200, delay=900),
    ),
    "a task due in days hides at most until SQS's cap if the send fails": (
        {
            "outcome": Outcome.DEFERRED,
            "queue": PLAIN,
            "receive_count": 1,
            "task": due_in(86_400 * 3),
            "held_for": 2.5,
        },
        Settlement(Action.SEND_ON, visibility=MAX_VISIBILITY_TIMEOUT - 13, delay=900),
    ),
    "an expired message is left to SQS": (
        {"outcome": Outcome.EXPIRED, "queue": PLAIN, "receive_count": 1},
        Settlement(Action.LEAVE),
    ),
    "an expired FIFO message stops its group": (
        {"outcome": Outcome.EXPIRED, "queue": FIFO, "receive_count": 1, "keeps_group_order": True},
        Settlement(Action.LEAVE, stop_group=True),
    ),
    "a retry delay past the cap is cut to it": (
        {
            "outcome": Outcome.FAILED,
            "queue": PLAIN,
            "receive_count": 1,
            "held_for": 3600,
            "retry_policy": RetryIntervals([MAX_VISIBILITY_TIMEOUT]),
        },
        Settlement(
            Action.HIDE,
            visibility=MAX_VISIBILITY_TIMEOUT - 3610,
            returns_in=MAX_VISIBILITY_TIMEOUT - 3610,
        ),
    ),
}


@pytest.mark.parametrize(("circumstances", "expected"), CASES.values(), ids=CASES.keys())
def test_settle_decides(circumstances, expected):
    circumstances = {"now": NOW, "task": TASK, **circumstances}
    outcome = circumstances.pop("outcome")

    assert settle(outcome, **circumstances) == expected


@pytest.mark.parametrize("receive_count", [1, 2, 5, 16, 17, 1000])
@pytest.mark.parametrize("visibility_timeout", [0, 1, 30, 43_200])
def test_rejection_backoff_is_at_least_a_second_and_at_most_twelve_hours(
    receive_count, visibility_timeout
):
    queue = QueueInfo(url="u", max_message_size=1024, visibility_timeout=visibility_timeout)

    backoff = rejection_backoff(queue, receive_count)

    assert 2 <= backoff <= MAX_VISIBILITY_TIMEOUT
    assert backoff == min(max(visibility_timeout, 1) * 2 ** min(receive_count, 16), 43_200)


@pytest.mark.parametrize("held_for", [0, 1, 3600, 43_000, 43_200, 50_000])
@pytest.mark.parametrize("outcome", list(Outcome))
def test_no_visibility_asked_is_one_sqs_would_refuse(outcome, held_for):
    settlement = settle(
        outcome,
        queue=PLAIN,
        receive_count=12,
        now=NOW,
        held_for=held_for,
        task=due_in(86_400 * 300),
        retry_policy=ExponentialBackoff(base=3600, jitter=False),
    )

    assert 0 <= settlement.visibility <= max(MAX_VISIBILITY_TIMEOUT - held_for, 0)
    assert 0 <= settlement.delay <= 900
