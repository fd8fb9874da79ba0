"""simple-worker: run tasks asynchronously on Amazon SQS.

Producers enqueue a task by its explicit name with keyword-only JSON arguments;
workers receive it from SQS and call the handler registered under that name.
"""

from importlib import metadata as _metadata

from simple_worker.adapters.json_log import JsonLogFormatter
from simple_worker.adapters.task_executor import TaskExecutor
from simple_worker.adapters.testing_worker import RunReport, TestingWorker
from simple_worker.app import App
from simple_worker.domain.errors import (
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
from simple_worker.domain.options import TaskOptions
from simple_worker.domain.task import Delivery, Task
from simple_worker.services.current import current_task
from simple_worker.services.dispatcher import Dispatched, Outcome
from simple_worker.services.middleware import Middleware
from simple_worker.services.producer import TaskSender
from simple_worker.services.retry import ExponentialBackoff, RetryIntervals, RetryPolicy
from simple_worker.services.worker import Worker

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
