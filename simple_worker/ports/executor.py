"""The executor port: how one task's handler is run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import attrs

from simple_worker.domain._task import Task

__all__ = ["AsyncExecutorPort", "ExecutorFactory", "ExecutorPort", "TaskOutcome"]


@attrs.frozen
class TaskOutcome:
    """How running a task ended: ``error`` is what the handler raised, or None.

    Any `BaseException` (``SystemExit``, ``KeyboardInterrupt`` too) is a failure.
    """

    error: BaseException | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the handler returned."""
        return self.error is None


class ExecutorPort(Protocol):
    """Runs one task's handler inside whatever context the application needs."""

    def run(self, task: Task) -> TaskOutcome:
        """Call the handler with the task's payload as keyword arguments.

        Whatever the handler raises, any `BaseException` included (``SystemExit``,
        ``KeyboardInterrupt``), is caught and returned in the outcome: it fails that
        task only. An executor that lets one through fails the task all the same
        (the dispatcher catches it); only returning normally is a success.
        """


class AsyncExecutorPort(ExecutorPort, Protocol):
    """An executor that can also await an ``async def`` handler (as `TaskExecutor` does)."""

    async def run_async(self, task: Task) -> TaskOutcome:
        """Await the handler's coroutine with the task's payload as keyword arguments.

        Called on the worker's event loop. As `run`: whatever the coroutine raises,
        any `BaseException` included (``CancelledError`` too), is returned in the
        outcome, never raised.
        """


ExecutorFactory = Callable[[Callable[..., Any]], ExecutorPort]
"""Builds the executor for one handler, e.g. a `TaskExecutor` subclass."""
