"""What ``schedules sync`` changes: declared schedules against stored ones. Pure.

A `ScheduleSpec` is a schedule as EventBridge Scheduler stores it, in our terms.
`plan` compares the wanted specs with the stored ones, by name, and says for each
whether it is created, updated (and what differs), unchanged, or deleted (with
``prune``; otherwise kept and reported).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import attrs

DEFAULT_MAX_RETRIES = 185
"""Scheduler's own default and maximum of retry attempts."""
DEFAULT_MAX_EVENT_AGE = 86_400
"""Scheduler's own default and maximum: retry a firing for up to a day."""


@attrs.frozen
class ScheduleSpec:
    """A schedule with an SQS queue as its target, as it is (or should be) stored."""

    name: str
    expression: str
    timezone: str
    target_arn: str
    role_arn: str
    input: str
    group_id: str | None = None
    dead_letter_arn: str | None = None
    max_retries: int = DEFAULT_MAX_RETRIES
    max_event_age: int = DEFAULT_MAX_EVENT_AGE
    flexible_window: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    description: str = ""
    state: str = "ENABLED"
    created: datetime | None = attrs.field(default=None, eq=False)
    """When Scheduler created it (stored schedules only); not compared."""

    @property
    def target_queue(self) -> str:
        """The target queue's name: the last part of its ARN."""
        return self.target_arn.rsplit(":", 1)[-1]


class Action(enum.Enum):
    """What ``sync`` does to a schedule."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    DELETE = "delete"
    KEEP = "not declared"
    """Stored, no longer declared, and kept: ``--prune`` would delete it."""


@attrs.frozen
class Change:
    """One line of the plan: a schedule, what happens to it, and what differs."""

    action: Action
    spec: ScheduleSpec
    differences: tuple[str, ...] = ()

    @property
    def changes_anything(self) -> bool:
        """Whether applying it calls Scheduler (what ``--dry-run`` exits 1 for)."""
        return self.action in (Action.CREATE, Action.UPDATE, Action.DELETE)


_COMPARED = (
    "expression",
    "timezone",
    "target_arn",
    "role_arn",
    "input",
    "group_id",
    "dead_letter_arn",
    "max_retries",
    "max_event_age",
    "flexible_window",
    "start",
    "end",
    "description",
    "state",
)


def differences(wanted: ScheduleSpec, stored: ScheduleSpec) -> tuple[str, ...]:
    """Return ``"field: stored -> wanted"`` for every field that differs."""
    found = []
    for field in _COMPARED:
        old, new = getattr(stored, field), getattr(wanted, field)
        if old != new:
            shown = "changed" if field == "input" else f"{old} -> {new}"
            found.append(f"{field}: {shown}")
    return tuple(found)


def plan(
    wanted: Iterable[ScheduleSpec], stored: Iterable[ScheduleSpec], *, prune: bool
) -> list[Change]:
    """Return the changes that make ``stored`` match ``wanted``, wanted ones first, by name."""
    existing = {spec.name: spec for spec in stored}
    changes = []
    names = set()
    for spec in wanted:
        names.add(spec.name)
        old = existing.get(spec.name)
        if old is None:
            changes.append(Change(Action.CREATE, spec))
            continue
        found = differences(spec, old)
        changes.append(Change(Action.UPDATE if found else Action.UNCHANGED, spec, found))
    gone = Action.DELETE if prune else Action.KEEP
    changes += [Change(gone, existing[name]) for name in sorted(set(existing) - names)]
    return changes
