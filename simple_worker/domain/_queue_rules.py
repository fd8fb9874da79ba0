"""SQS's rules about queues and message ids, decided once. Pure: no I/O.

- A queue name is 1 to 80 characters from ``A-Z a-z 0-9 _ -``; a FIFO queue's
  name ends in ``.fifo`` (which counts towards the 80), and only a FIFO queue's.
- A message group id or deduplication id is 1 to 128 printable ASCII characters
  (letters, digits and punctuation, no spaces).
- A FIFO queue takes no delay per message (only the queue's own DelaySeconds).
"""

from __future__ import annotations

import re

from simple_worker.domain._errors import InvalidQueueName, InvalidTaskOptions

FIFO_SUFFIX = ".fifo"
MAX_QUEUE_NAME_LENGTH = 80
MAX_SQS_ID_LENGTH = 128
"""Longest message group id or deduplication id SQS takes."""
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]+(\.fifo)?")
_SQS_ID_CHARACTERS = re.compile(r"[!-~]+")  # ASCII letters, digits and punctuation


def is_fifo_queue(queue_name: str) -> bool:
    """Return whether ``queue_name`` names a FIFO queue (it ends in ``.fifo``)."""
    return queue_name.endswith(FIFO_SUFFIX)


def check_queue_name(queue_name: str) -> str:
    """Return ``queue_name`` if SQS accepts it as a queue name.

    Raises:
        InvalidQueueName: it is empty, too long, or has other characters.
    """
    if not 0 < len(queue_name) <= MAX_QUEUE_NAME_LENGTH:
        raise InvalidQueueName(
            queue_name, f"SQS queue names are 1 to {MAX_QUEUE_NAME_LENGTH} characters long"
        )
    if not _QUEUE_NAME.fullmatch(queue_name):
        raise InvalidQueueName(
            queue_name, "use letters, digits, _ and - only (and .fifo at the end of a FIFO queue)"
        )
    return queue_name


def is_sqs_id(value: str) -> bool:
    """Return whether SQS takes ``value`` as a message group or deduplication id."""
    return 0 < len(value) <= MAX_SQS_ID_LENGTH and bool(_SQS_ID_CHARACTERS.fullmatch(value))


def takes_delay(*, fifo: bool, delay: float) -> bool:
    """Return whether a queue (FIFO or not) takes a message delayed by ``delay`` seconds."""
    return not (fifo and delay)


def check_delay(queue_name: str, delay: float, *, task_name: str | None = None) -> None:
    """Refuse a delay per message on a FIFO queue, naming the task if given.

    Raises:
        InvalidTaskOptions: ``queue_name`` is a FIFO queue and ``delay`` is not 0.
    """
    if not takes_delay(fifo=is_fifo_queue(queue_name), delay=delay):
        subject = f"Task {task_name!r} goes to FIFO queue" if task_name else "Queue"
        raise InvalidTaskOptions(
            f"{subject} {queue_name!r}: SQS FIFO queues take no delay per message "
            "(set the queue's DelaySeconds instead)."
        )
