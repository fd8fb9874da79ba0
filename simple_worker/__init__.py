"""simple-worker: run tasks asynchronously on Amazon SQS.

Producers enqueue a task by its explicit name with keyword-only JSON arguments;
workers receive it from SQS and call the handler registered under that name.
"""

from importlib import metadata as _metadata

from simple_worker.adapters.observability._json_log import JsonLogFormatter
from simple_worker.app import App
from simple_worker.consumer._current import current_task
from simple_worker.consumer._executor import TaskExecutor
from simple_worker.consumer._retry import ExponentialBackoff, RetryIntervals, RetryPolicy
from simple_worker.consumer._testing_worker import RunReport, TestingWorker
from simple_worker.consumer._worker import Worker
from simple_worker.domain._errors import (
    ConfigurationError,
    DuplicateTaskName,
    HandlerReturnedAwaitable,
    InvalidPayload,
    InvalidQueueName,
    InvalidTaskName,
    InvalidTaskOptions,
    MessageDecodeError,
    MessageTooLarge,
    PayloadMismatch,
    PayloadNotFound,
    PayloadStoreError,
    QueueNotFound,
    QueueServiceError,
    RegistrationError,
    SendFailed,
    SimpleWorkerError,
    TaskRefused,
    TooManyTasks,
    UnknownTask,
    UnsupportedHandler,
    WorkerThreadDied,
)
from simple_worker.domain._options import TaskOptions
from simple_worker.domain._task import Delivery, Task
from simple_worker.ports.middleware import Dispatched, Middleware, Outcome
from simple_worker.producer._producer import TaskSender

try:
    __version__ = _metadata.version("simple-worker")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "App",
    "ConfigurationError",
    "Delivery",
    "Dispatched",
    "DuplicateTaskName",
    "ExponentialBackoff",
    "HandlerReturnedAwaitable",
    "InvalidPayload",
    "InvalidQueueName",
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
    "QueueNotFound",
    "QueueServiceError",
    "RegistrationError",
    "RetryIntervals",
    "RetryPolicy",
    "RunReport",
    "SendFailed",
    "SimpleWorkerError",
    "Task",
    "TaskExecutor",
    "TaskOptions",
    "TaskRefused",
    "TaskSender",
    "TestingWorker",
    "TooManyTasks",
    "UnknownTask",
    "UnsupportedHandler",
    "Worker",
    "WorkerThreadDied",
    "__version__",
    "current_task",
]
