"""``check``'s findings about task time limits against their queue's visibility timeout.

A running task stays hidden from other workers by its queue's visibility timeout,
which the worker's heartbeat extends while it runs, but only until 12 hours
after the receive (SQS's ceiling). So a task whose time limit (plus the grace
the heartbeat gives it, `GRACE`) is longer than the timeout depends on the
heartbeat: a worker that stalls longer than the timeout (a long GC pause, a
frozen container) lets a second worker run it; and one longer than 12 hours may
run twice even on a healthy worker.
"""

from __future__ import annotations

from collections.abc import Iterable

from simple_worker.consumer._settle import VISIBILITY_MARGIN
from simple_worker.consumer._time_limits import GRACE
from simple_worker.domain._registry import Registration
from simple_worker.ports.queue import DEFAULT_RECEIVE_VISIBILITY, MAX_VISIBILITY_TIMEOUT

LimitFinding = tuple[str, str, str]
"""A finding's level (``warning``), text and fix."""


def has_time_limits(
    registrations: Iterable[Registration], queue_name: str, default: float | None
) -> bool:
    """Return whether a task of ``queue_name`` has a time limit (its own or ``default``)."""
    return any(
        r.queue == queue_name and (r.time_limit is not None or default is not None)
        for r in registrations
    )


def time_limit_findings(
    registrations: Iterable[Registration],
    queue_name: str,
    visibility_timeout: int,
    default: float | None,
) -> list[LimitFinding]:
    """Return warnings for the tasks of ``queue_name`` whose time limit outlasts its visibility.

    Args:
        registrations: the app's tasks.
        queue_name: the full name of the queue checked.
        visibility_timeout: its visibility timeout (0: the worker hides messages
            for `DEFAULT_RECEIVE_VISIBILITY` seconds itself).
        default: the worker's ``--time-limit`` for tasks without their own.
    """
    timeout = visibility_timeout or DEFAULT_RECEIVE_VISIBILITY
    ceiling = MAX_VISIBILITY_TIMEOUT - VISIBILITY_MARGIN
    found: list[LimitFinding] = []
    for registration in registrations:
        if registration.queue != queue_name:
            continue
        limit = registration.time_limit if registration.time_limit is not None else default
        if limit is None:
            continue
        name = registration.task_name
        if limit + GRACE > ceiling:
            text = (
                f"task {name}'s time limit ({limit:g} s) is longer than SQS's 12-hour "
                "visibility ceiling: the heartbeat cannot hide its message longer than 12 "
                "hours after the receive, so SQS hands it to another worker while it runs"
            )
            fix = f"give {name} a time_limit under {ceiling - GRACE:g} s, or split the task"
        elif limit + GRACE > timeout:
            text = (
                f"task {name}'s time limit ({limit:g} s, +{GRACE:g} s grace) is longer than "
                f"the visibility timeout ({timeout} s): only the worker's heartbeat keeps "
                "it hidden while it runs, and a worker that stalls longer than the timeout "
                "lets another worker run it too"
            )
            fix = (
                f"raise VisibilityTimeout to {int(limit + GRACE) + 1} s or more, or accept "
                "relying on the heartbeat"
            )
        else:
            continue
        found.append(("warning", text, fix))
    return found
