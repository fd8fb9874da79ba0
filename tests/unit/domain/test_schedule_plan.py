from datetime import datetime, timezone

from simple_worker.domain._schedule_plan import Action, ScheduleSpec, plan

ROLE = "arn:aws:iam::123456789012:role/r"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:p-default"


def spec(name, expression="rate(1 hour)", **changes):
    fields = {
        "timezone": "UTC",
        "target_arn": QUEUE,
        "role_arn": ROLE,
        "input": '{"task_name":"t"}',
        **changes,
    }
    return ScheduleSpec(name=name, expression=expression, **fields)


def actions(changes):
    return [(change.action, change.spec.name) for change in changes]


def test_a_declared_schedule_not_stored_is_created():
    assert actions(plan([spec("a")], [], prune=False)) == [(Action.CREATE, "a")]


def test_a_stored_schedule_equal_to_its_declaration_is_unchanged_whatever_its_creation_time():
    stored = spec("a", created=datetime(2026, 1, 1, tzinfo=timezone.utc))

    (change,) = plan([spec("a")], [stored], prune=False)

    assert change.action is Action.UNCHANGED
    assert not change.changes_anything


def test_a_changed_expression_is_an_update_that_names_the_difference():
    (change,) = plan(
        [spec("a", "cron(0 3 * * ? *)")], [spec("a", "cron(0 2 * * ? *)")], prune=False
    )

    assert change.action is Action.UPDATE
    assert change.differences == ("expression: cron(0 2 * * ? *) -> cron(0 3 * * ? *)",)


def test_a_disabled_schedule_is_enabled_again():
    (change,) = plan([spec("a")], [spec("a", state="DISABLED")], prune=False)

    assert change.differences == ("state: DISABLED -> ENABLED",)


def test_a_changed_input_says_changed_without_printing_the_bodies():
    (change,) = plan([spec("a")], [spec("a", input="{}")], prune=False)

    assert change.differences == ("input: changed",)


def test_a_stored_schedule_no_longer_declared_is_kept_unless_pruned():
    assert actions(plan([], [spec("old")], prune=False)) == [(Action.KEEP, "old")]
    assert actions(plan([], [spec("old")], prune=True)) == [(Action.DELETE, "old")]
    assert not plan([], [spec("old")], prune=False)[0].changes_anything


def test_the_plan_lists_declared_schedules_in_order_then_the_others_by_name():
    wanted = [spec("b"), spec("a"), spec("new")]
    stored = [spec("z"), spec("a"), spec("b", "rate(2 hours)"), spec("c")]

    assert actions(plan(wanted, stored, prune=True)) == [
        (Action.UPDATE, "b"),
        (Action.UNCHANGED, "a"),
        (Action.CREATE, "new"),
        (Action.DELETE, "c"),
        (Action.DELETE, "z"),
    ]
