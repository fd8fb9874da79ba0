"""``simple-worker redrive``: from a dead-letter queue back to its queue, never losing one.

moto has no ``StartMessageMoveTask``, so these runs use (and check that the
command says it uses) the receive/send/delete method.
"""

import json
import signal
from collections import Counter


def fill_dead_letter_queue(sqs_client, url, count, *, fifo=False):
    """Send ``count`` numbered bodies (with a message attribute) to the queue at ``url``."""
    for start in range(0, count, 10):
        entries = []
        for n in range(start, min(start + 10, count)):
            entry = {
                "Id": str(n),
                "MessageBody": json.dumps({"n": n}),
                "MessageAttributes": {"origin": {"DataType": "String", "StringValue": f"m{n}"}},
            }
            if fifo:
                entry |= {"MessageGroupId": f"group-{n % 2}", "MessageDeduplicationId": str(n)}
            entries.append(entry)
        sqs_client.send_message_batch(QueueUrl=url, Entries=entries)


def ns(messages):
    return Counter(json.loads(m["Body"])["n"] for m in messages)


def test_redrive_moves_every_message_back_with_its_attributes(
    cli, create_queue, sqs_client, queue_url, counts, drain, prefix
):
    create_queue("default")
    fill_dead_letter_queue(sqs_client, queue_url("default-dlq"), 25)

    result = cli("redrive", "cli_app:app", "--queue", "default")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"Moved 25 message(s) from {prefix}default-dlq to {prefix}default (receive, send, "
        "then delete, from this process)."
    )
    assert "the endpoint is not AWS's, so it may lack StartMessageMoveTask" in result.stderr
    assert counts("default-dlq") == (0, 0)
    moved = drain("default")
    assert ns(moved) == Counter(range(25))
    assert {m["MessageAttributes"]["origin"]["StringValue"] for m in moved} == {
        f"m{n}" for n in range(25)
    }


def test_redrive_dry_run_counts_and_moves_nothing(
    run_main, create_queue, sqs_client, queue_url, counts, prefix
):
    create_queue("default")
    fill_dead_letter_queue(sqs_client, queue_url("default-dlq"), 4)

    result = run_main("redrive", "cli_app:app", "--queue", "default", "--dry-run")

    assert result.returncode == 0
    assert result.stdout.startswith(
        f"Dry run: would move about 4 message(s) from {prefix}default-dlq to {prefix}default"
    )
    assert counts("default-dlq") == (4, 0)
    assert counts("default") == (0, 0)


def test_redrive_takes_the_full_queue_name_as_stats_prints_it(
    run_main, create_queue, sqs_client, queue_url, counts, prefix
):
    create_queue("default")
    fill_dead_letter_queue(sqs_client, queue_url("default-dlq"), 3)

    result = run_main("redrive", "cli_app:app", "--queue", f"{prefix}default")

    assert result.returncode == 0, result.stderr
    assert f"to {prefix}default " in result.stdout
    assert counts("default") == (3, 0)


def test_a_missing_queue_says_to_create_it_with_the_queues_command(run_main, prefix):
    result = run_main("redrive", "cli_app:app", "--queue", "default")

    assert result.returncode == 2
    assert f"1 queue does not exist: {prefix}default." in result.stderr
    assert "simple-worker queues create MODULE:APP" in result.stderr
    assert "aws sqs" not in result.stderr


def test_redrive_with_a_limit_moves_that_many(
    run_main, create_queue, sqs_client, queue_url, counts
):
    create_queue("default")
    fill_dead_letter_queue(sqs_client, queue_url("default-dlq"), 15)

    result = run_main("redrive", "cli_app:app", "--queue", "default", "--limit", "12")

    assert result.returncode == 0
    assert result.stdout.startswith("Moved 12 message(s)")
    assert counts("default") == (12, 0)
    assert counts("default-dlq") == (3, 0)


def test_redrive_killed_half_way_then_run_again_loses_nothing(
    create_queue, sqs_client, queue_url, counts, drain, start_cli, run_main, wait_until
):
    create_queue("default")
    fill_dead_letter_queue(sqs_client, queue_url("default-dlq"), 60)
    redrive = start_cli(
        "redrive", "cli_app:app", "--queue", "default",
        "--max-per-second", "20", "--visibility-timeout", "1",
    )  # fmt: skip
    wait_until(lambda: counts("default")[0] >= 10, message="some messages to move")

    redrive.send(signal.SIGKILL)
    redrive.wait()
    wait_until(lambda: counts("default-dlq")[1] == 0, message="the DLQ's messages to reappear")
    moved_before = counts("default")[0]
    assert 0 < moved_before < 60  # it was interrupted half-way
    finished = run_main("redrive", "cli_app:app", "--queue", "default")

    assert finished.returncode == 0, finished.stdout
    assert counts("default-dlq") == (0, 0)
    received = ns(drain("default"))
    assert set(received) == set(range(60))  # none lost
    assert all(count in (1, 2) for count in received.values())  # a few sent twice, at most


def test_redrive_stopped_with_ctrl_c_finishes_its_batch_and_exits_130(
    create_queue, sqs_client, queue_url, counts, drain, start_cli, wait_until
):
    create_queue("default")
    fill_dead_letter_queue(sqs_client, queue_url("default-dlq"), 60)
    redrive = start_cli("redrive", "cli_app:app", "--queue", "default", "--max-per-second", "20")
    wait_until(lambda: counts("default")[0] >= 10, message="some messages to move")

    redrive.send(signal.SIGINT)

    assert redrive.wait() == 130
    moved = ns(drain("default"))
    assert redrive.stdout().startswith(f"Moved {sum(moved.values())} message(s)")
    assert "Interrupted: run the command again to move the rest." in redrive.stdout()
    assert set(moved.values()) == {1}  # the batch under way was finished: no duplicates
    assert sum(moved.values()) + sum(counts("default-dlq")) == 60


def test_redrive_between_fifo_queues_keeps_message_groups(
    run_main, sqs_client, queue_url, counts, drain
):
    run_main("queues", "create", "cli_app:app", "--queues", "jobs.fifo")
    fill_dead_letter_queue(sqs_client, queue_url("jobs-dlq.fifo"), 6, fifo=True)

    result = run_main("redrive", "cli_app:app", "--queue", "jobs.fifo")

    assert result.returncode == 0, result.stdout
    moved = drain("jobs.fifo")
    assert ns(moved) == Counter(range(6))
    assert {m["Attributes"]["MessageGroupId"] for m in moved} == {"group-0", "group-1"}
    assert counts("jobs-dlq.fifo") == (0, 0)


def test_a_message_the_queue_cannot_take_stays_in_the_dead_letter_queue(
    run_main, create_queue, sqs_client, queue_url, counts, drain
):
    create_queue("default", MaximumMessageSize=1024)
    fill_dead_letter_queue(sqs_client, queue_url("default-dlq"), 3)
    sqs_client.send_message(QueueUrl=queue_url("default-dlq"), MessageBody="x" * 2000)

    result = run_main("redrive", "cli_app:app", "--queue", "default", "--visibility-timeout", "60")

    assert result.returncode == 1
    assert "Moved 3 message(s)" in result.stdout
    assert "1 message(s) could not be sent and stay in" in result.stdout
    assert "MessageTooLong: 2000 bytes" in result.stdout
    assert ns(drain("default")) == Counter(range(3))
    assert sum(counts("default-dlq")) == 1


def test_redrive_needs_a_dead_letter_queue(run_main, create_queue):
    create_queue("default", dlq=False)

    result = run_main("redrive", "cli_app:app", "--queue", "default")

    assert result.returncode == 2
    assert "has no redrive policy: name its dead-letter queue with --dlq" in result.stderr
