"""What ``queues create`` asks of a queue, and what ``check`` finds wrong with one."""

import json

import attrs
import pytest

from simple_worker import ExponentialBackoff, InvalidQueueName, RetryIntervals
from simple_worker.adapters.sqs._admin import QueueDetails, RedrivePolicy
from simple_worker.cli._check import MIN_MAX_RECEIVE_COUNT, queue_findings
from simple_worker.cli._queues import Wanted, dead_letter_name
from simple_worker.ports.queue import DEFAULT_RECEIVE_VISIBILITY, QueueStats

ARN = "arn:aws:sqs:us-east-1:123456789012:"
FIX = "simple-worker queues create m:app --queues default"


def details(name="p-default", **changes):
    queue = QueueDetails(
        name=name,
        url=f"http://sqs/{name}",
        arn=ARN + name,
        fifo=name.endswith(".fifo"),
        visibility_timeout=60,
        max_message_size=1_048_576,
        retention_period=345_600,
        delay_seconds=0,
        redrive=RedrivePolicy(f"{name}-dlq", f"{ARN}{name}-dlq", 5),
        stats=QueueStats(0, 0, 0),
    )
    return attrs.evolve(queue, **changes)


def dlq_of(name="p-default", **changes):
    return details(f"{name}-dlq", **{"redrive": None, "retention_period": 1_209_600, **changes})


# --- queues create ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("queue", "suffix", "dlq"),
    [
        ("p-default", "-dlq", "p-default-dlq"),
        ("p-jobs.fifo", "-dlq", "p-jobs-dlq.fifo"),
        ("p-jobs.fifo", "_dead", "p-jobs_dead.fifo"),
    ],
)
def test_a_dead_letter_queue_is_named_after_its_queue(queue, suffix, dlq):
    assert dead_letter_name(queue, suffix) == dlq


def test_a_dead_letter_queue_name_must_be_valid():
    with pytest.raises(InvalidQueueName):
        dead_letter_name("q" * 78, "-dlq")


def test_wanted_attributes_for_creating_a_fifo_queue_with_a_redrive_policy():
    wanted = Wanted(
        True, visibility_timeout=60, dead_letter_arn=ARN + "d.fifo", max_receive_count=5
    )

    attributes = wanted.attributes(creating=True)

    assert attributes["FifoQueue"] == "true"
    assert attributes["VisibilityTimeout"] == "60"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": ARN + "d.fifo",
        "maxReceiveCount": "5",
    }
    assert "FifoQueue" not in wanted.attributes(creating=False)  # SQS cannot change it


def test_a_queue_as_asked_has_no_differences():
    wanted = Wanted(
        False, visibility_timeout=60, dead_letter_arn=ARN + "p-default-dlq", max_receive_count=5
    )

    assert wanted.differences(details()) == []


def test_every_difference_is_named():
    wanted = Wanted(
        True,
        visibility_timeout=30,
        retention_period=60,
        dead_letter_arn=ARN + "x",
        max_receive_count=3,
    )

    assert wanted.differences(details()) == [
        "it is not a FIFO queue",
        "VisibilityTimeout is 60, wanted 30",
        "MessageRetentionPeriod is 345600, wanted 60",
        "its redrive policy is p-default-dlq after 5 receives, wanted x after 3 receives",
    ]
    assert Wanted(False, dead_letter_arn=ARN + "x", max_receive_count=3).differences(
        details(redrive=None)
    ) == ["it has no redrive policy, wanted x after 3 receives"]


# --- check ------------------------------------------------------------------------------


def texts(findings):
    return [(f.level, f.text) for f in findings]


def test_a_well_set_up_queue_has_no_findings():
    assert queue_findings(details(), dlq_of(), None, FIX) == []


def test_a_queue_without_a_redrive_policy_is_a_problem_fixed_by_queues_create_update():
    (finding,) = queue_findings(details(redrive=None), None, None, FIX)

    assert finding.level == "problem"
    assert finding.text.startswith("it has no redrive policy")
    assert "4 days" in finding.text
    assert finding.fix == FIX + " --update"


def test_a_missing_dead_letter_queue_is_a_problem():
    (finding,) = queue_findings(details(), None, None, FIX)

    assert (finding.level, finding.text[:36]) == ("problem", "its dead-letter queue p-default-dlq ")


@pytest.mark.parametrize("timeout", [1, 5, 9])
def test_a_short_visibility_timeout_is_a_warning(timeout):
    (finding,) = queue_findings(details(visibility_timeout=timeout), dlq_of(), None, FIX)

    assert finding.level == "warning"
    assert f"visibility timeout is {timeout} s" in finding.text


def test_a_visibility_timeout_of_zero_is_a_warning_about_other_consumers_not_the_worker():
    (finding,) = queue_findings(details(visibility_timeout=0), dlq_of(), None, FIX)

    assert finding.level == "warning"
    assert finding.text.startswith("its visibility timeout is 0: the worker hides each message")
    assert f"for {DEFAULT_RECEIVE_VISIBILITY} s itself" in finding.text
    assert "other consumers of the queue (an AWS Lambda trigger" in finding.text
    assert "more than once" not in finding.text
    assert "60 s" in finding.fix


@pytest.mark.parametrize("receives", [1, 3, 4])
def test_a_max_receive_count_below_five_is_a_warning_that_restarts_burn_receives(receives):
    queue = details(redrive=RedrivePolicy("p-default-dlq", ARN + "p-default-dlq", receives))

    (finding,) = queue_findings(queue, dlq_of(), None, FIX)

    assert finding.level == "warning"
    assert f"to the dead-letter queue after {receives} receive" in finding.text
    assert "every worker restart" in finding.text
    assert "max(20, 2 x threads) buffered ones" in finding.text
    assert finding.fix.startswith("raise maxReceiveCount to 5 or more, 10 where workers")
    assert finding.fix.endswith(f"(e.g. {FIX} --max-receive-count 10 --update)")


@pytest.mark.parametrize("receives", [MIN_MAX_RECEIVE_COUNT, 10, 1000])
def test_a_max_receive_count_of_five_or_more_is_fine(receives):
    queue = details(redrive=RedrivePolicy("p-default-dlq", ARN + "p-default-dlq", receives))

    assert queue_findings(queue, dlq_of(), None, FIX) == []


def test_a_dead_letter_queue_that_keeps_messages_no_longer_than_its_queue_is_a_warning():
    (finding,) = queue_findings(details(), dlq_of(retention_period=345_600), None, FIX)

    assert finding.level == "warning"
    assert "may expire there at once" in finding.text
    assert "1209600" in finding.fix


def test_a_fifo_queue_with_a_fifo_dead_letter_queue_is_fine():
    assert queue_findings(details("p-jobs.fifo"), dlq_of("p-jobs.fifo", fifo=True), None, FIX) == []


def test_a_fifo_queue_whose_dead_letter_queue_is_standard_is_a_problem():
    queue = details("p-jobs.fifo")

    found = texts(queue_findings(queue, dlq_of("p-jobs.fifo", fifo=False), None, FIX))

    assert [level for level, _ in found] == ["problem"]
    assert "is not a FIFO queue and it is" in found[0][1]


def test_a_queue_named_fifo_that_is_not_a_fifo_queue_is_a_problem():
    found = texts(queue_findings(details("p-jobs.fifo", fifo=False), dlq_of(), None, FIX))

    assert ("problem", "its name ends in .fifo but it is not a FIFO queue") in found


def test_a_name_that_does_not_match_the_queue_type_is_a_problem():
    found = texts(queue_findings(details(fifo=True), dlq_of(fifo=True), None, FIX))

    assert ("problem", "its name does not end in .fifo but it is a FIFO queue") in found


def test_retry_intervals_beyond_max_receive_count_are_a_warning():
    found = texts(queue_findings(details(), dlq_of(), RetryIntervals([1, 2, 3, 4, 5, 6]), FIX))

    assert found == [
        (
            "warning",
            (
                "only the first 5 of the 6 retry intervals are used: a message moves to the "
                "dead-letter queue after 5 receives"
            ),
        )
    ]


def test_a_retry_schedule_longer_than_the_retention_period_is_a_problem():
    backoff = ExponentialBackoff(base=3600, jitter=False)  # 1+2+4+8+12 hours, capped at 12

    (finding,) = queue_findings(details(retention_period=86_400), dlq_of(), backoff, FIX)

    assert finding.level == "problem"
    assert "retried for 1.12 days before reaching the dead-letter queue" in finding.text
    assert "expire after 1 day: it is lost instead" in finding.text


def test_a_retry_schedule_within_the_retention_period_is_fine():
    assert queue_findings(details(), dlq_of(), ExponentialBackoff(base=10, jitter=False), FIX) == []
