"""``simple-worker schedules`` against moto's EventBridge Scheduler (it stores, never fires).

Most runs call the command's `main` in this process (`run_main`), against the
session's moto server over HTTP; one runs the real command in a subprocess.
"""

import json
import sys

import boto3
import pytest

from simple_worker import App
from simple_worker.domain._envelope import decode_envelope
from simple_worker.domain._schedule import fill_context
from simple_worker.ports.queue import OutgoingMessage

ROLE = "arn:aws:iam::123456789012:role/scheduler-sends-tasks"
SAMPLE_ID = "d32c5kddcf5bb8c3"


@pytest.fixture
def scheduler(moto_server):
    return boto3.client("scheduler", endpoint_url=moto_server, region_name="us-east-1")


@pytest.fixture
def group(prefix):
    return prefix + "schedules"


@pytest.fixture
def queues(create_queue):
    create_queue("default")
    create_queue("maintenance")


@pytest.fixture
def schedules(run_main, moto_server, monkeypatch):
    """``schedules(*args, **env)``: ``simple-worker schedules ...`` on ``schedules_app:app``."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SCHEDULER", moto_server)
    for name in ("SCHEDULES_CRON", "SCHEDULES_DROP", "SCHEDULES_UNREGISTER", "SCHEDULES_BAD"):
        monkeypatch.delenv(name, raising=False)

    def run(*args, **env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        sys.modules.pop("schedules_app", None)
        try:
            return run_main(*args)
        finally:
            for name in env:
                monkeypatch.delenv(name)

    yield run
    sys.modules.pop("schedules_app", None)


def stored(scheduler, group):
    names = [item["Name"] for item in scheduler.list_schedules(GroupName=group)["Schedules"]]
    return {name: scheduler.get_schedule(Name=name, GroupName=group) for name in names}


def sync(schedules, *extra, **env):
    return schedules("schedules", "sync", "schedules_app:app", "--role-arn", ROLE, *extra, **env)


@pytest.mark.usefixtures("queues")
def test_sync_creates_each_schedule_with_the_queue_as_target_then_changes_nothing(
    schedules, scheduler, group, prefix, sqs_client
):
    first = sync(schedules)

    assert first.returncode == 0, first.stderr
    assert f"Created schedule group {group}." in first.stdout
    assert "3 created, 0 updated, 0 unchanged, 0 deleted." in first.stdout
    found = stored(scheduler, group)
    assert sorted(found) == ["cleanup", "every_5_minutes", "nightly_report"]
    nightly = found["nightly_report"]
    assert nightly["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert nightly["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert nightly["Target"]["Arn"].endswith(f":{prefix}default")
    assert nightly["Target"]["RoleArn"] == ROLE
    assert nightly["Target"]["DeadLetterConfig"]["Arn"].endswith(f":{prefix}default-dlq")
    assert nightly["Target"]["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": 86400,
        "MaximumRetryAttempts": 185,
    }
    assert found["every_5_minutes"]["FlexibleTimeWindow"] == {
        "Mode": "FLEXIBLE",
        "MaximumWindowInMinutes": 2,
    }
    assert found["cleanup"]["ScheduleExpression"] == "at(2030-01-01T04:00:00)"

    again = sync(schedules)
    assert again.returncode == 0, again.stderr
    assert "0 created, 0 updated, 3 unchanged, 0 deleted." in again.stdout
    assert sync(schedules, "--dry-run").returncode == 0


@pytest.mark.usefixtures("queues")
def test_a_changed_cron_is_an_update_which_dry_run_reports_with_exit_1(schedules, scheduler, group):
    sync(schedules)

    dry = sync(schedules, "--dry-run", SCHEDULES_CRON="0 3 * * ? *")
    assert dry.returncode == 1
    assert "update" in dry.stdout
    assert "expression: cron(0 2 * * ? *) -> cron(0 3 * * ? *)" in dry.stdout
    assert "Dry run: 1 change(s) would be made" in dry.stdout
    assert stored(scheduler, group)["nightly_report"]["ScheduleExpression"] == "cron(0 2 * * ? *)"

    done = sync(schedules, SCHEDULES_CRON="0 3 * * ? *")
    assert done.returncode == 0, done.stderr
    assert "0 created, 1 updated, 2 unchanged" in done.stdout
    assert stored(scheduler, group)["nightly_report"]["ScheduleExpression"] == "cron(0 3 * * ? *)"


@pytest.mark.usefixtures("queues")
def test_a_schedule_no_longer_declared_is_kept_unless_pruned(schedules, scheduler, group):
    sync(schedules)

    kept = sync(schedules, SCHEDULES_DROP="1")
    assert kept.returncode == 0
    assert "not declared" in kept.stdout
    assert "every_5_minutes" in stored(scheduler, group)
    assert sync(schedules, "--dry-run", "--prune", SCHEDULES_DROP="1").returncode == 1

    pruned = sync(schedules, "--prune", SCHEDULES_DROP="1")
    assert pruned.returncode == 0, pruned.stderr
    assert "0 created, 0 updated, 2 unchanged, 1 deleted." in pruned.stdout
    assert sorted(stored(scheduler, group)) == ["cleanup", "nightly_report"]


@pytest.mark.usefixtures("queues")
def test_the_stored_input_with_sample_context_values_runs_on_the_worker(
    schedules, scheduler, group
):
    sync(schedules)
    template = stored(scheduler, group)["nightly_report"]["Target"]["Input"]
    body = template.replace("<aws.scheduler.execution-id>", SAMPLE_ID).replace(
        "<aws.scheduler.scheduled-time>", "2026-03-22T01:00:00Z"
    )
    assert body == fill_context(
        template,
        execution_id=SAMPLE_ID,
        scheduled_time=decode_envelope(body).enqueued_at,
    )

    app = App(testing_mode=True)
    ran = []
    app.register_task_handler("nightly_report")(lambda kind: ran.append(kind))
    app.queue.send_batch("default", [OutgoingMessage(id=SAMPLE_ID, body=body)])
    report = app.testing_worker().run_all()

    assert ran == ["daily"]
    (run,) = report.succeeded
    assert run.task.id == SAMPLE_ID
    assert run.task.enqueued_at.isoformat() == "2026-03-22T01:00:00+00:00"


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("unknown-task", "No handler is registered for task 'no_such_task'"),
        ("payload", "does not fit its handler: missing kind; unexpected kynd"),
        ("cron", "exactly one of day-of-month (*) and day-of-week (*) must be '?'"),
        ("rate", "wants '1 minute'"),
        ("timezone", "time zone 'Mars/Olympus' is unknown"),
    ],
)
def test_a_bad_declaration_exits_2_with_one_line_and_creates_nothing(
    schedules, scheduler, group, bad, says
):
    result = sync(schedules, SCHEDULES_BAD=bad)

    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("simple-worker: ")
    assert says in last
    assert scheduler.list_schedule_groups(NamePrefix=group)["ScheduleGroups"] == []


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (("--role-arn", "arn:aws:iam::123:user/me"), "is not an IAM role's ARN"),
        (
            ("--role-arn", ROLE, "--dead-letter-arn", "arn:aws:sqs:us-east-1:123456789012:d.fifo"),
            "is not a standard SQS queue's ARN",
        ),
        (("--role-arn", ROLE, "--group", "no spaces please"), "is not 1 to 64 letters"),
    ],
)
def test_a_bad_option_exits_2_with_one_line_and_creates_nothing(
    schedules, scheduler, group, options, says
):
    result = schedules("schedules", "sync", "schedules_app:app", *options)

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert says in result.stderr
    assert scheduler.list_schedule_groups(NamePrefix=group)["ScheduleGroups"] == []
    assert scheduler.list_schedule_groups(NamePrefix="no")["ScheduleGroups"] == []


def test_a_missing_target_queue_exits_2_and_creates_nothing(
    schedules, scheduler, group, prefix, create_queue
):
    create_queue("default")

    result = sync(schedules)

    assert result.returncode == 2
    assert f"1 queue does not exist: {prefix}maintenance" in result.stderr
    assert scheduler.list_schedule_groups(NamePrefix=group)["ScheduleGroups"] == []


@pytest.mark.usefixtures("queues")
def test_list_shows_each_schedule_with_its_next_fire_time(schedules, prefix):
    sync(schedules)

    result = schedules("schedules", "list", "schedules_app:app")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "NAME",
        "EXPRESSION",
        "TIMEZONE",
        "NEXT",
        "FIRE",
        "STATE",
        "TARGET",
        "QUEUE",
    ]
    cleanup = next(line for line in lines if line.startswith("cleanup"))
    assert "2030-01-01 04:00 CET" in cleanup
    assert f"ENABLED  {prefix}maintenance" in cleanup
    nightly = next(line for line in lines if line.startswith("nightly_report"))
    assert " 02:00 CE" in nightly  # CET or CEST, by the season
    assert "3 schedule(s) in group" in result.stdout


@pytest.mark.usefixtures("queues")
def test_role_policy_grants_send_message_on_the_queues_and_their_dead_letter_queues(
    schedules, prefix
):
    result = schedules("schedules", "role-policy", "schedules_app:app")

    assert result.returncode == 0, result.stderr
    (statement,) = json.loads(result.stdout)["Statement"]
    assert statement["Action"] == "sqs:SendMessage"
    assert sorted(arn.rsplit(":", 1)[1] for arn in statement["Resource"]) == [
        f"{prefix}default",
        f"{prefix}default-dlq",
        f"{prefix}maintenance",
        f"{prefix}maintenance-dlq",
    ]


@pytest.mark.usefixtures("queues")
def test_check_reports_a_stored_schedule_whose_task_is_gone(schedules):
    sync(schedules)

    result = schedules("check", "schedules_app:app", SCHEDULES_UNREGISTER="1")

    assert result.returncode == 1
    assert "schedule cleanup  problem: its task 'cleanup' is not registered" in result.stdout


@pytest.mark.usefixtures("queues")
def test_the_command_syncs_in_a_subprocess(cli, moto_server):
    env = {"AWS_ENDPOINT_URL_SCHEDULER": moto_server}
    args = ("schedules", "sync", "schedules_app:app", "--role-arn", ROLE)

    first = cli(*args, env=env)
    second = cli(*args, "--dry-run", env=env)

    sys.stdout.write(f"\n$ simple-worker {' '.join(args)}\n{first.stdout}{first.stderr}")
    sys.stdout.write(f"$ simple-worker {' '.join(args)} --dry-run\n{second.stdout}")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stdout
    assert "Dry run: 0 change(s) would be made" in second.stdout
    assert "3 unchanged" in second.stdout
