"""``simple-worker redrive``: from a dead-letter queue back to its queue, never losing one.

moto has no ``StartMessageMoveTask``, so these runs use (and check that the
command says it uses) the receive/send/delete method.
"""

import json
import signal
from collections import Counter

import pytest


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


# --- by message: --task and --drop-if-unrunnable -----------------------------------------


def envelope(task_name, **payload):
    """A task's body in its oldest wire format (task name and payload only)."""
    return json.dumps({"task_name": task_name, "task_payload": payload})


def fill_with_a_mix(sqs_client, url):
    """5 runnable ``record``, 3 runnable ``fail``, 2 ``record`` that do not fit, 1 unknown
    task, 2 bodies that are not tasks: 13 dead letters."""
    bodies = [envelope("record", n=n) for n in range(5)]
    bodies += [envelope("fail", n=n) for n in range(3)]
    bodies += [envelope("record", m=1), envelope("record", n=1, colour="red")]
    bodies += [envelope("nope", n=1), "not json", json.dumps({"hello": "<script>"})]
    for start in range(0, len(bodies), 10):
        sqs_client.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "MessageBody": body}
                for i, body in enumerate(bodies[start : start + 10])
            ],
        )
    return bodies


def test_redrive_task_moves_only_that_task_and_leaves_the_rest_visible(
    run_main, create_queue, sqs_client, queue_url, counts, drain, prefix
):
    create_queue("default")
    bodies = fill_with_a_mix(sqs_client, queue_url("default-dlq"))

    result = run_main("redrive", "cli_app:app", "--queue", "default", "--task", "fail")

    assert result.returncode == 0, result.stderr
    assert "(--task needs it)" in result.stderr
    assert f"Moved 3 message(s) from {prefix}default-dlq" in result.stdout
    assert f"Left 10 message(s) of other tasks in {prefix}default-dlq." in result.stdout
    assert sorted(m["Body"] for m in drain("default")) == sorted(bodies[5:8])
    # The others are visible again at once, not after the run's visibility timeout.
    assert counts("default-dlq") == (10, 0)


def test_redrive_drop_if_unrunnable_moves_the_runnable_and_deletes_the_refused(
    run_main, create_queue, sqs_client, queue_url, counts, drain
):
    create_queue("default")
    bodies = fill_with_a_mix(sqs_client, queue_url("default-dlq"))

    result = run_main(
        "redrive", "cli_app:app", "--queue", "default", "--drop-if-unrunnable", "--yes"
    )

    assert result.returncode == 0, result.stderr
    assert "Dropped 5 message(s) that this app's workers would refuse (deleted)." in result.stdout
    refused = result.stdout.split("Refused by this app's workers: ")[1]
    assert "payload does not fit the handler: missing n; unexpected m (1)" in refused
    assert "payload does not fit the handler: unexpected colour (1)" in refused
    assert "unknown task nope: no handler is registered for it (1)" in refused
    assert refused.count("not a task envelope") == 2
    assert counts("default-dlq") == (0, 0)
    assert sorted(m["Body"] for m in drain("default")) == sorted(bodies[:8])


def test_redrive_task_and_drop_together_drop_only_within_the_task(
    run_main, create_queue, sqs_client, queue_url, counts, drain
):
    create_queue("default")
    bodies = fill_with_a_mix(sqs_client, queue_url("default-dlq"))

    result = run_main(
        "dlq",
        "redrive",
        "cli_app:app",
        "--queue",
        "default",
        "--task",
        "record",
        "--drop-if-unrunnable",
        "--yes",
    )

    assert result.returncode == 0, result.stderr
    assert "Dropped 2 message(s)" in result.stdout
    assert sorted(m["Body"] for m in drain("default")) == sorted(bodies[:5])
    assert counts("default-dlq") == (6, 0)  # fail x3, the unknown task, the two non-tasks


def test_redrive_dry_run_by_message_counts_what_would_happen_and_changes_nothing(
    run_main, create_queue, sqs_client, queue_url, counts
):
    create_queue("default")
    fill_with_a_mix(sqs_client, queue_url("default-dlq"))

    result = run_main(
        "redrive", "cli_app:app", "--queue", "default", "--task", "record",
        "--drop-if-unrunnable", "--dry-run",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "would move 5 to" in result.stdout
    assert "drop 2, leave 6" in result.stdout
    assert counts("default-dlq") == (13, 0)
    assert counts("default") == (0, 0)


def test_redrive_drop_asks_first_and_refuses_without_a_terminal(
    cli, on_a_terminal, create_queue, sqs_client, queue_url, counts, prefix
):
    create_queue("default")
    fill_with_a_mix(sqs_client, queue_url("default-dlq"))
    redrive = ("redrive", "cli_app:app", "--queue", "default", "--drop-if-unrunnable")

    refused = cli(*redrive)
    assert refused.returncode == 2
    assert "Pass --yes" in refused.stderr

    wrong = on_a_terminal(f"{prefix}default\n", *redrive)
    assert wrong.returncode == 1
    assert b"Not confirmed: nothing moved or dropped." in wrong.stderr
    assert counts("default-dlq") == (13, 0)

    right = on_a_terminal(f"{prefix}default-dlq\n", *redrive)
    assert right.returncode == 0, right.stderr
    assert counts("default-dlq") == (0, 0)
    assert counts("default") == (8, 0)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--task", "record", "--method", "move-task"), "--task works with --method receive-send"),
        (("--drop-if-unrunnable", "--yes", "--method", "move-task"), "--drop-if-unrunnable works"),
        (("--yes",), "--yes goes with --drop-if-unrunnable only."),
    ],
)
def test_redrive_by_message_refuses_options_it_cannot_honour(
    run_main, create_queue, sqs_client, queue_url, counts, args, says
):
    create_queue("default")
    fill_with_a_mix(sqs_client, queue_url("default-dlq"))

    result = run_main("redrive", "cli_app:app", "--queue", "default", *args)

    assert result.returncode == 2
    assert says in result.stderr
    assert counts("default-dlq") == (13, 0)
