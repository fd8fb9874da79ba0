"""The scheduler port: where ``schedules sync`` reads and writes an app's schedules."""

from __future__ import annotations

from typing import Protocol

from simple_worker.domain._schedule_plan import ScheduleSpec

__all__ = ["SchedulerPort"]


class SchedulerPort(Protocol):
    """Schedules kept in named groups, each schedule sending to an SQS queue.

    Every method raises `SchedulerServiceError` when the service fails a call.
    """

    def group_exists(self, group: str) -> bool:
        """Return whether the schedule group exists."""

    def create_group(self, group: str) -> None:
        """Create the schedule group; it does not exist yet."""

    def list_schedules(self, group: str) -> list[ScheduleSpec]:
        """Return every schedule of the group, complete, by name; empty if there is no group."""

    def create(self, group: str, spec: ScheduleSpec) -> None:
        """Create a schedule in the group; none of that name exists."""

    def update(self, group: str, spec: ScheduleSpec) -> None:
        """Replace the group's schedule of that name with ``spec``, entirely."""

    def delete(self, group: str, name: str) -> None:
        """Delete the group's schedule of that name."""
