"""The schedules part of ``simple-worker check``: stored schedules that can no longer run.

Each schedule of the app's group is read back and judged as a worker would judge
its firings: its body (with sample context values in place of Scheduler's) must
decode into a task this app registers, whose payload fits the handler, and its
target queue must exist. Declared schedules missing from the group are warnings.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from simple_worker.cli._schedule_targets import default_group, scheduler_of
from simple_worker.domain._envelope import decode_envelope
from simple_worker.domain._errors import (
    ConfigurationError,
    MessageDecodeError,
    PayloadMismatch,
    SchedulerServiceError,
    UnknownTask,
)
from simple_worker.domain._schedule import fill_context

if TYPE_CHECKING:
    from simple_worker.adapters.sqs._admin import SQSAdmin
    from simple_worker.app import App
    from simple_worker.domain._schedule_plan import ScheduleSpec

SAMPLE_EXECUTION_ID = "d32c5kddcf5bb8c3"
"""An execution id of the form Scheduler's documentation shows."""


def schedule_problems(app: App, admin: SQSAdmin, app_path: str) -> list[tuple[str, str, str]]:
    """Return ``(level, schedule, text)`` for what is wrong with the app's schedules.

    Only for an app that declares schedules: others make no Scheduler call at all.
    """
    group = default_group(app.queue_prefix)
    try:
        stored = scheduler_of(admin).list_schedules(group)
    except (SchedulerServiceError, ConfigurationError) as error:
        return [("problem", group, f"the schedules cannot be read: {' '.join(str(error).split())}")]
    found = []
    for spec in stored:
        found += [("problem", spec.name, text) for text in _spec_problems(app, admin, spec)]
    sync = f"run simple-worker schedules sync {app_path} --role-arn ARN"
    for name in sorted(set(app.schedules) - {spec.name for spec in stored}):
        found.append(("warning", name, f"declared but not in group {group}: {sync}"))
    return found


def _spec_problems(app: App, admin: SQSAdmin, spec: ScheduleSpec) -> list[str]:
    problems = []
    if admin.find(spec.target_queue) is None:
        problems.append(f"its target queue {spec.target_queue} does not exist")
    body = fill_context(
        spec.input,
        execution_id=SAMPLE_EXECUTION_ID,
        scheduled_time=datetime.now(timezone.utc),
        schedule_arn="arn:aws:scheduler:::schedule/check/" + spec.name,
    )
    try:
        task = decode_envelope(body)
        app.registry.get(task.name).signature.check(task.payload)
    except MessageDecodeError as error:
        problems.append(f"its message is not a task: {error.reason}")
    except UnknownTask as error:
        problems.append(f"its task {error.task_name!r} is not registered in this app")
    except PayloadMismatch as error:
        problems.append(f"its payload no longer fits the handler: {error}")
    return problems
