"""`TaskSender`: sending tasks with options, made by ``App.with_options``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import attrs

from simple_worker.domain._errors import PositionalPayload
from simple_worker.domain._options import TaskOptions
from simple_worker.producer._async import AsyncSending
from simple_worker.producer._producer import Producer


@attrs.frozen
class TaskSender:
    """Sends tasks with options; made by ``App.with_options(...)``."""

    producer: Producer
    options: TaskOptions
    asynchronous: AsyncSending | None = None

    def add_task(self, task_name: str, /, *positional: NoReturn, **payload: object) -> str:
        """Enqueue one task with these options; as ``App.add_task``."""
        if positional:
            raise PositionalPayload(task_name, len(positional))
        return self.producer.add_task(task_name, payload, self.options)

    def add_tasks(self, task_name: str, payloads: Iterable[Mapping[str, Any]]) -> list[str]:
        """Enqueue many tasks of one name with these options; as ``App.add_tasks``."""
        return self.producer.add_tasks(task_name, payloads, self.options)

    async def add_task_async(
        self, task_name: str, /, *positional: NoReturn, **payload: object
    ) -> str:
        """Enqueue one task with these options from a coroutine; as ``App.add_task_async``."""
        if positional:
            raise PositionalPayload(task_name, len(positional))
        return await self._asynchronous().add_task(task_name, payload, self.options)

    async def add_tasks_async(
        self, task_name: str, payloads: Iterable[Mapping[str, Any]]
    ) -> list[str]:
        """Enqueue many tasks with these options from a coroutine; as ``App.add_tasks_async``."""
        return await self._asynchronous().add_tasks(task_name, payloads, self.options)

    def _asynchronous(self) -> AsyncSending:
        return self.asynchronous or AsyncSending(self.producer)
