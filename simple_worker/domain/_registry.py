"""Which handler runs a task name, on which queue. Pure: no I/O.

Queue names are checked by SQS's rules (see `_queue_rules`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from simple_worker.domain._errors import (
    DuplicateTaskName,
    UnknownTask,
    UnsupportedHandler,
)
from simple_worker.domain._limits import check_max_concurrency, check_time_limit
from simple_worker.domain._options import TaskOptions
from simple_worker.domain._queue_rules import check_queue_name, is_fifo_queue
from simple_worker.domain._signature import HandlerSignature, is_coroutine_handler
from simple_worker.domain._task import check_task_name


@attrs.frozen
class Registration:
    """A task name bound to its handler, the handler's signature and its queue.

    ``defaults`` are the task's options unless a producer gives others;
    ``group_by`` names the payload field whose value is the message group id;
    ``time_limit`` (seconds) and ``max_concurrency`` are None where the task has
    no limit of its own.
    """

    task_name: str
    handler: Callable[..., Any]
    signature: HandlerSignature
    queue: str
    defaults: TaskOptions = attrs.field(factory=TaskOptions)
    group_by: str | None = None
    time_limit: float | None = None
    max_concurrency: int | None = None
    is_async: bool = False
    """Whether the handler is an ``async def``: awaited on the worker's event loop."""

    @property
    def fifo(self) -> bool:
        """Whether the task's queue is a FIFO queue (its name ends in ``.fifo``)."""
        return is_fifo_queue(self.queue)


@attrs.define
class TaskRegistry:
    """Task names and their registrations; a name is registered once."""

    _registrations: dict[str, Registration] = attrs.field(factory=dict, init=False)

    def register(
        self,
        task_name: str,
        handler: Callable[..., Any],
        queue: str,
        *,
        defaults: TaskOptions | None = None,
        group_by: str | None = None,
        time_limit: float | None = None,
        max_concurrency: int | None = None,
    ) -> Registration:
        """Bind ``task_name`` to ``handler`` on ``queue``; ``queue`` is the full queue name.

        Raises:
            InvalidTaskName: the name breaks the naming rules.
            InvalidQueueName: the queue name is not a valid SQS queue name.
            DuplicateTaskName: the name is taken.
            UnsupportedHandler: the handler is a generator or async generator
                function, cannot take keyword-only payloads, or ``group_by`` is not
                one of its parameters.
            ConfigurationError: ``time_limit`` is not a positive number of seconds,
                or ``max_concurrency`` not a whole number of at least 1.
        """
        check_task_name(task_name)
        check_queue_name(queue)
        time_limit = check_time_limit(time_limit)
        max_concurrency = check_max_concurrency(max_concurrency)
        if task_name in self._registrations:
            raise DuplicateTaskName(task_name)
        signature = HandlerSignature.of(task_name, handler)
        if group_by is not None and not signature.takes(group_by):
            raise UnsupportedHandler(
                task_name, [group_by], "group_by names a field the handler does not take"
            )
        registration = Registration(
            task_name=task_name,
            handler=handler,
            signature=signature,
            queue=queue,
            defaults=defaults or TaskOptions(),
            group_by=group_by,
            time_limit=time_limit,
            max_concurrency=max_concurrency,
            is_async=is_coroutine_handler(handler),
        )
        self._registrations[task_name] = registration
        return registration

    def get(self, task_name: str) -> Registration:
        """Return the registration of ``task_name``.

        Raises:
            UnknownTask: nothing is registered under that name.
        """
        try:
            return self._registrations[task_name]
        except KeyError:
            raise UnknownTask(task_name, known=list(self._registrations)) from None

    def registrations(self) -> list[Registration]:
        """Return every registration, in registration order."""
        return list(self._registrations.values())

    def queues(self) -> list[str]:
        """Return every queue a task is registered on, each once, in registration order."""
        return list(dict.fromkeys(r.queue for r in self._registrations.values()))

    def task_names(self) -> list[str]:
        """Return every registered task name, in registration order."""
        return list(self._registrations)
