"""Where ``async def`` handlers run: an asyncio event loop on a thread of its own.

The worker makes one `TaskLoop` per process, on the first async task. A task
thread admits a message (decodes it, finds its handler) and, for an async
handler, takes one of the loop's slots and hands the coroutine over, then goes
back to the buffer: no thread waits on a coroutine's awaits. While every slot is
taken the task thread waits for one with the message in hand, so the worker
receives no more than its threads, buffer and loop can hold.

A task's outcome is settled (deleted, hidden for a retry, released) on one of a
few settle threads when settling may call SQS (a blocking call on the loop would
stall every coroutine); one the caller says settles without waiting (a success:
its delete is only queued for the delete batcher) is settled on the loop, which
spares a thread hop per task. The slot is freed once the task is settled.

A coroutine that blocks (``time.sleep``, a sync HTTP client) stops the whole
loop, every other task with it: that is a bug in the handler, not something the
loop can prevent; run such code with ``await asyncio.to_thread(...)``.

`CancelTask` is how a task's coroutine is stopped at its time limit: the
watchdog (`TimeLimits`) cancels it on its loop, as it interrupts a thread;
`run_to_end` runs a coroutine from sync code (the testing worker,
`Dispatcher.dispatch`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from simple_worker.ports.middleware import Dispatched

logger = logging.getLogger(__name__)

T = TypeVar("T")

CoroutineRunner = Callable[[Coroutine[Any, Any, Dispatched]], Dispatched]
"""Runs a task's coroutine to its end and returns what became of the task."""

DEFAULT_ASYNC_CONCURRENCY = 100
"""Coroutines a worker process runs at once: sized for I/O-bound handlers.

A waiting coroutine costs a few kilobytes and no thread, so a hundred cost little;
past a few hundred, one process's CPU (JSON, SQS calls, the handlers' own code)
is the limit rather than waiting. See docs/decisions.md.
"""

_SETTLE_THREADS = 4
"""Threads that settle finished async tasks; settling seldom waits for SQS."""


class CancelTask:
    """The interrupt of an async task (see `TimeLimits`): cancels its handler on its loop.

    Made on the loop's thread; `send` is called from the watchdog's thread. The
    handler, wrapped by `guard`, then raises the watchdog's error (a
    `TaskTimeLimitExceeded`) instead of a bare ``CancelledError``, as a thread
    would: its executor's hooks and logs see why it stopped.
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Future[Any] | None = None
        self._error: type[BaseException] | None = None

    def guard(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``handler`` raising the watchdog's error where it was cancelled by it."""

        @functools.wraps(handler)
        async def guarded(**payload: object) -> object:
            try:
                return await handler(**payload)
            except asyncio.CancelledError:
                if self._error is None:  # cancelled by someone else: let it through
                    raise
                raise self._error from None

        return guarded

    def attach(self, task: asyncio.Future[Any]) -> None:
        """Name the asyncio task `send` cancels: the one awaiting the guarded handler."""
        self._task = task

    def send(self, error: type[BaseException]) -> None:
        """Cancel the handler soon; it raises ``error`` where it was awaiting."""
        self._error = error
        if self._task is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nothing left to stop
                self._loop.call_soon_threadsafe(self._task.cancel)

    def withdraw(self) -> None:
        """Nothing to withdraw: cancelling a task that has ended does nothing."""


def run_to_end(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end from sync code and return its result.

    On a new event loop in this thread (as `asyncio.run`) when none runs here;
    else, called from a coroutine (an async test calling ``run_all()``), on a new
    loop on a thread of its own while this one waits: a thread cannot run a
    second loop, nor wait on the loop it is running.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(
        1, thread_name_prefix="simple-worker-test-loop"
    ) as pool:
        return pool.submit(asyncio.run, coroutine).result()


Spawn = Callable[[str, Callable[[], None]], threading.Thread]
"""Starts a named daemon thread running a function (the worker's, which watches it)."""

_SettleJob = tuple[Callable[[], None], "asyncio.Future[None]"]
"""A settle to run on a settle thread, and the future the task's coroutine awaits."""


class TaskLoop:
    """An event loop on its own thread, running up to ``concurrency`` task coroutines.

    Args:
        concurrency: how many task coroutines run at once (slots).
        spawn: starts the loop's thread and its settle threads (daemon threads).
    """

    def __init__(self, concurrency: int, spawn: Spawn) -> None:
        self.concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self._loop = asyncio.new_event_loop()
        # Daemon threads of our own, not an executor's: a settle stuck on an SQS call
        # that never answers must not keep the process from exiting (executor threads
        # are joined at exit), as no other SQS call of the worker does.
        self._settle_jobs: queue.SimpleQueue[_SettleJob | None] = queue.SimpleQueue()
        self._settlers = [
            spawn(f"settle-{n}", self._settle_each)
            for n in range(min(_SETTLE_THREADS, concurrency))
        ]
        self._lock = threading.Condition()
        self._in_flight: set[concurrent.futures.Future[None]] = set()
        """Tasks holding a slot. Referenced here: a task the loop only knows by a weak
        reference, waiting on a future nothing else holds, would be garbage-collected
        mid-await, its coroutine closed wherever the collection happens to run."""
        self._thread = spawn("event-loop", self._run)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def acquire(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a free slot; return whether one was taken."""
        return self._slots.acquire(timeout=timeout)

    def start(
        self,
        coroutine: Coroutine[Any, Any, T],
        settle: Callable[[T], None],
        *,
        settles_at_once: Callable[[T], bool] = lambda _: False,
    ) -> None:
        """Run ``coroutine`` in a slot taken with `acquire`, then ``settle`` its result.

        ``settle`` runs on a settle thread, or on the loop itself for a result
        ``settles_at_once`` says it settles without waiting on anything; the slot
        is freed after it returned. Thread-safe; returns at once.
        """
        with self._lock:
            future = asyncio.run_coroutine_threadsafe(
                self._run_task(coroutine, settle, settles_at_once), self._loop
            )
            self._in_flight.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: concurrent.futures.Future[None]) -> None:
        with self._lock:
            self._in_flight.discard(future)
            self._lock.notify_all()

    async def _run_task(
        self,
        coroutine: Coroutine[Any, Any, T],
        settle: Callable[[T], None],
        settles_at_once: Callable[[T], bool],
    ) -> None:
        try:
            result = await coroutine
            if settles_at_once(result):
                settle(result)
            else:
                settled: asyncio.Future[None] = self._loop.create_future()
                self._settle_jobs.put((functools.partial(settle, result), settled))
                await settled
        except GeneratorExit:  # the coroutine is being closed: it must end, not go on
            raise
        except BaseException as exc:  # never a task's own error (the dispatcher keeps those)
            logger.exception(
                "Internal error around an async task", extra={"error_type": type(exc).__name__}
            )
        finally:
            self._slots.release()

    def in_flight(self) -> int:
        """Return how many tasks hold a slot: running, or being settled."""
        with self._lock:
            return len(self._in_flight)

    def stop(self, timeout: float) -> bool:
        """Let the tasks under way finish and settle, within ``timeout``; stop the loop.

        Returns:
            Whether they all finished. If not, the loop runs on in its (daemon)
            thread, the rest left running as the process exits.
        """
        with self._lock:
            finished = self._lock.wait_for(lambda: not self._in_flight, timeout)
        if finished:
            for _ in self._settlers:
                self._settle_jobs.put(None)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        return finished

    def _settle_each(self) -> None:
        """Run settle jobs until told to stop; hand each one's end to the loop."""
        while (job := self._settle_jobs.get()) is not None:
            work, settled = job
            error: BaseException | None = None
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - handed to the task, which logs it
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody awaits it
                self._loop.call_soon_threadsafe(_resolve, settled, error)


class BlockingRunner:
    """Runs coroutines to their end from sync code, one at a time, all on one event loop.

    The loop is made on first use and closed by `close`: on this thread when no
    loop runs here (like `asyncio.run`, but one loop for every coroutine, as a
    worker has), else on a thread of its own while the caller waits (see
    `run_to_end`).
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __call__(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="simple-worker-test-loop", daemon=True
                )
                self._thread.start()
        if self._thread is None:
            return self._loop.run_until_complete(coroutine)
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def close(self) -> None:
        """Close the loop, if one was made (its async generators first)."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if self._thread is None:
            loop.run_until_complete(loop.shutdown_asyncgens())
        else:
            asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result()
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join()
            self._thread = None
        loop.close()


def _resolve(settled: asyncio.Future[None], error: BaseException | None) -> None:
    """End ``settled`` (on its loop) as its settle job ended."""
    if settled.done():
        return
    if error is None:
        settled.set_result(None)
    else:
        settled.set_exception(error)
