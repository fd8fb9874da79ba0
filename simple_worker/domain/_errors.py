"""Every error simple-worker raises. Pure: no I/O.

All of them derive from `SimpleWorkerError`, so one ``except`` catches the library's
errors and nothing else::

    SimpleWorkerError
    ├── ConfigurationError         an option is out of range (also a ValueError)
    ├── InvalidTaskName            a task name breaks the naming rules
    ├── InvalidQueueName           a queue name breaks SQS's naming rules
    ├── RegistrationError          a handler cannot be registered
    │   ├── DuplicateTaskName
    │   └── UnsupportedHandler
    ├── TaskRefused                a task cannot run, so it is not sent (or not run)
    │   ├── PositionalPayload      a payload given by position (also a TypeError)
    │   ├── UnknownTask
    │   ├── PayloadMismatch
    │   ├── InvalidPayload
    │   └── MessageTooLarge
    ├── InvalidTaskOptions         task options out of range or unfit for the queue (a ValueError)
    ├── InvalidSchedule            a schedule declaration breaks EventBridge Scheduler's rules
    ├── MessageDecodeError         a received message body is not a task envelope
    ├── QueueNotFound              SQS queues that do not exist
    ├── QueueServiceError          the queue service failed a call
    │   ├── SendFailed             some tasks of a send were not accepted
    │   └── CredentialsNotFound    no AWS credentials to sign a call (also a ConfigurationError)
    ├── SchedulerServiceError      EventBridge Scheduler failed a call
    ├── PayloadNotFound            a large task's stored body is not in its bucket
    ├── PayloadStoreError          the large-payload store (S3) failed a call
    ├── TooManyTasks               the testing worker hit its task limit
    ├── HandlerReturnedAwaitable   a handler returned a coroutine: the task failed, unrun
    ├── WorkerThreadDied           a worker's thread died of a bug: the worker stopped
    └── TaskStuck                  a task ran past the hard time limit: the worker stopped

Messages state the facts and the next step. What they quote from a message is cut
to a bounded size (`excerpt`), so a hostile message cannot make a huge one.
"""

from __future__ import annotations

from collections.abc import Sequence

from simple_worker.domain._excerpt import (
    NAME_BYTES,
    PLACE_BYTES,
    REASON_BYTES,
    excerpt,
    logged_size,
    quoted,
)

_LISTED_NAMES = 10
_LISTING_BYTES = 400
_QUOTED_BYTES = 160
"""Room for any valid task name (128 characters) in quotes."""


def _listing(names: Sequence[str]) -> str:
    """Join names for a message, bounded: a hostile payload must not make a huge log line."""
    shown: list[str] = []
    size = 0
    for name in names[:_LISTED_NAMES]:
        text = excerpt(name, NAME_BYTES)
        size += logged_size(text) + 2
        if shown and size > _LISTING_BYTES:
            break
        shown.append(text)
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" (and {more} more)" if more > 0 else "")


def _quoted(value: object) -> str:
    """Return ``repr(value)``, bounded: a name from a message may be anything."""
    return quoted(value, _QUOTED_BYTES)


class SimpleWorkerError(Exception):
    """Raised for every failure the library itself detects; the root of the tree."""


class ConfigurationError(SimpleWorkerError, ValueError):
    """Raised when an option given to simple-worker is out of range or inconsistent."""


class InvalidTaskName(SimpleWorkerError):
    """Raised when a task name is empty, too long or uses characters outside the allowed set."""

    def __init__(self, name: object, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"Invalid task name {_quoted(name)}: {reason}.")


class InvalidQueueName(SimpleWorkerError):
    """Raised when a full queue name (prefix + queue) is not a valid SQS queue name."""

    def __init__(self, queue_name: str, reason: str) -> None:
        self.queue_name = queue_name
        self.reason = reason
        super().__init__(f"Invalid queue name {queue_name!r}: {reason}.")


class RegistrationError(SimpleWorkerError):
    """Raised when a task handler cannot be registered."""


class DuplicateTaskName(RegistrationError):
    """Raised when a second handler is registered under a task name already taken."""

    def __init__(self, task_name: str) -> None:
        self.task_name = task_name
        super().__init__(
            f"A handler for task {task_name!r} is already registered. "
            "Each task name has exactly one handler: pick another name, or remove "
            "the other registration."
        )


_KEYWORD_ADVICE = (
    "Payloads are passed by keyword only: give every parameter a name that callers can use."
)


class UnsupportedHandler(RegistrationError):
    """Raised when a handler cannot be run as registered (its signature, or a generator).

    ``advice`` is the next step the message ends with; by default, how payloads bind.
    """

    def __init__(
        self,
        task_name: str,
        parameters: Sequence[str],
        reason: str,
        advice: str = _KEYWORD_ADVICE,
    ) -> None:
        self.task_name = task_name
        self.parameters = tuple(parameters)
        self.reason = reason
        super().__init__(
            f"The handler for task {task_name!r} cannot be registered: {reason}"
            f"{' (' + ', '.join(parameters) + ')' if parameters else ''}. {advice}"
        )


class TaskRefused(SimpleWorkerError):
    """Raised when a task would not run, so it is not sent (or, at the worker, not run).

    ``payload_index`` is the position of the refused payload in an ``add_tasks``
    call of several (counting from 0), and the message names it; None otherwise.
    """

    task_name: str
    payload_index: int | None = None


class PositionalPayload(TaskRefused, TypeError):
    """Raised when ``add_task`` is given a positional payload: payloads are keyword-only."""

    def __init__(self, task_name: str, count: int) -> None:
        self.task_name = task_name
        self.count = count
        name = _quoted(task_name)
        values = "1 positional value" if count == 1 else f"{count} positional values"
        super().__init__(
            f"add_task({name}, ...) was given {values}: payloads are keyword-only, so "
            f"nothing says which parameter a value is for. Name each one, "
            f"add_task({name}, user_id=7), or pass a dict as add_task({name}, **payload)."
        )


class UnknownTask(TaskRefused):
    """Raised when no handler is registered under a task name."""

    def __init__(self, task_name: str, known: Sequence[str] = ()) -> None:
        self.task_name = task_name
        self.known = tuple(sorted(known))
        hint = f" Registered tasks: {_listing(self.known)}." if self.known else ""
        name = _quoted(task_name)
        super().__init__(
            f"No handler is registered for task {name}.{hint} Register one with "
            f"@app.register_task_handler({name}) in code that both the producer "
            "and the worker import."
        )


class PayloadMismatch(TaskRefused):
    """Raised when a payload does not bind to the handler's parameters."""

    def __init__(self, task_name: str, missing: Sequence[str], unexpected: Sequence[str]) -> None:
        self.task_name = task_name
        self.missing = tuple(sorted(missing))
        self.unexpected = tuple(sorted(unexpected))
        problems = []
        if self.missing:
            problems.append(f"missing {_listing(self.missing)}")
        if self.unexpected:
            problems.append(f"unexpected {_listing(self.unexpected)}")
        super().__init__(
            f"The payload for task {_quoted(task_name)} does not fit its handler: "
            f"{'; '.join(problems)}. Pass exactly the handler's parameters by name; "
            "when a handler's signature changes, keep accepting the old one until "
            "old messages are drained (parallel change)."
        )


class InvalidPayload(TaskRefused):
    """Raised when a payload is not plain JSON that round-trips exactly."""

    def __init__(self, task_name: str, path: str, reason: str) -> None:
        self.task_name = task_name
        self.path = path
        self.reason = reason
        super().__init__(
            f"The payload for task {_quoted(task_name)} is not plain JSON at "
            f"{excerpt(path, PLACE_BYTES)}: {excerpt(reason, REASON_BYTES)}. "
            "Payloads hold only dict (with str keys), list, str, int, finite float, "
            "bool and None; convert other values (dates, decimals, ids) yourself."
        )


class MessageTooLarge(TaskRefused):
    """Raised when an encoded task is larger than the queue accepts."""

    def __init__(self, task_name: str, size: int, limit: int) -> None:
        self.task_name = task_name
        self.size = size
        self.limit = limit
        super().__init__(
            f"Task {_quoted(task_name)} encodes to {size} bytes, over the limit of {limit} "
            "bytes. "
            "Send a reference (an S3 key, a database id) instead of the data itself, "
            "or give the App a large_payload_bucket to send large tasks through S3."
        )


class InvalidTaskOptions(SimpleWorkerError, ValueError):
    """Raised when task options are out of range or do not fit the task's queue.

    For example a delay over 900 seconds, or a task for a FIFO queue without a
    message group id. Nothing is sent. ``payload_index`` is as for `TaskRefused`.
    """

    payload_index: int | None = None


def name_payload(error: TaskRefused | InvalidTaskOptions, index: int) -> None:
    """Say in ``error`` that it is about the payload at ``index`` of an ``add_tasks`` call."""
    error.payload_index = index
    error.args = (f"Payload {index} (counting from 0) of add_tasks: {error}",)


class InvalidSchedule(SimpleWorkerError, ValueError):
    """Raised when a schedule declaration cannot become an EventBridge Scheduler schedule.

    For example an invalid cron or rate expression, an unknown time zone, or a
    name taken by another schedule. ``schedule_name`` names the declaration.
    """

    def __init__(self, schedule_name: str, reason: str) -> None:
        self.schedule_name = schedule_name
        self.reason = reason
        super().__init__(f"Schedule {_quoted(schedule_name)} is invalid: {reason}.")


class SchedulerServiceError(SimpleWorkerError):
    """Raised when EventBridge Scheduler fails a call after the client's own retries."""

    def __init__(self, message: str, *, operation: str = "") -> None:
        self.operation = operation
        super().__init__(message)


class MessageDecodeError(SimpleWorkerError):
    """Raised when a received message body is not a task envelope this library can run."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Message is not a task envelope: {excerpt(reason, REASON_BYTES)}.")


class QueueNotFound(SimpleWorkerError):
    """Raised when one or more queues do not exist; names every one of them."""

    def __init__(self, queue_names: Sequence[str]) -> None:
        if not queue_names:
            raise ValueError("QueueNotFound names at least one queue")
        self.queue_names = tuple(queue_names)
        count = len(self.queue_names)
        noun = "queue does not exist" if count == 1 else "queues do not exist"
        super().__init__(
            f"{count} {noun}: {', '.join(self.queue_names)}. Create "
            f"{'it' if count == 1 else 'them'}, each with a dead-letter queue, with "
            "simple-worker queues create MODULE:APP (your App, as the worker command "
            "names it), or fix queue_prefix."
        )


HOW_TO_SET_CREDENTIALS = (
    "Set them the standard AWS way: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE "
    "(a profile in ~/.aws/credentials or ~/.aws/config, aws configure or aws sso login), or "
    "an instance, task or pod role. A local emulator takes any pair, e.g. "
    "AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test."
)
"""What every "no credentials" error says to do, whichever AWS service it called."""


class QueueServiceError(SimpleWorkerError):
    """Raised when the queue service fails a call after the client's own retries."""

    def __init__(self, message: str, *, operation: str = "", queue: str = "") -> None:
        self.operation = operation
        self.queue = queue
        super().__init__(message)


class CredentialsNotFound(QueueServiceError, ConfigurationError):
    """Raised when no AWS credentials were found to sign a call to the queue service.

    A configuration error (the command exits with status 2), and a
    `QueueServiceError` for code that retries those: a worker whose credentials
    lapse while it runs keeps retrying its receives.
    """

    def __init__(self, *, operation: str = "", queue: str = "") -> None:
        super().__init__(
            f"No AWS credentials were found for SQS {operation} on queue {queue}. "
            + HOW_TO_SET_CREDENTIALS,
            operation=operation,
            queue=queue,
        )


class SendFailed(QueueServiceError):
    """Raised when some tasks of a send were refused; lists which were sent and which not."""

    def __init__(
        self,
        queue: str,
        sent_ids: Sequence[str],
        failed: dict[str, str],
        unknown_ids: Sequence[str] = (),
    ) -> None:
        self.sent_ids = tuple(sent_ids)
        self.failed = dict(failed)
        self.unknown_ids = tuple(unknown_ids)
        reasons = "; ".join(f"{task_id}: {why}" for task_id, why in self.failed.items())
        parts = [f"{len(self.sent_ids)} of {self._total()} tasks were sent to {queue}"]
        if self.failed:
            verb = "was" if len(self.failed) == 1 else "were"
            parts.append(f"{len(self.failed)} {verb} not sent ({reasons})")
        if self.unknown_ids:
            parts.append(
                f"{len(self.unknown_ids)} may or may not have been sent "
                f"({', '.join(self.unknown_ids)}): the call failed before SQS answered"
            )
        super().__init__(
            "; ".join(parts) + ". Send the tasks that were not sent again.",
            operation="SendMessageBatch",
            queue=queue,
        )

    def _total(self) -> int:
        return len(self.sent_ids) + len(self.failed) + len(self.unknown_ids)


class PayloadNotFound(SimpleWorkerError):
    """Raised when a large task's stored body is not in the payload store.

    Its object was deleted (the task already ran, or a lifecycle rule expired it),
    never written, or lies outside the store's bucket: the message cannot run.
    """

    def __init__(self, bucket: str, key: str, reason: str = "no such object") -> None:
        self.bucket = bucket
        self.key = key
        self.reason = reason
        super().__init__(
            f"The large payload {excerpt(f's3://{bucket}/{key}', PLACE_BYTES)} cannot be read: "
            f"{excerpt(reason, REASON_BYTES)}. Its "
            "message cannot run; keep objects longer than messages stay in the queues "
            "(a lifecycle rule beyond the dead-letter queue's retention period)."
        )


class PayloadStoreError(SimpleWorkerError):
    """Raised when the large-payload store (S3) fails a call after the client's own retries."""

    def __init__(
        self, message: str, *, operation: str = "", bucket: str = "", key: str = ""
    ) -> None:
        self.operation = operation
        self.bucket = bucket
        self.key = key
        super().__init__(message)


class TooManyTasks(SimpleWorkerError):
    """Raised when the testing worker runs more tasks than its limit (an endless chain)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"The testing worker ran {limit} tasks and the queues are still not empty: "
            "a task probably enqueues itself in a loop. Raise max_tasks if the chain "
            "is meant to be this long."
        )


class HandlerReturnedAwaitable(SimpleWorkerError):
    """Raised for a task whose handler returned an awaitable: its code never ran.

    Not raised to a caller: it is the task's outcome (a failure), as a handler's
    exception would be. A returned coroutine is closed unawaited.
    """

    def __init__(self, task_name: str, returned: str) -> None:
        self.task_name = task_name
        self.returned = returned
        super().__init__(
            f"The handler of task {task_name!r} returned {returned} instead of running: "
            "none of its code ran. Register the async function itself (an async def "
            "handler is awaited on the worker's event loop), or run it to the end inside "
            "the handler."
        )


class WorkerThreadDied(SimpleWorkerError):
    """Raised when a worker's thread died of an unexpected error; the worker then stopped.

    Raised by ``Worker.start`` once the worker has stopped gracefully; the
    original error is chained (``__cause__``) and was logged at CRITICAL.
    """

    def __init__(self, thread_name: str, error: BaseException) -> None:
        self.thread_name = thread_name
        self.error_type = type(error).__name__
        super().__init__(
            f"Worker thread {thread_name} died of {self.error_type}: {error}; the worker "
            "stopped rather than run on without it. This is a bug: report it with the "
            "logged traceback. Start the worker again (a process manager or --processes "
            "restarts it)."
        )


class TaskStuck(SimpleWorkerError):
    """Raised when a task ran past the worker's hard time limit; the worker then stopped.

    Raised by ``Worker.start`` once the worker has stopped (its other tasks
    finished, its buffered messages were released); the stuck task's thread is
    abandoned, so the process should end: its manager (``--processes``'s
    supervisor, Kubernetes, systemd) starts a fresh one.
    """

    def __init__(self, task_name: str, hard_limit: float) -> None:
        self.task_name = task_name
        self.hard_limit = hard_limit
        super().__init__(
            f"Task {task_name} was still running {hard_limit:g} s after it started, past the "
            "hard time limit, and could not be interrupted (a blocking call in C, or a "
            "handler that caught TaskTimeLimitExceeded): the worker stopped so that its "
            "process can be replaced. Its message runs again after its visibility timeout. "
            "Give blocking calls a timeout, or raise the task's time_limit."
        )
