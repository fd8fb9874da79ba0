"""The wire format: one SQS message body per task. Pure: no I/O, no clock.

The body is a JSON object::

    {"task_name": "send_email", "task_payload": {"user_id": 7},
     "task_id": "…", "enqueued_at": "2026-11-29T10:00:00.000Z", "v": 1}

A task scheduled more than 15 minutes ahead also carries ``"not_before"``, a
timestamp in the same format.

``task_name`` and ``task_payload`` are the format of simple-worker 0.2.x, so its
messages decode here (without id or time) and ours decode there. Unknown keys are
ignored, so later versions can add metadata. A ``v`` above `WIRE_VERSION` is
refused: such a message is left for a newer worker (or the dead-letter queue)
rather than guessed at. Bodies are ASCII (``ensure_ascii``): every byte is in
SQS's allowed character set, and the encoded size is ``len(body)``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, NoReturn

from simple_worker.domain._errors import InvalidPayload, InvalidTaskName, MessageDecodeError
from simple_worker.domain._excerpt import NAME_BYTES, PLACE_BYTES, excerpt, quoted
from simple_worker.domain._payload import check_payload
from simple_worker.domain._task import Task, check_task_name

WIRE_VERSION = 1
MAX_TASK_ID_LENGTH = 128

_MAX_TIMESTAMP_LENGTH = 40

_encoder = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


_decoder = json.JSONDecoder(parse_constant=_refuse_constant)


def encode_envelope(task: Task) -> str:
    """Return the message body for ``task``; its payload must already be plain JSON."""
    return _encode(
        task,
        None if task.enqueued_at is None else format_timestamp(task.enqueued_at),
    )


def encode_envelope_template(task: Task, *, enqueued_at: str) -> str:
    """Return the body for ``task`` with ``enqueued_at`` written as given, unformatted.

    For bodies another service completes: an EventBridge Scheduler target whose
    ``task_id`` and ``enqueued_at`` are placeholders it replaces when it fires.
    """
    return _encode(task, enqueued_at)


def _encode(task: Task, enqueued_at: str | None) -> str:
    envelope: dict[str, Any] = {"task_name": task.name, "task_payload": task.payload}
    if task.id is not None:
        envelope["task_id"] = task.id
    if enqueued_at is not None:
        envelope["enqueued_at"] = enqueued_at
    if task.not_before is not None:
        envelope["not_before"] = format_timestamp(task.not_before)
    envelope["v"] = WIRE_VERSION
    return _encoder.encode(envelope)


def decode_envelope(body: str) -> Task:
    """Return the task a message body carries.

    Raises:
        MessageDecodeError: the body is not JSON, not an envelope, or a field has the
            wrong type or value. Nothing else, whatever the body holds.
    """
    try:
        envelope = _decoder.decode(body)
    except (ValueError, RecursionError) as exc:
        raise MessageDecodeError(f"not valid JSON ({type(exc).__name__})") from None
    if type(envelope) is not dict:
        raise MessageDecodeError(f"the body is a JSON {_json_type(envelope)}, not an object")
    _check_version(envelope.get("v", WIRE_VERSION))
    if "task_name" not in envelope:
        raise MessageDecodeError("it has no task_name")
    try:
        name = check_task_name(envelope["task_name"])
    except InvalidTaskName as exc:
        raise MessageDecodeError(f"task_name is invalid: {exc.reason}") from None
    if "task_payload" not in envelope:
        raise MessageDecodeError("it has no task_payload")
    payload = envelope["task_payload"]
    if type(payload) is not dict:
        raise MessageDecodeError(f"task_payload is a JSON {_json_type(payload)}, not an object")
    try:
        # What no producer could have sent (too deep, an overflowing number) does not run.
        check_payload(name, payload)
    except InvalidPayload as exc:
        raise MessageDecodeError(
            f"task_payload is not plain JSON at {excerpt(exc.path, PLACE_BYTES)}: {exc.reason}"
        ) from None
    return Task(
        name=name,
        payload=payload,
        id=_task_id(envelope.get("task_id")),
        enqueued_at=_timestamp("enqueued_at", envelope.get("enqueued_at")),
        not_before=_timestamp("not_before", envelope.get("not_before")),
    )


def format_timestamp(moment: datetime) -> str:
    """Return ``moment`` as UTC ISO 8601 with milliseconds and a ``Z``."""
    utc = moment.astimezone(timezone.utc) if moment.tzinfo else moment
    return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _check_version(version: object) -> None:
    if type(version) is not int or version < 1:
        raise MessageDecodeError(
            f"v is {_json_type(version)} {quoted(version, NAME_BYTES)}, not a version number"
        )
    if version > WIRE_VERSION:
        raise MessageDecodeError(
            f"it is wire format v{excerpt(str(version), NAME_BYTES)}, written by a newer "
            "simple-worker; "
            f"this worker reads up to v{WIRE_VERSION}"
        )


def _task_id(value: object) -> str | None:
    if value is None:
        return None
    if type(value) is not str or not 0 < len(value) <= MAX_TASK_ID_LENGTH:
        raise MessageDecodeError(
            f"task_id must be a string of 1 to {MAX_TASK_ID_LENGTH} characters"
        )
    if not value.isprintable():
        raise MessageDecodeError("task_id has unprintable characters")
    return value


def _timestamp(key: str, value: object) -> datetime | None:
    if value is None:
        return None
    if type(value) is not str or len(value) > _MAX_TIMESTAMP_LENGTH:
        raise MessageDecodeError(f"{key} must be an ISO 8601 timestamp string")
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MessageDecodeError(f"{key} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
