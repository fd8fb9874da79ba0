"""The task running on this thread, for handlers that need its id, queue or receive count.

Set by the dispatcher around the executor, on the thread that runs the handler,
or inside an ``async def`` handler's coroutine (a context variable: each
coroutine sees its own task). A thread the handler starts itself does not see it:
pass what it needs along (``asyncio.to_thread`` copies the context, so it does).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from simple_worker.domain._task import Task

_current: ContextVar[Task | None] = ContextVar("simple_worker_current_task", default=None)


def current_task() -> Task:
    """Return the task whose handler is running on this thread.

    Its ``id``, ``name`` and ``enqueued_at``, and in ``delivery`` its message id,
    queue and receive count.

    Raises:
        RuntimeError: no task handler is running on this thread (or context).
    """
    task = _current.get()
    if task is None:
        raise RuntimeError(
            "current_task() is only available inside a task handler run by a worker "
            "(or by app.testing_worker())."
        )
    return task


@contextmanager
def running(task: Task) -> Iterator[None]:
    """Make ``task`` the current task for the duration of the block."""
    token = _current.set(task)
    try:
        yield
    finally:
        _current.reset(token)
