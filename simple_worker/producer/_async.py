"""The async producer: enqueue from a coroutine without blocking its event loop.

Validation runs on the loop, before anything is awaited: an invalid task raises
at once, as from ``add_task``. What may wait on the network never runs on the loop:
single tasks go through a coalescer (sending threads of its own; the coroutine
awaits a future they resolve), a queue's first size-limit lookup and ``add_tasks``'
batches run on the loop's default executor, as does storing a large payload.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from simple_worker.domain._options import TaskOptions
from simple_worker.producer._coalescer import Coalescer
from simple_worker.producer._producer import Prepared, Producer

_NO_OPTIONS = TaskOptions()


class AsyncSending:
    """A producer's async side: one coalescer shared by every coroutine (and loop)."""

    def __init__(self, producer: Producer) -> None:
        self._producer = producer
        self._lock = threading.Lock()
        self._own: Coalescer | None = None
        self._described: set[str] = set()

    def coalescer(self) -> Coalescer:
        """Return the app's ``send_window`` coalescer, else one of its own with no window.

        With no window, a batch takes whatever coroutines handed over while the
        sending threads were busy: many concurrent callers share calls, and a lone
        one waits for nothing.
        """
        if self._producer.coalescer is not None:
            return self._producer.coalescer
        with self._lock:
            if self._own is None:
                self._own = Coalescer(
                    self._producer.queue.send_batch,
                    window=0.0,
                    concurrency=self._producer.send_concurrency,
                )
            return self._own

    def close(self) -> None:
        """Send what the own coalescer holds and stop its threads (see `Coalescer.close`)."""
        with self._lock:
            own = self._own
        if own is not None:
            own.close()

    async def add_task(
        self, task_name: str, payload: Mapping[str, Any], options: TaskOptions = _NO_OPTIONS
    ) -> str:
        """Validate one task on the loop, then send it without blocking it; return its id.

        Raises:
            As `Producer.add_task`; `SendFailed` names this task alone.
        """
        prepared = await self._prepare(task_name, [payload], options)
        loop = asyncio.get_running_loop()
        if self._producer.offload is None:
            future = self._producer.submit(prepared, self.coalescer())
        else:  # storing a large payload is a call to S3
            future = await loop.run_in_executor(
                None, self._producer.submit, prepared, self.coalescer()
            )
        if future is None:  # closed: sent on its own, off the loop
            return (await loop.run_in_executor(None, self._producer.send, prepared))[0]
        await asyncio.wrap_future(future)
        return prepared.messages[0].id

    async def add_tasks(
        self,
        task_name: str,
        payloads: Iterable[Mapping[str, Any]],
        options: TaskOptions = _NO_OPTIONS,
    ) -> list[str]:
        """Validate every payload on the loop, then send them off it; return the ids in order.

        Raises:
            As `Producer.add_tasks`.
        """
        prepared = await self._prepare(task_name, payloads, options)
        if not prepared.messages:
            return []
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._producer.send, prepared)

    async def _prepare(
        self, task_name: str, payloads: Iterable[Mapping[str, Any]], options: TaskOptions
    ) -> Prepared:
        prepared = self._producer.encode(task_name, payloads, options)  # before any await
        if not prepared.messages:
            return prepared
        registration = prepared.registration
        if registration.queue in self._described:
            limit = self._producer.limit(registration)  # cached by the adapter: no call
        else:
            loop = asyncio.get_running_loop()
            limit = await loop.run_in_executor(None, self._producer.limit, registration)
            self._described.add(registration.queue)
        self._producer.check_size(prepared, limit)
        return prepared
