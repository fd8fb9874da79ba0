"""``simple-worker enqueue`` with task options, on moto (in-process ``main``)."""

import json
from datetime import datetime, timedelta, timezone

import pytest

pytestmark = pytest.mark.integration


def test_enqueue_with_a_delay_sends_a_delayed_message(run_main, create_queue, counts, drain):
    create_queue("default")

    result = run_main("enqueue", "cli_app:app", "record", "n=1", "--delay", "600")

    assert result.returncode == 0, result.stderr
    assert drain("default") == []  # not visible before its delay


def test_enqueue_with_not_before_hours_ahead_sends_a_delayed_message(
    run_main, create_queue, sqs_client, queue_url
):
    create_queue("default")
    due = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()

    result = run_main("enqueue", "cli_app:app", "record", "n=1", "--not-before", due)

    assert result.returncode == 0, result.stderr
    attributes = sqs_client.get_queue_attributes(
        QueueUrl=queue_url("default"), AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--delay", "1000"], "use --not-before TIME"),
        (["--not-before", "2099-01-01T00:00:00Z"], "the limit is 365 days"),
        (["--not-before", "2099-01-01T00:00:00Z"], "On the command line: --delay, --not-before"),
        (["--not-before", "2026-12-24T18:00:00"], "has no UTC offset, so its time zone"),
        (["--not-before", "tomorrow"], "expected an ISO 8601 time with its UTC offset"),
        (["--deduplication-id", "d-1"], "deduplication ids are for FIFO queues only"),
        (["--group-id", "has space"], "characters SQS refuses"),
    ],
)
def test_enqueue_refuses_bad_options_in_one_line_with_status_2(
    run_main, create_queue, counts, args, message
):
    create_queue("default")

    result = run_main("enqueue", "cli_app:app", "record", "n=1", *args)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert counts("default") == (0, 0)


def test_enqueue_with_a_group_id_on_a_standard_queue(run_main, create_queue, drain):
    create_queue("default")

    result = run_main("enqueue", "cli_app:app", "record", "n=2", "--group-id", "tenant-7")

    assert result.returncode == 0, result.stderr
    (message,) = drain("default")
    assert json.loads(message["Body"])["task_payload"] == {"n": 2}
