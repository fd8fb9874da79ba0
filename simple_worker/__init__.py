"""simple-worker: run tasks asynchronously on Amazon SQS.

Producers enqueue a task by its explicit name with keyword-only JSON arguments;
workers receive it from SQS and call the handler registered under that name.

The public names below are imported on first use (PEP 562): ``from simple_worker
import App`` works as ever, and ``import simple_worker`` alone costs next to
nothing, so that the ``simple-worker`` command can catch stop signals before it
imports the app, boto3 and the rest (see `simple_worker.cli`).
"""

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING

if _TYPE_CHECKING:  # for type checkers; at run time `__getattr__` imports each on first use
    from simple_worker.adapters.observability._json_log import JsonLogFormatter
    from simple_worker.app import App
    from simple_worker.consumer._current import current_task
    from simple_worker.consumer._executor import TaskExecutor
    from simple_worker.consumer._retry import ExponentialBackoff, RetryIntervals, RetryPolicy
    from simple_worker.consumer._testing_worker import RunReport, TestingWorker
    from simple_worker.consumer._worker import Worker
    from simple_worker.domain._errors import (
        ConfigurationError,
        CredentialsNotFound,
        DuplicateTaskName,
        HandlerReturnedAwaitable,
        InvalidPayload,
        InvalidQueueName,
        InvalidSchedule,
        InvalidTaskName,
        InvalidTaskOptions,
        MessageDecodeError,
        MessageTooLarge,
        PayloadMismatch,
        PayloadNotFound,
        PayloadStoreError,
        PositionalPayload,
        QueueNotFound,
        QueueServiceError,
        RegistrationError,
        SchedulerServiceError,
        SendFailed,
        SimpleWorkerError,
        TaskRefused,
        TaskStuck,
        TooManyTasks,
        UnknownTask,
        UnsupportedHandler,
        WorkerThreadDied,
    )
    from simple_worker.domain._interrupts import TaskTimeLimitExceeded
    from simple_worker.domain._options import TaskOptions
    from simple_worker.domain._schedule import Schedule
    from simple_worker.domain._task import Delivery, Task
    from simple_worker.ports.middleware import Dispatched, Middleware, Outcome
    from simple_worker.producer._sender import TaskSender

    __version__: str

_HOMES = {
    "simple_worker.adapters.observability._json_log": ["JsonLogFormatter"],
    "simple_worker.consumer._executor": ["TaskExecutor"],
    "simple_worker.consumer._testing_worker": ["RunReport", "TestingWorker"],
    "simple_worker.app": ["App"],
    "simple_worker.domain._errors": [
        "ConfigurationError",
        "CredentialsNotFound",
        "DuplicateTaskName",
        "HandlerReturnedAwaitable",
        "InvalidPayload",
        "InvalidQueueName",
        "InvalidSchedule",
        "InvalidTaskName",
        "InvalidTaskOptions",
        "MessageDecodeError",
        "MessageTooLarge",
        "PayloadMismatch",
        "PayloadNotFound",
        "PayloadStoreError",
        "PositionalPayload",
        "QueueNotFound",
        "QueueServiceError",
        "RegistrationError",
        "SchedulerServiceError",
        "SendFailed",
        "SimpleWorkerError",
        "TaskRefused",
        "TaskStuck",
        "TooManyTasks",
        "UnknownTask",
        "UnsupportedHandler",
        "WorkerThreadDied",
    ],
    "simple_worker.domain._interrupts": ["TaskTimeLimitExceeded"],
    "simple_worker.domain._options": ["TaskOptions"],
    "simple_worker.domain._schedule": ["Schedule"],
    "simple_worker.domain._task": ["Delivery", "Task"],
    "simple_worker.consumer._current": ["current_task"],
    "simple_worker.ports.middleware": ["Dispatched", "Middleware", "Outcome"],
    "simple_worker.producer._sender": ["TaskSender"],
    "simple_worker.consumer._retry": ["ExponentialBackoff", "RetryIntervals", "RetryPolicy"],
    "simple_worker.consumer._worker": ["Worker"],
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "App",
    "ConfigurationError",
    "CredentialsNotFound",
    "Delivery",
    "Dispatched",
    "DuplicateTaskName",
    "ExponentialBackoff",
    "HandlerReturnedAwaitable",
    "InvalidPayload",
    "InvalidQueueName",
    "InvalidSchedule",
    "InvalidTaskName",
    "InvalidTaskOptions",
    "JsonLogFormatter",
    "MessageDecodeError",
    "MessageTooLarge",
    "Middleware",
    "Outcome",
    "PayloadMismatch",
    "PayloadNotFound",
    "PayloadStoreError",
    "PositionalPayload",
    "QueueNotFound",
    "QueueServiceError",
    "RegistrationError",
    "RetryIntervals",
    "RetryPolicy",
    "RunReport",
    "Schedule",
    "SchedulerServiceError",
    "SendFailed",
    "SimpleWorkerError",
    "Task",
    "TaskExecutor",
    "TaskOptions",
    "TaskRefused",
    "TaskSender",
    "TaskStuck",
    "TaskTimeLimitExceeded",
    "TestingWorker",
    "TooManyTasks",
    "UnknownTask",
    "UnsupportedHandler",
    "Worker",
    "WorkerThreadDied",
    "__version__",
    "current_task",
]


def __getattr__(name: str) -> object:
    """Import a public name on first use; it is then an ordinary module attribute."""
    if name == "__version__":
        from importlib import metadata  # noqa: PLC0415 - costly, and needed by --version only

        try:
            value: object = metadata.version("simple-worker")
        except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
            value = "0+unknown"
    elif name in _HOME_OF:
        value = getattr(_importlib.import_module(_HOME_OF[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names with the module's own, as if all were imported."""
    return sorted({*globals(), *__all__})
