"""The large-payload pointer: the Amazon SQS extended client's convention. Pure: no I/O.

A task too large for its queue is stored as an object (the normal JSON task
envelope, byte for byte) and its message carries a pointer instead::

    ["software.amazon.payloadoffloading.PayloadS3Pointer",
     {"s3BucketName": "my-bucket", "s3Key": "5b0c…"}]

with the Number message attribute ``ExtendedPayloadSize``: the envelope's size in
bytes. The extended client libraries (Java, Python and their ports) write and read
exactly this, so they can consume our large tasks and produce ones we run. Their
older releases wrote the class ``com.amazon.sqs.javamessaging.MessageS3Pointer``
(read, never written) and the attribute ``SQSLargePayloadSize``.

The extended clients find a pointer by its attribute; we find one by its body
alone, and read no attribute: our envelopes are JSON objects, a pointer is an
array naming a pointer class. So a valid task envelope runs as a task whatever
attributes its message carries (an unrelated ``ExtendedPayloadSize`` included),
and a pointer still resolves after a hop that dropped the attributes.
"""

from __future__ import annotations

import json
import re

import attrs

from simple_worker.domain._errors import MessageDecodeError

POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"
LEGACY_POINTER_CLASS = "com.amazon.sqs.javamessaging.MessageS3Pointer"
SIZE_ATTRIBUTE = "ExtendedPayloadSize"
LEGACY_SIZE_ATTRIBUTE = "SQSLargePayloadSize"
"""What older extended clients wrote; like `SIZE_ATTRIBUTE`, never read to find a pointer."""
MAX_KEY_BYTES = 1024
"""Longest S3 object key, in UTF-8 bytes."""
MAX_BUCKET_LENGTH = 255
"""Longest bucket name S3 ever allowed (legacy us-east-1 names; new ones stop at 63)."""

_POINTER_CLASSES = frozenset({POINTER_CLASS, LEGACY_POINTER_CLASS})
_BUCKET_NAME = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_BUCKET_LENGTH}}}")
_encoder = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))
_decoder = json.JSONDecoder()


@attrs.frozen
class PayloadPointer:
    """Where a large task's body is stored: an object in a bucket."""

    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def encode_pointer(pointer: PayloadPointer) -> str:
    """Return the message body that points to ``pointer``'s object."""
    return _encoder.encode([POINTER_CLASS, {"s3BucketName": pointer.bucket, "s3Key": pointer.key}])


def pointer_attributes(body_size: int) -> dict[str, int]:
    """Return the message attributes a pointer message carries for a body of ``body_size`` bytes."""
    return {SIZE_ATTRIBUTE: body_size}


def find_pointer(body: str) -> PayloadPointer | None:
    """Return the pointer a received message body is, or None for any other body.

    A body is a pointer if it is a JSON array whose first item names a pointer
    class; any other body is left to the envelope decoder. Message attributes
    play no part: they cannot turn a task into a pointer, nor a pointer into a task.

    Raises:
        MessageDecodeError: the body names a pointer class, but is a malformed
            pointer. Nothing else, whatever the body holds.
    """
    # Every envelope is a JSON object: most bodies are never parsed twice.
    if not body.lstrip().startswith("["):
        return None
    try:
        value = _decoder.decode(body)
    except (ValueError, RecursionError):
        return None
    if not (type(value) is list and value and _is_pointer_class(value[0])):
        return None
    return _pointer(value)


def _is_pointer_class(value: object) -> bool:
    return type(value) is str and value in _POINTER_CLASSES


def _pointer(value: list[object]) -> PayloadPointer:
    if len(value) != 2:  # noqa: PLR2004 - [class, fields]
        raise MessageDecodeError(
            "it names a large-payload pointer class but is not a [class, {s3BucketName, s3Key}] "
            "pointer"
        )
    fields = value[1]
    if type(fields) is not dict:
        raise MessageDecodeError("its large-payload pointer has no {s3BucketName, s3Key} object")
    bucket, key = fields.get("s3BucketName"), fields.get("s3Key")
    if type(bucket) is not str or not _BUCKET_NAME.fullmatch(bucket):
        raise MessageDecodeError("its large-payload pointer has no valid s3BucketName")
    if type(key) is not str or not 0 < len(key.encode("utf-8", "replace")) <= MAX_KEY_BYTES:
        raise MessageDecodeError(
            f"its large-payload pointer has no s3Key of 1 to {MAX_KEY_BYTES} bytes"
        )
    if not key.isprintable():
        raise MessageDecodeError("its large-payload pointer's s3Key has unprintable characters")
    return PayloadPointer(bucket, key)
