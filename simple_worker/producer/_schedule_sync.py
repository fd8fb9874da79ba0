"""``schedules sync``: make the stored schedules match the declared ones. Uses the ports only.

The plan is computed purely (`plan`) from what is declared and what is stored;
applying it creates the schedule group if it is missing, then creates, updates
and deletes schedules, one call each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from simple_worker.domain._schedule import Schedule
from simple_worker.domain._schedule_plan import Action, Change, ScheduleSpec, plan
from simple_worker.ports.scheduler import SchedulerPort

DESCRIPTION = "simple-worker: task {task}"


@attrs.frozen
class Target:
    """Where a schedule's firings go and how Scheduler retries them."""

    queue_arn: str
    role_arn: str
    dead_letter_arn: str | None
    max_retries: int
    max_event_age: int


def wanted_spec(schedule: Schedule, target: Target) -> ScheduleSpec:
    """Return the stored form of a declared schedule sending to ``target``."""
    return ScheduleSpec(
        name=schedule.name,
        expression=schedule.expression,
        timezone=schedule.timezone,
        target_arn=target.queue_arn,
        role_arn=target.role_arn,
        input=schedule.body_template(),
        group_id=schedule.group_id,
        dead_letter_arn=target.dead_letter_arn,
        max_retries=target.max_retries,
        max_event_age=target.max_event_age,
        flexible_window=schedule.flexible_window,
        start=schedule.start,
        end=schedule.end,
        description=DESCRIPTION.format(task=schedule.task_name),
    )


@attrs.frozen
class ScheduleSync:
    """Plans and applies the changes to one schedule group."""

    scheduler: SchedulerPort
    group: str

    def plan(self, wanted: Iterable[ScheduleSpec], *, prune: bool) -> list[Change]:
        """Return the changes that make the group hold ``wanted`` (reads the group only)."""
        return plan(wanted, self.scheduler.list_schedules(self.group), prune=prune)

    def apply(self, changes: Sequence[Change]) -> bool:
        """Apply ``changes``; return whether the group had to be created first.

        Raises:
            SchedulerServiceError: a call failed; the changes before it are applied.
        """
        created = False
        if any(change.changes_anything for change in changes) and not self.scheduler.group_exists(
            self.group
        ):
            self.scheduler.create_group(self.group)
            created = True
        for change in changes:
            if change.action is Action.CREATE:
                self.scheduler.create(self.group, change.spec)
            elif change.action is Action.UPDATE:
                self.scheduler.update(self.group, change.spec)
            elif change.action is Action.DELETE:
                self.scheduler.delete(self.group, change.spec.name)
        return created
