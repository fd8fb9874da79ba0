"""The default executor: runs a handler inside an overridable context, with hooks.

This is simple-worker 0.2.x's extension point, kept compatible: a subclass that
overrides `context()` (for example to enter a Flask ``app_context()``) or the
``log_start`` / ``success_handler`` / ``failure_handler`` hooks works unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from simple_worker.domain.task import Task
from simple_worker.ports.executor import TaskOutcome

logger = logging.getLogger(__name__)


class TaskExecutor:
    """Runs one handler; subclass it to wrap tasks in your application's context.

    A new executor is made for every task, from the handler alone, so subclasses
    must keep a ``__init__(self, task_handler_fn)`` signature.
    """

    def __init__(self, task_handler_fn: Callable[..., Any]) -> None:
        self.task_handler_fn = task_handler_fn

    @contextmanager
    def context(self) -> Iterator[None]:
        """Wrap the handler call; override to enter your application's context."""
        yield

    def run(self, task: Task) -> TaskOutcome:
        """Call the handler with the task's payload inside `context()`.

        Returns:
            The outcome: ``error`` is the ``Exception`` the handler (or the context)
            raised, after `failure_handler` saw it; None after `success_handler`.
        """
        try:
            self.log_start(task)
            with self.context():
                self.task_handler_fn(**task.payload)
        except Exception as exc:  # noqa: BLE001 - any handler error is the task's outcome
            self.failure_handler(task, exc)
            return TaskOutcome(error=exc)
        self.success_handler(task)
        return TaskOutcome()

    def execute(self, task: Task) -> bool:
        """Run the task; return whether it succeeded (the 0.2.x interface)."""
        return self.run(task).succeeded

    def log_start(self, task: Task) -> None:
        """Log the task's start; called before the handler. Override to act before a task."""
        logger.info(
            "Processing task %s", task.name, extra={"task_name": task.name, "task_id": task.id}
        )

    def success_handler(self, task: Task) -> None:
        """Log success; called after the handler returned. Override to change that."""
        logger.info(
            "Processed task %s successfully",
            task.name,
            extra={"task_name": task.name, "task_id": task.id},
        )

    def failure_handler(self, task: Task, exc: Exception) -> None:
        """Log the traceback (not the payload); called after the handler raised."""
        logger.error(
            "Failed to process task %s: %s",
            task.name,
            type(exc).__name__,
            exc_info=exc,
            extra={"task_name": task.name, "task_id": task.id, "error_type": type(exc).__name__},
        )
