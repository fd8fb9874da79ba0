"""Amazon SQS through boto3: the queue adapter, its shapes and errors, and admin calls."""

from simple_worker.adapters.sqs._queue import SQSQueue

__all__ = ["SQSQueue"]
