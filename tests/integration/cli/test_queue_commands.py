"""``queues create``, ``check``, ``stats``, ``enqueue`` and ``purge``, end to end on moto."""

import json
import signal
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def attributes(sqs_client, url):
    return sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


# --- queues create ------------------------------------------------------------------------


def test_queues_create_makes_each_queue_with_a_dead_letter_queue_and_is_idempotent(
    cli, sqs_client, prefix, queue_url
):
    first = cli("queues", "create", "cli_app:app", "--max-receive-count", "3")
    second = cli("queues", "create", "cli_app:app", "--max-receive-count", "3")

    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[:2] == [
        f"created    {prefix}default-dlq  (visibility timeout 30 s, retention 14 days)",
        (
            f"created    {prefix}default      (visibility timeout 60 s, dead-letter queue "
            f"{prefix}default-dlq after 3 receives)"
        ),
    ]
    queue = attributes(sqs_client, queue_url("default"))
    dlq = attributes(sqs_client, queue_url("default-dlq"))
    assert queue["VisibilityTimeout"] == "60"
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq["QueueArn"],
        "maxReceiveCount": 3,
    }
    assert dlq["MessageRetentionPeriod"] == "1209600"
    assert second.returncode == 0
    assert second.stdout.splitlines() == [
        f"unchanged  {prefix}default-dlq",
        f"unchanged  {prefix}default",
        "Nothing to do: every queue already exists as asked.",
    ]


def test_queues_create_reports_a_queue_that_differs_and_changes_it_only_with_update(
    run_main, create_queue, sqs_client, prefix, queue_url
):
    create_queue("default", dlq=False, VisibilityTimeout=30)

    reported = run_main("queues", "create", "cli_app:app")
    unchanged = attributes(sqs_client, queue_url("default"))
    updated = run_main("queues", "create", "cli_app:app", "--update")

    assert reported.returncode == 1
    assert (
        f"differs    {prefix}default      VisibilityTimeout is 30, wanted 60; it has no "
        f"redrive policy, wanted {prefix}default-dlq after 10 receives" in reported.stdout
    )
    assert "run again with --update" in reported.stdout
    assert "RedrivePolicy" not in unchanged
    assert unchanged["VisibilityTimeout"] == "30"
    assert updated.returncode == 0, updated.stdout
    assert f"updated    {prefix}default" in updated.stdout
    assert attributes(sqs_client, queue_url("default"))["VisibilityTimeout"] == "60"
    assert run_main("check", "cli_app:app").returncode == 0


def test_queues_create_gives_a_fifo_queue_a_fifo_dead_letter_queue(
    run_main, sqs_client, queue_url, prefix
):
    result = run_main("queues", "create", "cli_app:app", "--queues", "jobs.fifo")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        f"created    {prefix}jobs-dlq.fifo  (FIFO, visibility timeout 30 s, retention 14 days)",
        (
            f"created    {prefix}jobs.fifo      (FIFO, visibility timeout 60 s, dead-letter "
            f"queue {prefix}jobs-dlq.fifo after 10 receives)"
        ),
    ]
    dlq = attributes(sqs_client, queue_url("jobs-dlq.fifo"))
    queue = attributes(sqs_client, queue_url("jobs.fifo"))
    assert (dlq["FifoQueue"], queue["FifoQueue"]) == ("true", "true")
    assert json.loads(queue["RedrivePolicy"])["deadLetterTargetArn"] == dlq["QueueArn"]


# --- check ------------------------------------------------------------------------------


def test_check_passes_queues_made_by_queues_create(cli, run_main, prefix):
    run_main("queues", "create", "cli_app:app")

    result = cli("check", "cli_app:app")

    assert result.returncode == 0, result.stdout
    assert (
        f"{prefix}default  ok       (standard, visibility timeout 60 s, max message size "
        f"1048576 bytes, dead-letter queue {prefix}default-dlq after 10 receives)"
    ) in result.stdout
    assert "sqs:ReceiveMessage" in result.stdout  # what it could not check, said
    assert result.stdout.endswith("1 queue(s) checked: 0 problem(s), 0 warning(s).\n")


def test_check_passes_a_fifo_queue_made_by_queues_create(run_main, prefix):
    run_main("queues", "create", "cli_app:app", "--queues", "jobs.fifo")

    result = run_main("check", "cli_app:app", "--queues", "jobs.fifo")

    assert result.returncode == 0, result.stdout
    assert f"{prefix}jobs.fifo  ok       (FIFO, visibility timeout 60 s" in result.stdout
    assert "0 problem(s), 0 warning(s)" in result.stdout


def test_check_reports_a_queue_named_fifo_that_is_not_a_fifo_queue(
    run_main, create_queue, sqs_client, prefix
):
    create_queue("jobs")  # a standard queue and its dead-letter queue, renamed below
    dlq_arn = f"arn:aws:sqs:us-east-1:123456789012:{prefix}jobs-dlq"
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
    # SQS itself refuses such a name for a standard queue; emulators like moto take it.
    sqs_client.create_queue(
        QueueName=f"{prefix}jobs.fifo",
        Attributes={"VisibilityTimeout": "60", "RedrivePolicy": policy},
    )

    result = run_main("check", "cli_app:app", "--queues", "jobs.fifo")

    assert result.returncode == 1
    assert f"{prefix}jobs.fifo  PROBLEM  (standard," in result.stdout
    assert "problem: its name ends in .fifo but it is not a FIFO queue." in result.stdout


def test_check_reports_each_problem_with_its_fix_and_exits_1(
    run_main, create_queue, sqs_client, prefix
):
    create_queue("default", dlq=False, VisibilityTimeout=5)
    create_queue("other", MessageRetentionPeriod=60)
    sqs_client.delete_queue(
        QueueUrl=sqs_client.get_queue_url(QueueName=f"{prefix}other-dlq")["QueueUrl"]
    )

    result = run_main("check", "cli_app:app", "--queues", "default,other,absent")

    assert result.returncode == 1
    out = result.stdout
    assert "problem: it has no redrive policy" in out
    assert "fix: simple-worker queues create cli_app:app --queues default --update." in out
    assert "warning: its visibility timeout is 5 s" in out
    assert f"problem: its dead-letter queue {prefix}other-dlq does not exist" in out
    assert f"{prefix}absent" in out
    assert "problem: it does not exist." in out
    assert out.endswith("3 queue(s) checked: 3 problem(s), 1 warning(s).\n")


def test_check_warns_about_a_zero_visibility_timeout_and_a_low_max_receive_count(
    run_main, create_queue, prefix
):
    # A day of retention, less than its dead-letter queue's 4 days: no warning about that.
    create_queue("default", max_receive_count=3, VisibilityTimeout=0, MessageRetentionPeriod=86_400)

    result = run_main("check", "cli_app:app", "--queues", "default")

    assert result.returncode == 0, result.stdout  # warnings only
    out = result.stdout
    assert f"{prefix}default  WARNING  (standard, visibility timeout 0 s," in out
    assert "warning: its visibility timeout is 0: the worker hides each message it " in out
    assert "warning: its redrive policy moves a message to the dead-letter queue after 3 " in out
    assert "--queues default --max-receive-count 10 --update)." in out
    assert out.endswith("1 queue(s) checked: 0 problem(s), 2 warning(s).\n")


def test_check_warns_when_a_retry_schedule_outlives_the_messages(run_main, create_queue):
    create_queue("default", max_receive_count=4, MessageRetentionPeriod=600)

    result = run_main("check", "cli_app:app", "--retry-intervals", "60,300,600,900,1200")

    assert result.returncode == 1
    assert "only the first 4 of the 5 retry intervals are used" in result.stdout
    assert "retried for 31 minutes before reaching the dead-letter queue" in result.stdout
    assert "messages expire after 10 minutes: it is lost instead" in result.stdout


# --- stats ------------------------------------------------------------------------------


def test_stats_shows_each_queue_and_its_dead_letter_queue_as_a_table_or_json(
    cli, run_main, create_queue, producer, prefix
):
    create_queue("default")
    producer.add_tasks("record", [{"n": n} for n in range(3)])

    table = cli("stats", "cli_app:app")
    as_json = run_main("stats", "cli_app:app", "--json")

    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["QUEUE", "VISIBLE", "IN", "FLIGHT", "DELAYED"]
    assert lines[1].split() == [f"{prefix}default", "3", "0", "0"]
    assert lines[2].split() == ["dead", "letters:", f"{prefix}default-dlq", "0", "0", "0"]
    assert "ApproximateAgeOfOldestMessage" in lines[3]
    assert as_json.returncode == 0
    report = json.loads(as_json.stdout)
    assert report["queues"] == [
        {
            "queue": f"{prefix}default",
            "visible": 3,
            "in_flight": 0,
            "delayed": 0,
            "dead_letter_queue": {
                "queue": f"{prefix}default-dlq",
                "visible": 0,
                "in_flight": 0,
                "delayed": 0,
            },
        }
    ]


def test_stats_of_a_missing_queue_says_so_and_exits_1(run_main, prefix):
    result = run_main("stats", "cli_app:app", "--json")

    assert result.returncode == 1
    assert json.loads(result.stdout)["queues"] == [
        {"queue": f"{prefix}default", "error": "does not exist"}
    ]


def test_stats_watch_refreshes_until_ctrl_c_and_exits_0(create_queue, start_cli, wait_until):
    create_queue("default")
    watch = start_cli("stats", "cli_app:app", "--json", "--watch", "0.1")
    wait_until(lambda: watch.stdout().count("\n") >= 2, message="two refreshes")

    watch.send(signal.SIGINT)

    assert watch.wait() == 0
    assert all(json.loads(line)["queues"] for line in watch.stdout().splitlines())


# --- enqueue ----------------------------------------------------------------------------


def test_enqueue_sends_a_task_from_key_value_pairs_and_prints_its_id(cli, create_queue, drain):
    create_queue("default")

    result = cli("enqueue", "cli_app:app", "record", "n=7", "sleep=0.5")

    assert result.returncode == 0, result.stderr
    task_id = result.stdout.strip()
    (message,) = drain("default")
    envelope = json.loads(message["Body"])
    assert (envelope["task_id"], envelope["task_name"]) == (task_id, "record")
    assert envelope["task_payload"] == {"n": 7, "sleep": 0.5}


def test_enqueue_takes_a_json_payload(run_main, create_queue, drain):
    create_queue("default")

    result = run_main("enqueue", "cli_app:app", "touch", "--payload", '{"path": "x.txt"}')

    assert result.returncode == 0, result.stderr
    (message,) = drain("default")
    assert json.loads(message["Body"])["task_payload"] == {"path": "x.txt"}


def test_bad_payload_json_is_one_line_and_status_2(cli, create_queue, counts):
    create_queue("default")

    result = cli("enqueue", "cli_app:app", "record", "--payload", '{"n": 1,')

    assert result.returncode == 2
    assert result.stderr.startswith("simple-worker: --payload is not JSON: Expecting")
    assert len(result.stderr.strip().splitlines()) == 1
    assert counts("default") == (0, 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["record", "--payload", "1"], "--payload must be a JSON object"),
        (["record", "--payload", "[1]"], "--payload must be a JSON object"),
        (["record", "--payload", '{"n": NaN}'], "--payload is not JSON: NaN is not JSON"),
        (["record", "n"], "'n' is not key=value"),
        (["record", "m=1"], "does not fit its handler: missing n; unexpected m"),
        (["nope", "n=1"], "No handler is registered for task 'nope'"),
        (["record", "n=1", "--payload", "{}"], "not both"),
    ],
)
def test_enqueue_refuses_what_add_task_refuses_in_one_line_with_status_2(
    run_main, create_queue, counts, args, message
):
    create_queue("default")

    result = run_main("enqueue", "cli_app:app", *args)

    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert counts("default") == (0, 0)


@pytest.mark.parametrize("command", ["enqueue", "stats", "check", "purge", "redrive"])
def test_a_bad_app_path_is_one_line_and_status_2_for_every_command(cli, run_main, command):
    extra = {"enqueue": ["record"], "purge": ["--queue", "default"]}
    extra["redrive"] = extra["purge"]
    run = cli if command == "enqueue" else run_main  # one for real, the rest in-process

    result = run(command, "no_such_module:app", *extra.get(command, []))

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "simple-worker: Cannot import module 'no_such_module' (from 'no_such_module:app'): "
        "there is no module 'no_such_module'. Run the command from the directory that holds "
        "it, or add that directory to PYTHONPATH."
    )


def test_an_app_in_testing_mode_is_refused_by_queue_operations(run_main, tmp_path, monkeypatch):
    (tmp_path / "cli_memory_app.py").write_text(
        "from simple_worker import App\napp = App(testing_mode=True)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    result = run_main("stats", "cli_memory_app:app", "--queues", "default")

    assert result.returncode == 2
    assert "This command works on SQS queues" in result.stderr


# --- purge ------------------------------------------------------------------------------


def test_purge_refuses_without_a_terminal_unless_yes_is_given(
    cli, run_main, create_queue, producer, counts, prefix
):
    create_queue("default")
    producer.add_tasks("record", [{"n": n} for n in range(3)])

    refused = cli("purge", "cli_app:app", "--queue", "default")
    assert refused.returncode == 2
    assert "Pass --yes to go ahead anyway" in refused.stderr
    assert counts("default") == (3, 0)

    purged = run_main("purge", "cli_app:app", "--queue", "default", "--yes")
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.startswith(f"Purged {prefix}default")
    assert counts("default") == (0, 0)


def test_purge_asks_for_the_queue_name_on_a_terminal(
    on_a_terminal, create_queue, producer, counts, prefix, sqs_client, queue_url
):
    create_queue("default")
    sqs_client.send_message(QueueUrl=queue_url("default-dlq"), MessageBody="dead")
    producer.add_task("record", n=1)

    purge = ("purge", "cli_app:app", "--queue", "default", "--dead-letter")
    wrong = on_a_terminal("default\n", *purge)
    assert wrong.returncode == 1
    assert counts("default-dlq") == (1, 0)

    right = on_a_terminal(f"{prefix}default-dlq\n", *purge)
    assert right.returncode == 0
    assert counts("default-dlq") == (0, 0)
    assert counts("default") == (1, 0)  # only the dead-letter queue was purged
