"""fast_sqs: a small SQS emulator for the benchmark, whose calls cost the same at any depth.

Why it exists
    The benchmark used a moto server, but moto's SQS costs O(queue depth) per call:
    its ``Queue.messages`` property re-filters every message of the queue, with slow
    datetime maths, on every send and receive. On the 2-core benchmark machine, at a
    depth of 600 a SendMessageBatch takes about 300 ms and a ReceiveMessage about
    500 ms, so a benchmark against moto measures moto. Here every operation is O(1)
    or O(log n) in queue depth. Measured on that machine, through boto3, the server
    in its own process: SendMessageBatch, ReceiveMessage and DeleteMessageBatch of 10
    messages take 2.6-3.3 ms each (p50, nearly all of it botocore's own time) at depth
    0, 1,000 or 10,000 alike, using 0.35-0.5 ms of the server's CPU per call; moto
    takes 17, 35 and 11 ms at depth 0, and 300, 1,000 and 16 ms at depth 600.
    LocalStack would do, but needs Python 3.12+.

What it emulates
    SQS's JSON protocol as current botocore speaks it (``POST /``, ``X-Amz-Target:
    AmazonSQS.<Action>``, ``application/x-amz-json-1.0``), over HTTP/1.1 with
    keep-alive, on 127.0.0.1 only. Errors are HTTP 400 with ``{"__type":
    "com.amazonaws.sqs#<Shape>", "message": ...}`` and the ``x-amzn-query-error``
    header, so botocore reports the same ``Code``/``QueryErrorCode`` as for SQS and
    moto (e.g. ``AWS.SimpleQueueService.NonExistentQueue``/``QueueDoesNotExist``).
    Actions: CreateQueue, GetQueueUrl, GetQueueAttributes, SetQueueAttributes,
    DeleteQueue, PurgeQueue, ListQueues, SendMessage, SendMessageBatch,
    ReceiveMessage (long polling; ``VisibilityTimeout`` override; the system
    attributes SenderId, SentTimestamp, ApproximateReceiveCount,
    ApproximateFirstReceiveTimestamp, DeadLetterQueueSourceArn, MessageGroupId;
    message attributes by name, ``name.*`` prefix or ``All``), DeleteMessage,
    DeleteMessageBatch, ChangeMessageVisibility, ChangeMessageVisibilityBatch.
    Messages: per-message ``DelaySeconds``; message attributes (String, Number,
    Binary and their custom types, at most 10, counted in the size limits, with
    SQS's ``MD5OfMessageAttributes``); ``MessageGroupId`` on standard queues, as
    fair queues take it: kept and returned, without changing the delivery order.
    Queue attributes: VisibilityTimeout, MaximumMessageSize, DelaySeconds,
    ReceiveMessageWaitTimeSeconds, RedrivePolicy (redrive to the dead-letter queue on
    the receive after the ``maxReceiveCount``-th, receive count kept, as moto does),
    MessageRetentionPeriod (stored, not enforced); read back with the
    ApproximateNumberOf* counts, QueueArn and timestamps.

    Receipts: each receive issues a new one. Any receipt issued for a message
    deletes it (as moto does; SQS documents that only the latest one surely does);
    deleting a message already gone succeeds, as on SQS; a receipt never issued
    fails with ``ReceiptHandleIsInvalid``, as on SQS and moto. Changing the
    visibility of a message not in flight fails with ``MessageNotInflight`` (an
    error SQS documents for that call), of one that is gone with
    ``InvalidParameterValue`` (SQS's answer as far as known); moto accepts both.

What it does NOT emulate
    FIFO queues and message system attributes on send (refused, not ignored, so a
    benchmark cannot silently skip them); fair queues' fairness; permissions, policies,
    tags (accepted, ignored), signatures (not checked), SSE and KMS; several
    accounts or regions (account 123456789012, one region); message retention,
    the 12-hour visibility limit, the 60-second waits after DeleteQueue and
    PurgeQueue; SQS's short-poll sampling (a short poll sees every visible message)
    and its at-least-once duplicates; redrive-allow policies and message moves.
    Messages are in memory only.

Usage
    ``python bench/fast_sqs.py --port 9324`` serves in the foreground (a separate
    process, so that a benchmark's CPU figures are the worker's own) and prints
    ``fast_sqs listening on <url>``; SIGTERM or SIGINT stops it. In-process::

        with FastSQS() as sqs:
            client = boto3.client("sqs", endpoint_url=sqs.url, region_name="us-east-1")

How
    A ``socketserver.ThreadingTCPServer`` with a minimal HTTP/1.1 reader, a thread
    per connection: a request's head comes in one ``recv`` and the few headers used
    are found with one regular expression (the standard library's ``http.server``
    spends about 85 µs per request parsing every header with the email package). Per
    queue: a dict of messages by id, a deque of visible messages, and a heap of
    (visible-at, message) for in-flight and delayed ones, moved back lazily when
    due; entries made stale by a later change are skipped, and compacted away when
    they outnumber live ones. Counts are kept as messages change state. Receipts
    name their message, so a delete or visibility change finds it in O(1). A receive
    redrives every over-received message it meets before finding its own (once
    each, so O(1) amortised per message). One lock
    guards all queues; long polls wait on their queue's condition variable, woken by
    a send or at the next message's due time, never polling.
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import heapq
import http
import itertools
import json
import logging
import os
import re
import signal
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["FastSQS", "SQSBackend", "SQSError"]

logger = logging.getLogger("fast_sqs")

Json = dict[str, Any]

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
SENDER_ID = "AIDAIT2UOQQY3AUEKVGXU"  # moto's, as the SenderId of every message
MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 1_048_576
MAX_VISIBILITY_TIMEOUT = 43_200
MAX_WAIT_SECONDS = 20
MAX_DELAY_SECONDS = 900
MAX_RECEIVE_COUNT = 1000
MAX_LIST_RESULTS = 1000

# Integer queue attributes: default, lowest, highest.
_INT_ATTRIBUTES = {
    "VisibilityTimeout": (30, 0, MAX_VISIBILITY_TIMEOUT),
    "MaximumMessageSize": (1_048_576, 1024, 1_048_576),
    "DelaySeconds": (0, 0, MAX_DELAY_SECONDS),
    "ReceiveMessageWaitTimeSeconds": (0, 0, MAX_WAIT_SECONDS),
    "MessageRetentionPeriod": (345_600, 60, 1_209_600),
}
# Every name GetQueueAttributes accepts (botocore's QueueAttributeName); those not
# emulated are left out of the answer, as SQS leaves out attributes a queue lacks.
_QUEUE_ATTRIBUTE_NAMES = frozenset(
    {
        "All", "Policy", "VisibilityTimeout", "MaximumMessageSize", "MessageRetentionPeriod",
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn",
        "ApproximateNumberOfMessagesDelayed", "DelaySeconds", "ReceiveMessageWaitTimeSeconds",
        "RedrivePolicy", "FifoQueue", "ContentBasedDeduplication", "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds", "DeduplicationScope", "FifoThroughputLimit",
        "RedriveAllowPolicy", "SqsManagedSseEnabled",
    }
)  # fmt: skip
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_BATCH_ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
# What SQS allows in a body: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 up.
_INVALID_BODY_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
_ATTRIBUTE_TYPES = ("String", "Number", "Binary")
_GROUP_ID = re.compile(r"[!-~]{1,128}")
MAX_MESSAGE_ATTRIBUTES = 10
MAX_ATTRIBUTE_NAME_LENGTH = 256

# A message's states; the first three index a queue's counts.
_VISIBLE, _IN_FLIGHT, _DELAYED, _GONE = 0, 1, 2, 3
# Stale heap and deque entries beyond this (and beyond the live ones) are compacted away.
_COMPACT_SLACK = 1024


# -- errors ------------------------------------------------------------------------------


class SQSError(Exception):
    """An error SQS answers with: its botocore shape name, query-era code and message."""

    def __init__(
        self, shape: str, message: str, *, query_code: str | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.shape = shape
        self.message = message
        self.query_code = query_code or shape
        self.status = status
        self.fault = "Sender" if status < http.HTTPStatus.INTERNAL_SERVER_ERROR else "Receiver"

    def body(self) -> bytes:
        """Return the JSON body SQS answers this error with."""
        return json.dumps(
            {"__type": f"com.amazonaws.sqs#{self.shape}", "message": self.message}
        ).encode()

    def entry(self, entry_id: str) -> Json:
        """Return this error as a batch call's ``Failed`` entry."""
        return {
            "Id": entry_id,
            "SenderFault": True,
            "Code": self.query_code,
            "Message": self.message,
        }


def _queue_does_not_exist() -> SQSError:
    return SQSError(
        "QueueDoesNotExist",
        "The specified queue does not exist.",
        query_code="AWS.SimpleQueueService.NonExistentQueue",
    )


def _invalid_parameter(message: str) -> SQSError:
    return SQSError("InvalidParameterValue", message)


def _unsupported(message: str) -> SQSError:
    return SQSError(
        "UnsupportedOperation",
        f"{message} (not emulated by fast_sqs)",
        query_code="AWS.SimpleQueueService.UnsupportedOperation",
    )


def _receipt_invalid(receipt: str) -> SQSError:
    return SQSError(
        "ReceiptHandleIsInvalid",
        f'The input receipt handle "{receipt}" is not a valid receipt handle.',
    )


def _batch_error(shape: str, message: str) -> SQSError:
    return SQSError(shape, message, query_code=f"AWS.SimpleQueueService.{shape}")


# -- parameters --------------------------------------------------------------------------


def _required(params: Json, name: str) -> Any:  # noqa: ANN401 - a JSON value of any type
    value = params.get(name)
    if value is None:
        raise SQSError("MissingParameter", f"The request must contain the parameter {name}.")
    return value


def _int(params: Json, name: str, low: int, high: int, default: int | None) -> int | None:
    value = params.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _invalid_parameter(
            f"Value {value} for parameter {name} is invalid. "
            f"Reason: must be between {low} and {high}, if provided."
        )
    return value


def _queue_name_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _checked_body(body: object) -> bytes:
    """Return a message body as UTF-8, or raise what SQS answers for a bad one."""
    if not isinstance(body, str) or not body:
        raise SQSError("MissingParameter", "The request must contain the parameter MessageBody.")
    if _INVALID_BODY_CHARACTER.search(body):
        raise SQSError(
            "InvalidMessageContents",
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | "
            "#x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        )
    return body.encode()


def _refuse_unsupported(entry: Json) -> None:
    if entry.get("MessageSystemAttributes"):
        raise _unsupported("MessageSystemAttributes on send")
    if entry.get("MessageDeduplicationId"):
        raise _invalid_parameter(
            "The request includes a parameter that is not valid for this queue type."
        )


def _checked_group_id(group_id: object) -> str:
    if not isinstance(group_id, str) or not _GROUP_ID.fullmatch(group_id):
        raise _invalid_parameter(
            f"Value {group_id} for parameter MessageGroupId is invalid. Reason: it must be 1 "
            "to 128 alphanumeric or punctuation characters."
        )
    return group_id


def _attribute_bytes(value: Json) -> bytes:
    """Return an attribute value's bytes: a String's or Number's UTF-8, a Binary's data."""
    if "BinaryValue" in value:
        # The JSON protocol carries blobs in base64.
        return base64.b64decode(value["BinaryValue"])
    return str(value["StringValue"]).encode()


def _checked_attributes(attributes: object) -> tuple[Json, int]:
    """Return message attributes as stored, with their size; raise what SQS answers if bad."""
    if not isinstance(attributes, dict):
        raise _invalid_parameter("MessageAttributes must be a map.")
    if len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        raise _invalid_parameter(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed "
            f"maximum [{MAX_MESSAGE_ATTRIBUTES}]."
        )
    size = 0
    for name, value in attributes.items():
        if (
            len(name) > MAX_ATTRIBUTE_NAME_LENGTH
            or not _ATTRIBUTE_NAME.fullmatch(name)
            or name.lower().startswith(("aws.", "amazon."))
        ):
            raise _invalid_parameter(f"Message (user) attribute name '{name}' is invalid.")
        data_type = value.get("DataType") if isinstance(value, dict) else None
        if not isinstance(data_type, str) or data_type.partition(".")[0] not in _ATTRIBUTE_TYPES:
            raise _invalid_parameter(
                f"The message attribute '{name}' has an invalid message attribute type."
            )
        field = "BinaryValue" if data_type.startswith("Binary") else "StringValue"
        if not value.get(field):
            raise _invalid_parameter(
                f"The message attribute '{name}' must contain a non-empty message attribute value."
            )
        size += len(name.encode()) + len(data_type.encode()) + len(_attribute_bytes(value))
    return attributes, size


def _attributes_md5(attributes: Json) -> str:
    """Return SQS's MD5OfMessageAttributes: of each attribute, by name, length-prefixed."""
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        value = attributes[name]
        for text in (name, value["DataType"]):
            encoded = text.encode()
            digest.update(len(encoded).to_bytes(4, "big") + encoded)
        data = _attribute_bytes(value)
        transport = b"\x02" if "BinaryValue" in value else b"\x01"
        digest.update(transport + len(data).to_bytes(4, "big") + data)
    return digest.hexdigest()


def _wanted_attributes(attributes: Json, names: Iterable[str]) -> Json:
    """Return the message attributes a receive asked for by name, ``prefix.*`` or All."""
    wanted = set(names)
    if not attributes or not wanted:
        return {}
    if wanted & {"All", ".*"}:
        return attributes
    prefixes = tuple(name[:-1] for name in wanted if name.endswith(".*"))
    return {
        name: value
        for name, value in attributes.items()
        if name in wanted or (prefixes and name.startswith(prefixes))
    }


def _prepared(entry: Json, sent_ms: int) -> tuple[_Message, int | None, int]:
    """Return the message a send entry makes, its DelaySeconds and its size in bytes.

    Raises:
        SQSError: what SQS answers for the entry.
    """
    _refuse_unsupported(entry)
    data = _checked_body(entry.get("MessageBody"))
    delay = _int(entry, "DelaySeconds", 0, MAX_DELAY_SECONDS, None)
    message = _Message(entry["MessageBody"], _md5(data), sent_ms)
    size = len(data)
    if entry.get("MessageAttributes"):
        message.message_attributes, attributes_size = _checked_attributes(
            entry["MessageAttributes"]
        )
        size += attributes_size
    group_id = entry.get("MessageGroupId")
    if group_id is not None:
        message.group_id = _checked_group_id(group_id)
    return message, delay, size


def _sent(message: _Message) -> Json:
    """Return what a send answers for a message, beside its entry's Id."""
    sent: Json = {"MessageId": message.message_id, "MD5OfMessageBody": message.md5}
    if message.message_attributes:
        sent["MD5OfMessageAttributes"] = _attributes_md5(message.message_attributes)
    return sent


def _batch_entries(params: Json, kind: str) -> list[Json]:
    """Return a batch call's entries, or raise what SQS answers for a malformed batch."""
    entries = params.get("Entries") or []
    if not entries:
        raise _batch_error(
            "EmptyBatchRequest", f"There should be at least one {kind}RequestEntry in the request."
        )
    if len(entries) > MAX_BATCH_ENTRIES:
        raise _batch_error(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. "
            f"You have sent {len(entries)}.",
        )
    seen: set[str] = set()
    for entry in entries:
        entry_id = entry.get("Id")
        if not isinstance(entry_id, str) or not _BATCH_ENTRY_ID.fullmatch(entry_id):
            raise _batch_error(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long.",
            )
        if entry_id in seen:
            raise _batch_error("BatchEntryIdsNotDistinct", f"Id {entry_id} repeated.")
        seen.add(entry_id)
    return list(entries)


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _id_maker() -> Callable[[], str]:
    """Return a maker of UUID-shaped ids unique to this process (``uuid4()`` costs 7 µs)."""
    h = os.urandom(10).hex()
    prefix = f"{h[:8]}-{h[8:12]}-4{h[12:15]}-a{h[15:18]}-"
    counter = itertools.count()
    return lambda: f"{prefix}{next(counter):012x}"


_new_id = _id_maker()
_receipt_tokens = itertools.count(1)  # unique per receive, with the queue's uid in each receipt


# -- queues and messages ------------------------------------------------------------------


class _Message:
    __slots__ = (
        "body",
        "first_received_ms",
        "generation",
        "group_id",
        "md5",
        "message_attributes",
        "message_id",
        "receipt_tokens",
        "receive_count",
        "sent_ms",
        "source_arn",
        "state",
        "visible_at",
    )

    def __init__(self, body: str, md5: str, sent_ms: int) -> None:
        self.message_id = _new_id()
        self.body = body
        self.md5 = md5
        self.sent_ms = sent_ms
        self.first_received_ms = 0
        self.receive_count = 0
        self.receipt_tokens: list[str] = []  # one per receive in this queue
        self.source_arn = ""  # the queue it was redriven from
        self.state = _GONE
        self.generation = 0  # bumped on every change, so older heap and deque entries are stale
        self.visible_at = 0.0
        self.group_id = ""  # MessageGroupId; on a standard queue, a fair-queue tenant
        self.message_attributes: Json = {}

    def attributes(self, names: set[str]) -> Json:
        every = "All" in names
        found: Json = {}
        if every or "SenderId" in names:
            found["SenderId"] = SENDER_ID
        if every or "SentTimestamp" in names:
            found["SentTimestamp"] = str(self.sent_ms)
        if every or "ApproximateReceiveCount" in names:
            found["ApproximateReceiveCount"] = str(self.receive_count)
        if every or "ApproximateFirstReceiveTimestamp" in names:
            found["ApproximateFirstReceiveTimestamp"] = str(self.first_received_ms)
        if self.source_arn and (every or "DeadLetterQueueSourceArn" in names):
            found["DeadLetterQueueSourceArn"] = self.source_arn
        if self.group_id and (every or "MessageGroupId" in names):
            found["MessageGroupId"] = self.group_id
        return found


class _Queue:
    """One queue's messages; the backend's lock guards every method."""

    def __init__(self, name: str, arn: str, uid: str, lock: threading.Lock) -> None:
        self.name = name
        self.arn = arn
        self.uid = uid  # in every receipt, so that another queue's (or an older one's) fail
        self.settings: dict[str, str] = {k: str(v[0]) for k, v in _INT_ATTRIBUTES.items()}
        self.created = self.modified = int(time.time())
        self.messages: dict[str, _Message] = {}
        self.visible: collections.deque[tuple[_Message, int]] = collections.deque()
        self.timers: list[tuple[float, int, _Message, int]] = []  # in flight and delayed
        self.counts = [0, 0, 0, 0]  # by state
        self.changed = threading.Condition(lock)
        self.waiting = 0  # long polls waiting on `changed`
        self.deleted = False
        self._tiebreak = itertools.count()
        self.visibility_timeout = self.max_message_size = self.delay_seconds = 0
        self.wait_seconds = self.max_receive_count = 0
        self.dead_letter_queue = ""
        self.configure({})

    def configure(self, settings: dict[str, str]) -> None:
        self.settings.update(settings)
        self.visibility_timeout = int(self.settings["VisibilityTimeout"])
        self.max_message_size = int(self.settings["MaximumMessageSize"])
        self.delay_seconds = int(self.settings["DelaySeconds"])
        self.wait_seconds = int(self.settings["ReceiveMessageWaitTimeSeconds"])
        policy = json.loads(self.settings.get("RedrivePolicy") or "{}")
        self.dead_letter_queue = policy.get("deadLetterTargetArn", "").rsplit(":", 1)[-1]
        self.max_receive_count = int(policy.get("maxReceiveCount", 0))
        self.modified = int(time.time())

    def attributes(self, now: float) -> dict[str, str]:
        self.refresh(now)
        found = dict(self.settings)
        found.update(
            ApproximateNumberOfMessages=str(self.counts[_VISIBLE]),
            ApproximateNumberOfMessagesNotVisible=str(self.counts[_IN_FLIGHT]),
            ApproximateNumberOfMessagesDelayed=str(self.counts[_DELAYED]),
            CreatedTimestamp=str(self.created),
            LastModifiedTimestamp=str(self.modified),
            QueueArn=self.arn,
        )
        return found

    # State changes: every one bumps the message's generation and keeps the counts.

    def move(self, message: _Message, state: int, at: float = 0.0) -> None:
        counts = self.counts
        counts[message.state] -= 1
        counts[state] += 1
        message.state = state
        message.generation = generation = message.generation + 1
        if state == _VISIBLE:
            self.visible.append((message, generation))
        else:
            message.visible_at = at
            heapq.heappush(self.timers, (at, next(self._tiebreak), message, generation))

    def add(self, message: _Message, delay: int, now: float) -> None:
        self.messages[message.message_id] = message
        message.state = _GONE
        if delay:
            self.move(message, _DELAYED, now + delay)
        else:
            self.move(message, _VISIBLE)

    def remove(self, message: _Message) -> None:
        self.counts[message.state] -= 1
        message.state = _GONE
        message.generation += 1
        del self.messages[message.message_id]

    def adopt(self, message: _Message, source_arn: str) -> None:
        """Take a message redriven from another queue: visible at once, new receipts."""
        message.receipt_tokens = []
        message.source_arn = source_arn
        self.add(message, 0, 0.0)
        self.wake(1)

    def clear(self) -> None:
        for message in self.messages.values():
            message.state = _GONE
        self.messages.clear()
        self.visible.clear()
        self.timers.clear()
        self.counts = [0, 0, 0, 0]

    def refresh(self, now: float) -> None:
        """Make visible every in-flight or delayed message whose time has come."""
        timers = self.timers
        woken = 0
        while timers and timers[0][0] <= now:
            _, _, message, generation = heapq.heappop(timers)
            if message.generation == generation:
                self.move(message, _VISIBLE)
                woken += 1
        if woken:
            self.wake(woken)

    def next_due(self) -> float | None:
        return self.timers[0][0] if self.timers else None

    def wake(self, count: int) -> None:
        if self.waiting:
            self.changed.notify(count)

    def take(
        self, count: int, visibility: int, now: float, dead_letter: _Queue | None
    ) -> list[_Message]:
        """Receive up to ``count`` visible messages, redriving those received too often."""
        self.refresh(now)
        visible = self.visible
        taken: list[_Message] = []
        now_ms = _now_ms()
        while visible and len(taken) < count:
            message, generation = visible.popleft()
            if message.generation != generation:
                continue  # stale: the message changed state since
            if dead_letter is not None and message.receive_count >= self.max_receive_count:
                self.remove(message)
                dead_letter.adopt(message, self.arn)
                continue
            message.receive_count += 1
            message.first_received_ms = message.first_received_ms or now_ms
            message.receipt_tokens.append(f"{next(_receipt_tokens):x}")
            self.move(message, _IN_FLIGHT, now + visibility)
            taken.append(message)
        self.compact()
        return taken

    def receipt(self, message: _Message) -> str:
        tokens = message.receipt_tokens
        return f"{self.uid}:{len(tokens)}:{tokens[-1]}:{message.message_id}"

    def find(self, receipt: object) -> _Message | None:
        """Return the message a receipt was issued for; None if it is gone from the queue.

        Raises:
            SQSError: the receipt was never issued by this queue.
        """
        parts = receipt.split(":", 3) if isinstance(receipt, str) else ()
        if len(parts) != 4 or parts[0] != self.uid or not parts[1].isdigit():  # noqa: PLR2004 - its 4 fields
            raise _receipt_invalid(str(receipt))
        message = self.messages.get(parts[3])
        if message is None:
            return None
        index = int(parts[1])
        tokens = message.receipt_tokens
        if not 1 <= index <= len(tokens) or tokens[index - 1] != parts[2]:
            raise _receipt_invalid(str(receipt))
        return message

    def compact(self) -> None:
        """Drop stale heap and deque entries once they outnumber live ones (amortised O(1))."""
        counts = self.counts
        if len(self.timers) > 2 * (counts[_IN_FLIGHT] + counts[_DELAYED]) + _COMPACT_SLACK:
            self.timers = [t for t in self.timers if t[2].generation == t[3]]
            heapq.heapify(self.timers)
        if len(self.visible) > 2 * counts[_VISIBLE] + _COMPACT_SLACK:
            self.visible = collections.deque(e for e in self.visible if e[0].generation == e[1])


# -- the backend --------------------------------------------------------------------------


class SQSBackend:
    """SQS's queues and messages, behind one lock; calls take and return JSON objects.

    Args:
        region: the region in queue ARNs.
    """

    def __init__(self, region: str = DEFAULT_REGION) -> None:
        self.region = region
        self._lock = threading.Lock()
        self._queues: dict[str, _Queue] = {}
        self._uids = itertools.count(1)
        self._closed = False
        self._actions: dict[str, Callable[[Json, str], Json]] = {
            "CreateQueue": self.create_queue,
            "GetQueueUrl": self.get_queue_url,
            "GetQueueAttributes": self.get_queue_attributes,
            "SetQueueAttributes": self.set_queue_attributes,
            "DeleteQueue": self.delete_queue,
            "PurgeQueue": self.purge_queue,
            "ListQueues": self.list_queues,
            "SendMessage": self.send_message,
            "SendMessageBatch": self.send_message_batch,
            "ReceiveMessage": self.receive_message,
            "DeleteMessage": self.delete_message,
            "DeleteMessageBatch": self.delete_message_batch,
            "ChangeMessageVisibility": self.change_message_visibility,
            "ChangeMessageVisibilityBatch": self.change_message_visibility_batch,
        }

    def call(self, action: str, params: Json, base_url: str) -> Json:
        """Run an SQS action; ``base_url`` (``http://host:port``) starts queue URLs.

        Raises:
            SQSError: what SQS would answer with an error.
        """
        run = self._actions.get(action)
        if run is None:
            raise SQSError(
                "UnsupportedOperation",
                f"fast_sqs does not emulate the action {action!r}",
                query_code="AWS.SimpleQueueService.UnsupportedOperation",
            )
        return run(params, base_url)

    def close(self) -> None:
        """End every long poll now, and every later one at once."""
        with self._lock:
            self._closed = True
            for queue in self._queues.values():
                queue.changed.notify_all()

    def waiting(self, queue_name: str) -> int:
        """Return how many ReceiveMessage calls wait on a queue (for tests)."""
        with self._lock:
            queue = self._queues.get(queue_name)
            return queue.waiting if queue else 0

    def _queue(self, params: Json) -> _Queue:
        """Return the queue named by ``QueueUrl``; the caller holds the lock."""
        queue = self._queues.get(_queue_name_of(str(_required(params, "QueueUrl"))))
        if queue is None:
            raise _queue_does_not_exist()
        return queue

    # -- queues ------------------------------------------------------------------------

    def create_queue(self, params: Json, base_url: str) -> Json:
        """CreateQueue: the queue's URL; the same again is fine, other attributes are not."""
        name = _required(params, "QueueName")
        if not isinstance(name, str) or not _QUEUE_NAME.fullmatch(name):
            if isinstance(name, str) and name.endswith(".fifo"):
                raise _unsupported("FIFO queues")
            raise _invalid_parameter(
                "Can only include alphanumeric characters, hyphens, or underscores. "
                "1 to 80 in length"
            )
        with self._lock:
            settings = self._settings(params.get("Attributes") or {}, name)
            queue = self._queues.get(name)
            if queue is None:
                arn = f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{name}"
                queue = _Queue(name, arn, f"q{next(self._uids)}", self._lock)
                queue.configure(settings)
                self._queues[name] = queue
            elif any(queue.settings.get(key) != value for key, value in settings.items()):
                raise SQSError(
                    "QueueNameExists",
                    "The specified queue already exists.",
                    query_code="QueueAlreadyExists",
                )
        return {"QueueUrl": f"{base_url}/{ACCOUNT_ID}/{name}"}

    def _settings(self, attributes: Json, queue_name: str) -> dict[str, str]:
        """Return attributes as the queue stores them; the caller holds the lock."""
        settings: dict[str, str] = {}
        for name, value in attributes.items():
            if name in _INT_ATTRIBUTES:
                _, low, high = _INT_ATTRIBUTES[name]
                try:
                    number = int(value)
                except (TypeError, ValueError):
                    number = low - 1
                if not low <= number <= high:
                    raise SQSError(
                        "InvalidAttributeValue", f"Invalid value for the parameter {name}."
                    )
                settings[name] = str(number)
            elif name == "RedrivePolicy":
                settings[name] = self._redrive_policy(value, queue_name)
            elif name in ("FifoQueue", "ContentBasedDeduplication") and value != "false":
                raise _unsupported("FIFO queues")
            else:
                raise SQSError("InvalidAttributeName", f"Unknown Attribute {name}.")
        return settings

    def _redrive_policy(self, value: object, queue_name: str) -> str:
        invalid = f"Value {value} for parameter RedrivePolicy is invalid. Reason: "
        try:
            policy = json.loads(value) if isinstance(value, str) else None
            arn = policy["deadLetterTargetArn"]  # type: ignore[index]
            count = int(policy["maxReceiveCount"])  # type: ignore[index]
        except (ValueError, TypeError, KeyError) as exc:
            raise _invalid_parameter(invalid + "Redrive policy is not a valid JSON map.") from exc
        if not 1 <= count <= MAX_RECEIVE_COUNT:
            raise _invalid_parameter(invalid + "Invalid value for maxReceiveCount.")
        target = str(arn).rsplit(":", 1)[-1]
        if target == queue_name or target not in self._queues:
            raise _invalid_parameter(invalid + "Dead letter target does not exist.")
        return json.dumps(
            {"deadLetterTargetArn": arn, "maxReceiveCount": count}, separators=(",", ":")
        )

    def get_queue_url(self, params: Json, base_url: str) -> Json:
        """GetQueueUrl."""
        name = _required(params, "QueueName")
        with self._lock:
            if name not in self._queues:
                raise _queue_does_not_exist()
        return {"QueueUrl": f"{base_url}/{ACCOUNT_ID}/{name}"}

    def get_queue_attributes(self, params: Json, _: str) -> Json:
        """GetQueueAttributes: ``All`` or the named ones the queue has."""
        names = params.get("AttributeNames") or []
        for name in names:
            if name not in _QUEUE_ATTRIBUTE_NAMES:
                raise SQSError("InvalidAttributeName", f"Unknown Attribute {name}.")
        if not names:
            return {}
        with self._lock:
            found = self._queue(params).attributes(time.monotonic())
        if "All" not in names:
            found = {name: found[name] for name in names if name in found}
        return {"Attributes": found} if found else {}

    def set_queue_attributes(self, params: Json, _: str) -> Json:
        """SetQueueAttributes: as CreateQueue takes them; messages in flight keep theirs."""
        with self._lock:
            queue = self._queue(params)
            queue.configure(self._settings(_required(params, "Attributes"), queue.name))
        return {}

    def delete_queue(self, params: Json, _: str) -> Json:
        """DeleteQueue: at once (SQS takes up to 60 s); its long polls return empty."""
        with self._lock:
            queue = self._queue(params)
            del self._queues[queue.name]
            queue.deleted = True
            queue.changed.notify_all()
        return {}

    def purge_queue(self, params: Json, _: str) -> Json:
        """PurgeQueue: at once, and as often as asked (SQS: once a minute)."""
        with self._lock:
            self._queue(params).clear()
        return {}

    def list_queues(self, params: Json, base_url: str) -> Json:
        """ListQueues, by name prefix, paged with ``MaxResults`` and ``NextToken``."""
        prefix = params.get("QueueNamePrefix") or ""
        limit = _int(params, "MaxResults", 1, MAX_LIST_RESULTS, None)
        after = params.get("NextToken") or ""
        with self._lock:
            names = sorted(n for n in self._queues if n.startswith(prefix) and n > after)
        page = names[: limit or MAX_LIST_RESULTS]
        result: Json = {}
        if page:
            result["QueueUrls"] = [f"{base_url}/{ACCOUNT_ID}/{name}" for name in page]
        if limit and len(names) > limit:
            result["NextToken"] = page[-1]
        return result

    # -- messages ----------------------------------------------------------------------

    def send_message(self, params: Json, _: str) -> Json:
        """SendMessage."""
        message, delay, size = _prepared(params, _now_ms())
        with self._lock:
            queue = self._queue(params)
            if size > queue.max_message_size:
                raise _invalid_parameter(
                    "One or more parameters are invalid. Reason: Message must be shorter "
                    f"than {queue.max_message_size} bytes."
                )
            queue.add(message, queue.delay_seconds if delay is None else delay, time.monotonic())
            queue.wake(1)
        return _sent(message)

    def send_message_batch(self, params: Json, _: str) -> Json:
        """SendMessageBatch: entries fail alone (bad body, too long); the call for a bad batch."""
        entries = _batch_entries(params, "SendMessageBatch")
        prepared: list[tuple[str, _Message | SQSError, int | None, int]] = []
        total = 0
        sent_ms = _now_ms()
        for entry in entries:
            try:
                message, delay, size = _prepared(entry, sent_ms)
            except SQSError as error:
                prepared.append((entry["Id"], error, None, 0))
                continue
            total += size
            prepared.append((entry["Id"], message, delay, size))
        if total > MAX_BATCH_BYTES:
            raise _batch_error(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. "
                f"You have sent {total} bytes.",
            )
        successful: list[Json] = []
        failed: list[Json] = []
        with self._lock:
            queue = self._queue(params)
            now = time.monotonic()
            for entry_id, message, delay, size in prepared:
                if isinstance(message, SQSError):
                    failed.append(message.entry(entry_id))
                elif size > queue.max_message_size:
                    failed.append(
                        _invalid_parameter(
                            f"One or more parameters are invalid. Reason: Message must be "
                            f"shorter than {queue.max_message_size} bytes."
                        ).entry(entry_id)
                    )
                else:
                    queue.add(message, queue.delay_seconds if delay is None else delay, now)
                    successful.append({"Id": entry_id, **_sent(message)})
            queue.wake(len(successful))
        return {"Successful": successful, "Failed": failed}

    def receive_message(self, params: Json, _: str) -> Json:
        """ReceiveMessage: waits up to ``WaitTimeSeconds`` for a first message, no longer."""
        count = _int(params, "MaxNumberOfMessages", 1, MAX_BATCH_ENTRIES, 1) or 1
        wait = _int(params, "WaitTimeSeconds", 0, MAX_WAIT_SECONDS, None)
        visibility = _int(params, "VisibilityTimeout", 0, MAX_VISIBILITY_TIMEOUT, None)
        names = {
            *(params.get("AttributeNames") or ()),
            *(params.get("MessageSystemAttributeNames") or ()),
        }
        attribute_names = params.get("MessageAttributeNames") or ()
        with self._lock:
            queue = self._queue(params)
            wait = queue.wait_seconds if wait is None else wait
            visibility = queue.visibility_timeout if visibility is None else visibility
            now = time.monotonic()
            deadline = now + wait
            while True:
                dead_letter = (
                    self._queues.get(queue.dead_letter_queue) if queue.dead_letter_queue else None
                )
                taken = queue.take(count, visibility, now, dead_letter)
                if taken or self._closed or queue.deleted or now >= deadline:
                    break
                due = queue.next_due()
                timeout = deadline - now if due is None else min(deadline, due) - now
                queue.waiting += 1
                try:
                    queue.changed.wait(max(timeout, 0.0))
                finally:
                    queue.waiting -= 1
                now = time.monotonic()
            if queue.counts[_VISIBLE]:
                queue.wake(1)  # more than this call took: pass the word on
            messages = [
                self._message_out(queue, message, names, attribute_names) for message in taken
            ]
        return {"Messages": messages} if messages else {}

    @staticmethod
    def _message_out(
        queue: _Queue, message: _Message, names: set[str], attribute_names: Iterable[str]
    ) -> Json:
        out: Json = {
            "MessageId": message.message_id,
            "ReceiptHandle": queue.receipt(message),
            "MD5OfBody": message.md5,
            "Body": message.body,
        }
        if names:
            attributes = message.attributes(names)
            if attributes:
                out["Attributes"] = attributes
        wanted = _wanted_attributes(message.message_attributes, attribute_names)
        if wanted:
            out["MessageAttributes"] = wanted
            out["MD5OfMessageAttributes"] = _attributes_md5(wanted)
        return out

    def delete_message(self, params: Json, _: str) -> Json:
        """DeleteMessage: a receipt of a message already gone deletes nothing, and succeeds."""
        with self._lock:
            queue = self._queue(params)
            self._delete(queue, _required(params, "ReceiptHandle"))
            queue.compact()
        return {}

    def delete_message_batch(self, params: Json, _: str) -> Json:
        """DeleteMessageBatch: a receipt never issued fails its entry."""
        entries = _batch_entries(params, "DeleteMessageBatch")
        with self._lock:
            queue = self._queue(params)
            successful, failed = self._each(
                entries, lambda entry: self._delete(queue, entry.get("ReceiptHandle"))
            )
            queue.compact()
        return {"Successful": successful, "Failed": failed}

    @staticmethod
    def _delete(queue: _Queue, receipt: object) -> None:
        message = queue.find(receipt)
        if message is not None:
            queue.remove(message)

    def change_message_visibility(self, params: Json, _: str) -> Json:
        """ChangeMessageVisibility of a message in flight; 0 makes it visible at once."""
        timeout = _int(params, "VisibilityTimeout", 0, MAX_VISIBILITY_TIMEOUT, None)
        with self._lock:
            queue = self._queue(params)
            self._change(queue, _required(params, "ReceiptHandle"), timeout)
            queue.compact()
        return {}

    def change_message_visibility_batch(self, params: Json, _: str) -> Json:
        """ChangeMessageVisibilityBatch: entries fail alone, as in ChangeMessageVisibility."""
        entries = _batch_entries(params, "ChangeMessageVisibilityBatch")
        with self._lock:
            queue = self._queue(params)

            def change(entry: Json) -> None:
                timeout = _int(entry, "VisibilityTimeout", 0, MAX_VISIBILITY_TIMEOUT, None)
                self._change(queue, entry.get("ReceiptHandle"), timeout)

            successful, failed = self._each(entries, change)
            queue.compact()
        return {"Successful": successful, "Failed": failed}

    @staticmethod
    def _change(queue: _Queue, receipt: object, timeout: int | None) -> None:
        if timeout is None:
            raise SQSError(
                "MissingParameter", "The request must contain the parameter VisibilityTimeout."
            )
        now = time.monotonic()
        queue.refresh(now)
        message = queue.find(receipt)
        if message is None:
            raise _invalid_parameter(
                f"Value {receipt} for parameter ReceiptHandle is invalid. Reason: Message does "
                "not exist or is not available for visibility timeout change."
            )
        if message.state != _IN_FLIGHT:
            raise SQSError(
                "MessageNotInflight",
                "The message referred to isn't in flight.",
                query_code="AWS.SimpleQueueService.MessageNotInflight",
            )
        if timeout:
            queue.move(message, _IN_FLIGHT, now + timeout)
        else:
            queue.move(message, _VISIBLE)
            queue.wake(1)

    @staticmethod
    def _each(
        entries: Iterable[Json], apply: Callable[[Json], None]
    ) -> tuple[list[Json], list[Json]]:
        successful: list[Json] = []
        failed: list[Json] = []
        for entry in entries:
            try:
                apply(entry)
            except SQSError as error:
                failed.append(error.entry(entry["Id"]))
            else:
                successful.append({"Id": entry["Id"]})
        return successful, failed


# -- HTTP ---------------------------------------------------------------------------------

_MAX_HEAD = 65_536
_MAX_BODY = 4 * MAX_BATCH_BYTES  # a full batch JSON-escaped, with margin
_RECV_SIZE = 65_536
_JSON_TYPE = "application/x-amz-json-1.0"
# The request headers fast_sqs reads, found with one search; it skips the others unparsed.
_HEADER = re.compile(
    rb"^(host|content-length|x-amz-target|connection|expect|transfer-encoding)"
    rb"[ \t]*:[ \t]*(.*?)[ \t]*\r?$",
    re.IGNORECASE | re.MULTILINE,
)


def _request(method: bytes, headers: dict[bytes, bytes], body: bytes) -> tuple[str, Json]:
    """Return a request's SQS action and parameters, or raise why it is not an SQS call."""
    if method != b"POST":
        raise SQSError("UnsupportedOperation", "fast_sqs answers POST / only", status=405)
    service, _, action = headers.get(b"x-amz-target", b"").decode("latin-1").partition(".")
    if service != "AmazonSQS":
        raise SQSError(
            "UnsupportedOperation",
            "fast_sqs speaks SQS's JSON protocol only (X-Amz-Target: AmazonSQS.<Action>)",
        )
    try:
        params = json.loads(body) if body else {}
    except ValueError as exc:
        raise SQSError("SerializationException", f"The request body is not JSON: {exc}") from exc
    if not isinstance(params, dict):
        raise SQSError("SerializationException", "The request body is not a JSON object")
    return action, params


def _respond(
    backend: SQSBackend, method: bytes, headers: dict[bytes, bytes], body: bytes
) -> tuple[int, bytes, str]:
    """Answer one request: status, JSON body, extra header lines."""
    try:
        action, params = _request(method, headers, body)
        host = headers.get(b"host", b"127.0.0.1").decode("latin-1")
        result = backend.call(action, params, f"http://{host}")
    except SQSError as error:
        query_error = f"x-amzn-query-error: {error.query_code};{error.fault}\r\n"
        return error.status, error.body(), query_error
    except Exception as exc:  # a bug here must answer 500, not drop the connection
        logger.exception("fast_sqs failed a call")
        failure = SQSError("InternalError", f"fast_sqs failed: {exc!r}", status=500)
        return failure.status, failure.body(), "x-amzn-query-error: InternalError;Receiver\r\n"
    return 200, json.dumps(result).encode(), ""


class _Handler(socketserver.BaseRequestHandler):
    """Serves one connection's requests in turn (HTTP/1.1 keep-alive).

    Reads the head of a request with as few ``recv`` calls as it takes (one, for an
    SQS call) and answers with one ``sendall``: no per-line reads, no email parser.
    """

    server: _Server

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""  # bytes received after the last request read

    def handle(self) -> None:
        try:
            while self._serve_one():
                pass
        except (ConnectionError, TimeoutError):
            return  # the client went away

    def _serve_one(self) -> bool:
        """Serve one request; return whether the connection stays open."""
        head = self._read_head()
        if head is None:
            return False
        request_line, _, fields = head.partition(b"\r\n")
        parts = request_line.split()
        headers: dict[bytes, bytes] = {n.lower(): v for n, v in _HEADER.findall(fields)}
        length = headers.get(b"content-length", b"0")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1.") or not length.isdigit():  # noqa: PLR2004 - method, target, version
            return self._refuse(400, "malformed request")
        if b"transfer-encoding" in headers:
            return self._refuse(501, "chunked requests are not supported")
        if int(length) > _MAX_BODY:
            return self._refuse(413, "request body too large")
        if headers.get(b"expect", b"").lower() == b"100-continue":
            self.request.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self._read_body(int(length))
        if body is None:
            return False
        connection = headers.get(b"connection", b"").lower()
        keep_alive = (
            connection != b"close" if parts[2] == b"HTTP/1.1" else connection == b"keep-alive"
        )
        status, payload, extra = _respond(self.server.backend, parts[0], headers, body)
        self._write(status, payload, extra, close=not keep_alive)
        return keep_alive

    def _read_head(self) -> bytes | None:
        """Return the request line and headers, or None if the connection ends first."""
        buffer = self._buffer.lstrip(b"\r\n")  # empty lines before a request are allowed
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            chunk = self.request.recv(_RECV_SIZE)
            if not chunk or len(buffer) > _MAX_HEAD:
                return None
            buffer = (buffer + chunk).lstrip(b"\r\n")
        self._buffer = buffer[end + 4 :]
        return buffer[:end]

    def _read_body(self, length: int) -> bytes | None:
        """Return the next ``length`` bytes, or None if the connection ends first."""
        chunks = [self._buffer]
        received = len(self._buffer)
        while received < length:
            chunk = self.request.recv(max(length - received, _RECV_SIZE))
            if not chunk:
                return None
            chunks.append(chunk)
            received += len(chunk)
        data = b"".join(chunks)
        self._buffer = data[length:]
        return data[:length]

    def _refuse(self, status: int, message: str) -> bool:
        """Answer a request that is not HTTP fast_sqs reads, and close: return False."""
        self._write(status, json.dumps({"message": message}).encode(), "", close=True)
        return False

    def _write(self, status: int, payload: bytes, extra: str, *, close: bool) -> None:
        head = (
            f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n"
            f"Content-Type: {_JSON_TYPE}\r\nContent-Length: {len(payload)}\r\n"
            f"x-amzn-RequestId: {_new_id()}\r\n{extra}"
            f"{'Connection: close' if close else 'Connection: keep-alive'}\r\n\r\n"
        )
        self.request.sendall(head.encode("latin-1") + payload)  # one write: head and body


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # not 5: a worker with many threads connects all at once

    def __init__(self, port: int, backend: SQSBackend) -> None:
        self.backend = backend
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:  # noqa: ANN401 - socketserver's types
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:  # noqa: ANN401 - socketserver's types
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ANN401 - socketserver's types
        # socketserver calls this from inside its `except Exception:` block.
        logger.exception("fast_sqs: error serving %s", client_address)  # noqa: LOG004

    def close_connections(self) -> None:
        """Shut every open connection, so that the threads serving them end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue


class FastSQS:
    """The emulator on 127.0.0.1: ``start()`` serves from a background thread.

    Args:
        port: the TCP port; 0 for any free one (see `url` once started).
        region: the region in queue ARNs.
    """

    def __init__(self, port: int = 0, *, region: str = DEFAULT_REGION) -> None:
        self.backend = SQSBackend(region)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The endpoint URL, ``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError("FastSQS is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FastSQS:
        """Listen and serve from a daemon thread; return self."""
        if self._server is not None:
            raise RuntimeError("FastSQS is already started")
        self._server = _Server(self._port, self.backend)
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="fast-sqs"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: end long polls, close connections and the listening socket."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.backend.close()
        server.shutdown()
        thread.join()
        server.close_connections()
        server.server_close()
        self._server = self._thread = None

    def waiting(self, queue_name: str) -> int:
        """Return how many ReceiveMessage calls wait on a queue (for tests)."""
        return self.backend.waiting(queue_name)

    def __enter__(self) -> FastSQS:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve in the foreground until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9324, help="0: any free port")
    parser.add_argument("--region", default=DEFAULT_REGION, help="the region in queue ARNs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    # Blocked here, so in every thread started after: only sigwait below receives them.
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    sqs = FastSQS(args.port, region=args.region).start()
    try:
        print(f"fast_sqs listening on {sqs.url}", flush=True)
        signal.sigwait(stop_signals)
    finally:
        sqs.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
