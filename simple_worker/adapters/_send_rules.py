"""SQS's rules for a message to send, and for a receive, checked first. Pure: no I/O.

The SQS adapter checks them before each call so that a bad message fails alone:
SQS (and moto) fail a whole SendMessageBatch call for some bad entries, a FIFO
entry without a group id for one. The in-memory queue applies the same rules, so
that both adapters fail the same messages with the same reasons.
"""

from __future__ import annotations

import re

from simple_worker.domain._queue_rules import MAX_SQS_ID_LENGTH, is_sqs_id, takes_delay
from simple_worker.ports.queue import (
    MAX_BATCH_SIZE,
    MAX_DELAY_SECONDS,
    MAX_MESSAGE_ATTRIBUTES,
    MAX_VISIBILITY_TIMEOUT,
    MAX_WAIT_SECONDS,
    OutgoingMessage,
    QueueInfo,
)

MAX_ATTRIBUTE_NAME_LENGTH = 256
MAX_NUMBER_DIGITS = 38
"""A Number attribute's precision in SQS."""
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
_RESERVED_PREFIXES = ("aws.", "amazon.")


def refusal(message: OutgoingMessage, info: QueueInfo) -> str | None:
    """Return why SQS would refuse ``message`` on a queue set up as ``info``, or None.

    The reason starts with SQS's error code, e.g. ``"MissingParameter: ..."``.
    """
    size = message.size()
    if size > info.max_message_size:
        return (
            f"MessageTooLong: the message is {size} bytes (body and attributes), over the "
            f"queue's MaximumMessageSize of {info.max_message_size} bytes (not sent)"
        )
    return (
        _delay_refusal(message, info) or _id_refusal(message, info) or _attributes_refusal(message)
    )


def _delay_refusal(message: OutgoingMessage, info: QueueInfo) -> str | None:
    delay = message.delay_seconds
    if not 0 <= delay <= MAX_DELAY_SECONDS:
        return f"InvalidParameterValue: DelaySeconds must be 0 to {MAX_DELAY_SECONDS}, not {delay}"
    if not takes_delay(fifo=info.fifo, delay=delay):
        return (
            f"InvalidParameterValue: DelaySeconds {delay} is not valid for a FIFO queue, "
            "which takes no delay per message"
        )
    return None


def _id_refusal(message: OutgoingMessage, info: QueueInfo) -> str | None:
    for name, value in (
        ("MessageGroupId", message.group_id),
        ("MessageDeduplicationId", message.deduplication_id),
    ):
        if value is not None and not is_sqs_id(value):
            return (
                f"InvalidParameterValue: {name} {value!r} is not 1 to {MAX_SQS_ID_LENGTH} "
                "letters, digits and punctuation"
            )
    if not info.fifo:
        if message.deduplication_id is not None:
            return "InvalidParameterValue: MessageDeduplicationId is for FIFO queues only"
        return None
    if message.group_id is None:
        return "MissingParameter: The request must contain the parameter MessageGroupId."
    if message.deduplication_id is None and not info.content_based_deduplication:
        return (
            "InvalidParameterValue: The queue should either have ContentBasedDeduplication "
            "enabled or MessageDeduplicationId provided explicitly"
        )
    return None


def _attributes_refusal(message: OutgoingMessage) -> str | None:
    attributes = message.attributes
    if len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        return (
            f"InvalidParameterValue: {len(attributes)} message attributes, over SQS's limit "
            f"of {MAX_MESSAGE_ATTRIBUTES}"
        )
    for name, value in attributes.items():
        if (
            len(name) > MAX_ATTRIBUTE_NAME_LENGTH
            or not _ATTRIBUTE_NAME.fullmatch(name)
            or name.lower().startswith(_RESERVED_PREFIXES)
        ):
            return (
                f"InvalidParameterValue: message attribute name {name!r} is not 1 to "
                f"{MAX_ATTRIBUTE_NAME_LENGTH} letters, digits, -, _ and single inner dots, "
                "or starts with AWS. or Amazon."
            )
        # A bool is an int to Python, but would go out as the Number "True".
        if isinstance(value, bool) or not isinstance(value, str | int):
            return (
                f"InvalidParameterValue: message attribute {name!r} is a "
                f"{type(value).__name__}; give a str or an int"
            )
        if value == "":
            return f"InvalidParameterValue: message attribute {name!r} is an empty string"
        if isinstance(value, int) and len(str(abs(value))) > MAX_NUMBER_DIGITS:
            return (
                f"InvalidParameterValue: message attribute {name!r} has over "
                f"{MAX_NUMBER_DIGITS} digits"
            )
    return None


def check_receive(max_messages: int, wait_seconds: int, visibility_timeout: int | None) -> None:
    """Refuse a receive's arguments SQS would refuse, before any call.

    Raises:
        ValueError: ``max_messages`` is not 1 to 10, ``wait_seconds`` not 0 to 20,
            or ``visibility_timeout`` not None or 0 to 43,200.
    """
    if not 1 <= max_messages <= MAX_BATCH_SIZE:
        raise ValueError(f"max_messages must be 1 to {MAX_BATCH_SIZE}, not {max_messages}")
    if not 0 <= wait_seconds <= MAX_WAIT_SECONDS:
        raise ValueError(f"wait_seconds must be 0 to {MAX_WAIT_SECONDS}, not {wait_seconds}")
    if visibility_timeout is not None and not 0 <= visibility_timeout <= MAX_VISIBILITY_TIMEOUT:
        raise ValueError(
            f"visibility_timeout must be None or 0 to {MAX_VISIBILITY_TIMEOUT}, "
            f"not {visibility_timeout}"
        )
