"""The composition root: `App` builds the adapters and hands them to the consumer and producer.

No polling, retrying or JSON here: `App` wires and delegates.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NoReturn, TypeVar

from simple_worker._large_payloads import PayloadOffload
from simple_worker._logging import configure_default_logging
from simple_worker._middleware import MiddlewareChain
from simple_worker._wiring import choose_payload_store, worker_observers
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.adapters.observability._http_server import DEFAULT_HOST
from simple_worker.adapters.observability._liveness import one_liveness
from simple_worker.adapters.system._clock import SystemClock
from simple_worker.adapters.system._interrupt import ThreadInterrupt
from simple_worker.adapters.system._signals import stop_on_signals
from simple_worker.consumer._dispatcher import Dispatcher
from simple_worker.consumer._event_loop import DEFAULT_ASYNC_CONCURRENCY
from simple_worker.consumer._executor import TaskExecutor
from simple_worker.consumer._lambda_runner import DEFAULT_TIME_MARGIN, LambdaRunner
from simple_worker.consumer._options import DEFAULT_SHUTDOWN_TIMEOUT, WorkerOptions
from simple_worker.consumer._retry import RetryPolicy
from simple_worker.consumer._testing_worker import TestingWorker
from simple_worker.consumer._time_limits import TimeLimits
from simple_worker.consumer._worker import Worker
from simple_worker.domain._errors import ConfigurationError, InvalidSchedule, PositionalPayload
from simple_worker.domain._limits import check_max_concurrency, check_time_limit
from simple_worker.domain._options import TaskOptions
from simple_worker.domain._queue_rules import check_delay
from simple_worker.domain._registry import TaskRegistry
from simple_worker.domain._schedule import Schedule, declare_schedule
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.executor import ExecutorFactory
from simple_worker.ports.liveness import LivenessPort
from simple_worker.ports.middleware import Middleware
from simple_worker.ports.payload_store import PayloadStorePort
from simple_worker.ports.queue import MAX_MESSAGE_SIZE, MAX_WAIT_SECONDS, QueuePort
from simple_worker.producer._async import AsyncSending
from simple_worker.producer._coalescer import Coalescer
from simple_worker.producer._options import check_send_options
from simple_worker.producer._producer import DEFAULT_SEND_CONCURRENCY, Producer
from simple_worker.producer._sender import TaskSender

__all__ = ["App"]

Handler = TypeVar("Handler", bound=Callable[..., Any])

SQS_MIN_MESSAGE_SIZE = 1_024


class App:
    """Registers task handlers, enqueues tasks and makes workers.

    Args:
        queue_prefix: prepended to every queue name: queue ``"default"`` with prefix
            ``"shop-"`` is the SQS queue ``shop-default``.
        testing_mode: keep queues in memory, without AWS (see `testing_worker`).
        sqs_endpoint_url: SQS endpoint, e.g. a local emulator's; default: the
            standard AWS configuration (``AWS_ENDPOINT_URL_SQS`` and the like).
        sqs_region: AWS region; default: the standard AWS configuration.
        queue: any `QueuePort` adapter, used instead of SQS or memory.
        clock: the time source (default: the system clock).
        max_message_size: the largest encoded task, in bytes (1 KiB to 1 MiB); an
            SQS queue's own ``MaximumMessageSize`` lowers it further.
        middleware: objects called for every task this app sends
            (``before_send``) and every task its workers handle (see `Middleware`),
            before a worker's own middleware.
        large_payload_bucket: an S3 bucket for tasks over the size limit: they are
            stored there and their message carries a pointer, as the Amazon SQS
            extended client libraries do; without it such tasks raise
            `MessageTooLarge`. In testing mode, an in-memory store of that name.
        s3_endpoint_url: S3 endpoint for ``large_payload_bucket``; default:
            ``sqs_endpoint_url`` if given (emulators serve both), else the standard
            AWS configuration (``AWS_ENDPOINT_URL_S3`` and the like).
        large_payload_store: any `PayloadStorePort` adapter, instead of a bucket,
            e.g. an `S3PayloadStore` with a key prefix or a client of its own.
        task_executor_cls: the `TaskExecutor` subclass (or any executor factory)
            that runs this app's tasks, in every worker and testing worker it makes,
            ``simple-worker worker`` included: the place for a framework's context
            (a Flask application context, Django's connection handling). A
            worker's own ``task_executor_cls`` overrides it. Also an attribute,
            which an application factory may set before a worker is made.
        send_concurrency: the most SendMessageBatch calls one ``add_tasks`` keeps
            in flight at once (1 to 64; default 16, and 1 in testing mode, where
            tasks keep the order they were added in), and the ``send_window``'s
            (up to 8 of them). On a FIFO queue a message group's batches still go
            one after the other, in order.
        send_window: share calls between ``add_task`` calls from many threads (or
            coroutines): a task waits up to this many seconds (0 to 0.1) for others
            to fill its SendMessageBatch, which goes at once when full (10 tasks).
            Each caller still gets its own task id, or a `SendFailed` about its task
            alone. Default None: every ``add_task`` is its own call. See `close`.

    Raises:
        ConfigurationError: ``max_message_size`` is out of range, or the large
            payload options contradict each other.
    """

    def __init__(
        self,
        queue_prefix: str = "",
        testing_mode: bool = False,
        sqs_endpoint_url: str | None = None,
        sqs_region: str | None = None,
        *,
        queue: QueuePort | None = None,
        clock: ClockPort | None = None,
        max_message_size: int = MAX_MESSAGE_SIZE,
        middleware: Iterable[Middleware] = (),
        large_payload_bucket: str | None = None,
        s3_endpoint_url: str | None = None,
        large_payload_store: PayloadStorePort | None = None,
        task_executor_cls: ExecutorFactory | None = None,
        send_concurrency: int | None = None,
        send_window: float | None = None,
    ) -> None:
        if send_concurrency is None:
            # In memory there is no round trip to hide, and a test's queue keeps the
            # order of add_tasks, so that run_all() runs tasks in that order.
            send_concurrency = 1 if testing_mode else DEFAULT_SEND_CONCURRENCY
        check_send_options(send_concurrency, send_window)
        if not SQS_MIN_MESSAGE_SIZE <= max_message_size <= MAX_MESSAGE_SIZE:
            raise ConfigurationError(
                f"max_message_size must be {SQS_MIN_MESSAGE_SIZE} to {MAX_MESSAGE_SIZE} "
                f"bytes, as SQS allows; got {max_message_size}."
            )
        self.queue_prefix = queue_prefix
        self.clock: ClockPort = clock or SystemClock()
        self.queue: QueuePort = queue or self._default_queue(
            testing_mode, sqs_endpoint_url, sqs_region
        )
        self.large_payload_store = choose_payload_store(
            large_payload_bucket,
            large_payload_store,
            testing_mode=testing_mode,
            s3_endpoint_url=s3_endpoint_url,
            sqs_endpoint_url=sqs_endpoint_url,
            region=sqs_region,
        )
        self.registry = TaskRegistry()
        self.schedules: dict[str, Schedule] = {}
        """The declared schedules, by schedule name (see `schedule`)."""
        self._max_message_size = max_message_size
        self.task_executor_cls: ExecutorFactory | None = task_executor_cls
        self.middleware = tuple(middleware)
        self._producer = Producer(
            self.registry,
            self.queue,
            self.clock,
            max_message_size,
            MiddlewareChain(self.middleware),
            offload=PayloadOffload(self.large_payload_store, self.queue)
            if self.large_payload_store is not None
            else None,
            send_concurrency=send_concurrency,
        )
        if send_window is not None:
            self._producer.coalescer = Coalescer(
                self.queue.send_batch, window=send_window, concurrency=send_concurrency
            )
        self._async = AsyncSending(self._producer)

    def close(self) -> None:
        """Send the tasks waiting in the ``send_window``, then stop its sending threads.

        Returns once each of them was sent or failed (its caller is told which).
        The same for the tasks of ``add_task_async``, which always share calls.
        Runs by itself at interpreter exit (``atexit``); call it earlier, e.g. from a
        web framework's shutdown hook. Afterwards ``add_task`` (and its async form)
        still works, each call on its own.
        """
        if self._producer.coalescer is not None:
            self._producer.coalescer.close()
        self._async.close()

    @classmethod
    def init(cls, queue_prefix: str = "", **options: Any) -> App:  # noqa: ANN401 - forwarded to App()
        """Make an `App`; the same as calling `App` (kept from simple-worker 0.2.x)."""
        return cls(queue_prefix, **options)

    def register_task_handler(
        self,
        task_name: str,
        queue: str = "default",
        *,
        group_by: str | None = None,
        delay: float | timedelta | None = None,
        time_limit: float | None = None,
        max_concurrency: int | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register the decorated function as the handler of ``task_name``.

        The function is returned unchanged. Its parameters are the task's payload
        keys; they are bound by name only.

        Args:
            task_name: the explicit name producers use (see `check_task_name`).
            queue: the queue's name without the prefix; a name ending in ``.fifo``
                is a FIFO queue, whose tasks need a message group id.
            group_by: a payload field whose value (a str or an int) is the task's
                message group id unless ``with_options(group_id=...)`` gives one.
            delay: seconds (0 to 900) every task of this name waits before it can
                run, unless ``with_options`` sets a delay or ``not_before``.
            time_limit: the most seconds a task of this name may run; past it the
                worker raises `TaskTimeLimitExceeded` in the handler's thread (where
                Python can be interrupted: not inside a blocking call in C), the task
                counts as failed and its message is not deleted. Overrides the
                worker's ``time_limit``; default: the worker's (none unless given).
            max_concurrency: the most tasks of this name that run at once in one
                worker process; the others wait in its buffer while other tasks
                run. Per process: with P processes, up to P times as many run.

        Raises:
            InvalidTaskName: the name breaks the naming rules.
            InvalidQueueName: prefix + queue is not a valid SQS queue name.
            DuplicateTaskName: the name already has a handler.
            UnsupportedHandler: the function is a generator or an async generator
                function, has positional-only parameters or ``*args``, or
                ``group_by`` is not one of its parameters. (An ``async def`` is
                fine: workers await it on their event loop.)
            InvalidTaskOptions: ``delay`` is out of range, or given for a FIFO queue.
            ConfigurationError: ``time_limit`` is not a positive number of seconds
                (at most a week), or ``max_concurrency`` not a whole number of at
                least 1.
        """
        time_limit = check_time_limit(time_limit)
        max_concurrency = check_max_concurrency(max_concurrency)
        defaults = TaskOptions(delay=delay)
        check_delay(queue, defaults.delay or 0)

        def register(handler: Handler) -> Handler:
            self.registry.register(
                task_name,
                handler,
                self.queue_prefix + queue,
                defaults=defaults,
                group_by=group_by,
                time_limit=time_limit,
                max_concurrency=max_concurrency,
            )
            return handler

        return register

    def add_task(self, task_name: str, /, *positional: NoReturn, **payload: object) -> str:
        """Enqueue one task; the keyword arguments are its payload.

        Returns:
            The task id.

        Raises:
            PositionalPayload: a payload value was given by position (a type
                checker refuses that call already).
            UnknownTask: ``task_name`` has no handler.
            PayloadMismatch: the payload does not fit the handler's signature.
            InvalidPayload: the payload is not plain JSON.
            MessageTooLarge: the encoded task is over the size limit.
            QueueNotFound: the task's queue does not exist.
            SendFailed: the queue did not accept the task (says whether it may have).
        """
        if positional:
            raise PositionalPayload(task_name, len(positional))
        return self._producer.add_task(task_name, payload)

    def add_tasks(self, task_name: str, payloads: Iterable[Mapping[str, Any]]) -> list[str]:
        """Enqueue many tasks of one name, in as few calls as the queue allows.

        Every payload is validated before any is sent.

        Returns:
            The task ids, in the order of ``payloads``.

        Raises:
            SendFailed: some tasks were not accepted; lists which were sent.
            Exception: any error `add_task` raises, before anything is sent; with
                several payloads, its ``payload_index`` and message name the payload.
        """
        return self._producer.add_tasks(task_name, payloads)

    def schedule(
        self,
        task_name: str,
        /,
        *,
        cron: str | None = None,
        rate: str | None = None,
        at: datetime | None = None,
        timezone: str = "UTC",
        payload: Mapping[str, Any] | None = None,
        flexible_window: int | timedelta | None = None,
        group_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        name: str | None = None,
    ) -> Schedule:
        """Declare that EventBridge Scheduler enqueues ``task_name`` periodically (or once).

        Nothing runs in this process: ``simple-worker schedules sync APP`` creates
        the schedules on AWS, and each firing sends the task to its queue as
        ``add_task`` would, with Scheduler's execution id as its task id and the
        firing's time as ``enqueued_at``. Checked here, as ``add_task`` checks a task.

        Args:
            task_name: a registered task.
            cron: EventBridge Scheduler's six-field cron, e.g. ``"0 2 * * ? *"``
                (minutes hours day-of-month month day-of-week year).
            rate: ``"5 minutes"``, ``"1 hour"``, ``"2 days"``.
            at: one firing at this time (naive: wall-clock time in ``timezone``).
            timezone: the IANA time zone the expression is read in.
            payload: the task's payload (default: none).
            flexible_window: minutes (1 to 1440) Scheduler may delay a firing by.
            group_id: the message group id, for a task on a FIFO queue (default:
                the registration's ``group_by`` field of the payload).
            start: no firing before this timezone-aware time.
            end: no firing after this timezone-aware time.
            name: the schedule's name (default: the task name); two schedules of
                one task need different names.

        Returns:
            The declared `Schedule`.

        Raises:
            UnknownTask: ``task_name`` has no handler.
            PayloadMismatch: the payload does not fit the handler's signature.
            InvalidPayload: the payload is not plain JSON.
            InvalidSchedule: the expression, time zone, window, dates, group id or
                name break Scheduler's rules, or the name is taken.
            MessageTooLarge: the task's envelope is over the size limit.
        """
        declared = declare_schedule(
            self.registry.get(task_name),
            payload or {},
            name=name,
            cron=cron,
            rate=rate,
            at=at,
            zone=timezone,
            flexible_window=flexible_window,
            group_id=group_id,
            start=start,
            end=end,
            max_message_size=self._max_message_size,
        )
        if declared.name in self.schedules:
            raise InvalidSchedule(
                declared.name, "the name is taken by another schedule: give name='...'"
            )
        self.schedules[declared.name] = declared
        return declared

    async def add_task_async(
        self, task_name: str, /, *positional: NoReturn, **payload: object
    ) -> str:
        """Enqueue one task from a coroutine, without blocking its event loop.

        The task is validated on the loop before anything is awaited, so an invalid
        one raises as from `add_task`; it then shares a SendMessageBatch call with
        the tasks other coroutines (and threads, with ``send_window``) enqueue
        meanwhile. A queue's size limit is looked up off the loop on its first use,
        so `MessageTooLarge` and `QueueNotFound` may come after an await. A call
        cancelled before its batch went out sends nothing.

        Returns:
            The task id, once the queue took the task.

        Raises:
            The errors of `add_task`; a `SendFailed` names this task alone.
        """
        if positional:
            raise PositionalPayload(task_name, len(positional))
        return await self._async.add_task(task_name, payload)

    async def add_tasks_async(
        self, task_name: str, payloads: Iterable[Mapping[str, Any]]
    ) -> list[str]:
        """Enqueue many tasks of one name from a coroutine, without blocking its event loop.

        Every payload is validated on the loop before anything is awaited (a few
        tens of microseconds each); the batches are sent from the loop's default
        executor, as `add_tasks` sends them.

        Returns:
            The task ids, in the order of ``payloads``.

        Raises:
            The errors of `add_tasks`.
        """
        return await self._async.add_tasks(task_name, payloads)

    def with_options(
        self,
        *,
        delay: float | timedelta | None = None,
        not_before: datetime | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> TaskSender:
        """Return a sender whose ``add_task``/``add_tasks`` send tasks with these options.

        Options never mix with payload keywords:
        ``app.with_options(delay=60).add_task("send_email", user_id=7)``.

        Args:
            delay: seconds (0 to 900, or a `timedelta`) before the task can run.
            not_before: a timezone-aware time before which the task does not run,
                up to a year ahead; not with ``delay``. Beyond 15 minutes the message
                is sent again by the workers that receive it early.
            group_id: the message group: on a FIFO queue (required there) a
                group's tasks run one at a time, in order; on a standard queue it
                is a fair-queue tenant key.
            deduplication_id: FIFO queues only: a second task with the same id
                within five minutes is dropped. Default: a hash of the task's name
                and payload.

        Raises:
            InvalidTaskOptions: an option is out of range. Options that do not fit
                the task's queue (a delay on a FIFO queue) raise when sending.
        """
        return TaskSender(
            self._producer,
            TaskOptions(
                delay=delay,
                not_before=not_before,
                group_id=group_id,
                deduplication_id=deduplication_id,
            ),
            self._async,
        )

    def worker(
        self,
        queue_names: Sequence[str] | None = None,
        task_executor_cls: ExecutorFactory | None = None,
        *,
        threads: int = 1,
        async_concurrency: int = DEFAULT_ASYNC_CONCURRENCY,
        wait_seconds: int = MAX_WAIT_SECONDS,
        buffer_size: int | None = None,
        queue_weights: Mapping[str, int] | None = None,
        retry_policy: RetryPolicy | None = None,
        middleware: Iterable[Middleware] = (),
        heartbeat_file: str | os.PathLike[str] | None = None,
        health_port: int | None = None,
        health_host: str = DEFAULT_HOST,
        metrics_port: int | None = None,
        metrics_host: str = DEFAULT_HOST,
        liveness: Iterable[LivenessPort] = (),
        shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
        time_limit: float | None = None,
        hard_time_limit: float | None = None,
    ) -> Worker:
        """Make a worker; ``worker.start()`` consumes until SIGTERM/SIGINT or ``stop()``.

        Args:
            queue_names: queues to consume, without the prefix; default: every
                queue a task is registered on.
            task_executor_cls: a `TaskExecutor` subclass to run tasks with;
                default: the app's ``task_executor_cls``, else `TaskExecutor`.
            threads: how many tasks of sync handlers run at once, each on its own
                thread.
            async_concurrency: how many tasks of ``async def`` handlers run at once,
                as coroutines on the worker's event loop (its own thread); default
                100, for I/O-bound handlers.
            wait_seconds: long-poll time of each receive, 0 to 20.
            buffer_size: how many received messages may wait for a thread, shared by
                the queues; default ``max(20, 2 * threads)`` (with async handlers, at
                least ``async_concurrency // 2``) plus one per queue beyond the
                first, so one receive of ten overlaps running tasks. Raised to the
                number of queues: every queue's long poll needs a place.
            queue_weights: weights of queues, by name without the prefix (positive
                ints; a queue not named weighs 1). While several queues have work, a
                queue of weight 3 gets three task-thread turns and three places in
                the buffer for each one a queue of weight 1 gets. Every queue is
                long-polled whatever its weight.
            retry_policy: sets a failed task's visibility from its receive count
                (`ExponentialBackoff`, `RetryIntervals`); default: the queue's
                visibility timeout decides when it comes back.
            middleware: objects observing every message and the worker (see
                `Middleware`), called in order.
            heartbeat_file: a file touched every few seconds while the worker
                consumes normally, for a liveness probe; it goes stale once
                receives have failed for a minute or the worker stopped.
            health_port: serve ``GET /healthz`` on this port while the worker runs:
                200 while it consumes normally, 503 once receives have failed for
                a minute or it is stopping (0 picks a free port).
            health_host: the address the health endpoint listens on; ``0.0.0.0``
                for every interface, as an HTTP probe from outside a container needs.
            metrics_port: serve Prometheus's ``GET /metrics`` on this port while the
                worker runs (needs ``simple-worker[prometheus]``); the same port as
                ``health_port`` serves both from one server.
            metrics_host: the address the metrics endpoint listens on.
            liveness: more `LivenessPort` adapters, beaten with the others.
            shutdown_timeout: the most seconds a stop may take, from the first
                SIGTERM/SIGINT or ``stop()`` to the end of ``start()``, whatever SQS
                does. Running tasks may finish until its last 2 seconds (a tenth, if
                less), which are kept for their deletes. Past it the worker gives up
                on what is left and logs it (tasks still running, deletes and
                releases SQS has not answered): those messages run again after
                their visibility timeout. Default 20, inside Kubernetes' default
                30-second grace period.
            time_limit: the time limit, in seconds, of every task registered
                without its own ``time_limit``; default: none.
            hard_time_limit: seconds after which a task still running (its
                interrupt did not stop it) stops the worker: gracefully, then
                ``start()`` raises `TaskStuck`, for the process to be replaced.
                At least each task's own limit plus 5 s. Default: none.

        If the process has configured no logging yet, the worker logs as the
        command does: INFO lines to stderr, in the text format. Configure logging
        before this call to choose otherwise.

        Raises:
            ConfigurationError: an option is out of range, ``queue_weights`` names a
                queue the worker does not consume, a port cannot be bound, or
                metrics are asked for without prometheus_client.
        """
        # A process that configured no logging would see nothing of the worker at all.
        configure_default_logging()
        options = WorkerOptions(
            threads=threads,
            async_concurrency=async_concurrency,
            wait_seconds=wait_seconds,
            buffer_size=buffer_size,
            retry_policy=retry_policy,
            shutdown_timeout=shutdown_timeout,
            time_limit=time_limit,
            hard_time_limit=hard_time_limit,
            queue_weights={
                self.queue_prefix + name: weight for name, weight in (queue_weights or {}).items()
            },
        )
        names = self._full_queue_names(queue_names)
        options.weights(names)  # checked before the ports are bound
        # Last: it binds the ports, so only once the rest is valid.
        endpoints, ports = worker_observers(
            self.clock,
            self.queue,
            health=None if health_port is None else (health_host, health_port),
            metrics=None if metrics_port is None else (metrics_host, metrics_port),
            heartbeat_files=() if heartbeat_file is None else (heartbeat_file,),
        )
        observers = [*endpoints, *middleware]
        ports.extend(liveness)
        return Worker(
            self.queue,
            names,
            self._dispatcher(
                task_executor_cls,
                observers,
                TimeLimits(
                    self.clock,
                    default=time_limit,
                    hard_limit=hard_time_limit,
                    interrupts=ThreadInterrupt.current,
                ),
            ),
            clock=self.clock,
            options=options,
            signal_scope=stop_on_signals,
            liveness=one_liveness(ports),
        )

    def testing_worker(
        self,
        queue_names: Sequence[str] | None = None,
        task_executor_cls: ExecutorFactory | None = None,
        *,
        middleware: Iterable[Middleware] = (),
        retry_policy: RetryPolicy | None = None,
        time_limit: float | None = None,
    ) -> TestingWorker:
        """Make a worker that runs queued tasks synchronously, for tests.

        Args:
            queue_names: queues to drain, without the prefix; default: every queue
                a task is registered on.
            task_executor_cls: a `TaskExecutor` subclass to run tasks with;
                default: the app's ``task_executor_cls``, else `TaskExecutor`.
            middleware: objects observing every message and the worker, as for
                `worker`.
            retry_policy: as for `worker`: when a failed task comes back (with a
                `FakeClock`, a test advances time to see it run again).
            time_limit: as for `worker`. Tasks run one at a time on the test's
                thread and are not interrupted: a task whose handler ran longer
                than its limit (by the app's clock) fails with
                `TaskTimeLimitExceeded` once it returns. ``max_concurrency`` is
                met by running one task at a time.
        """
        return TestingWorker(
            queue=self.queue,
            queue_names=self._full_queue_names(queue_names),
            dispatcher=self._dispatcher(
                task_executor_cls,
                middleware,
                TimeLimits(self.clock, default=check_time_limit(time_limit)),
            ),
            clock=self.clock,
            retry_policy=retry_policy,
            schedules=self.schedules,
        )

    def lambda_handler(
        self,
        task_executor_cls: ExecutorFactory | None = None,
        *,
        middleware: Iterable[Middleware] = (),
        retry_policy: RetryPolicy | None = None,
        time_margin: float | timedelta = DEFAULT_TIME_MARGIN,
    ) -> LambdaRunner:
        """Make the handler of an AWS Lambda function fed by an SQS event source mapping.

        ``handler = app.lambda_handler()`` at module level, and the function's handler
        setting names it (``module.handler``). Each invocation runs the batch's
        records as a worker would and returns the partial batch response,
        ``{"batchItemFailures": [{"itemIdentifier": message_id}, ...]}``, naming
        every record that did not succeed; the event source mapping deletes the rest.
        The mapping must have ``FunctionResponseTypes: ["ReportBatchItemFailures"]``
        (``simple-worker check APP --lambda-function NAME`` verifies it): without
        it, the response is ignored and a batch with any failure comes back whole.

        Args:
            task_executor_cls: as for `worker`.
            middleware: as for `worker`; ``worker_started`` and ``worker_stopped``
                run around each invocation.
            retry_policy: as for `worker`: a failed task's visibility is set from it
                before the function returns.
            time_margin: seconds (or a `timedelta`); when the invocation has less
                time left than this, no further record starts: the rest are reported
                failed. Make it longer than your longest task.

        Raises:
            ConfigurationError: ``time_margin`` is not 0 to 900 seconds.
        """
        margin = time_margin.total_seconds() if isinstance(time_margin, timedelta) else time_margin
        return LambdaRunner(
            self.queue,
            # Judged when they return, as in the testing worker: the function's own
            # timeout is what stops a hung invocation (and the time margin avoids it).
            self._dispatcher(task_executor_cls, middleware, TimeLimits(self.clock)),
            self.clock,
            retry_policy=retry_policy,
            time_margin=margin,
        )

    def _dispatcher(
        self,
        executor_factory: ExecutorFactory | None,
        middleware: Iterable[Middleware],
        time_limits: TimeLimits,
    ) -> Dispatcher:
        return Dispatcher(
            self.registry,
            executor_factory or self.task_executor_cls or TaskExecutor,
            MiddlewareChain((*self.middleware, *middleware)),
            self.clock,
            payload_store=self.large_payload_store,
            time_limits=time_limits,
        )

    def _full_queue_names(self, queue_names: Sequence[str] | None) -> list[str]:
        if queue_names is None:
            return self.registry.queues()
        return [self.queue_prefix + name for name in queue_names]

    def _default_queue(
        self, testing_mode: bool, endpoint_url: str | None, region: str | None
    ) -> QueuePort:
        if testing_mode:
            return InMemoryQueue(self.clock, auto_create=True)
        # Imported here so that testing mode does not pay for importing boto3.
        from simple_worker.adapters.sqs._queue import SQSQueue  # noqa: PLC0415

        return SQSQueue(endpoint_url=endpoint_url, region=region)
