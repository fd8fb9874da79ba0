"""The SQS adapter: `QueuePort` over Amazon SQS, through boto3.

With its helpers in this package, the only code that imports boto3 or botocore;
every botocore error is translated here into simple-worker's own. Batching,
per-entry retries and reading SQS's answers live in `_shapes`; the shorter way
through botocore of the worker's two hot calls, in `_direct`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar, cast

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from simple_worker.adapters._send_rules import check_receive
from simple_worker.adapters.sqs._calls import CallReporter
from simple_worker.adapters.sqs._clients import (
    client_configuration,
    merged_config,
    refuse_altered_client,
    refuse_client_with_options,
    session_and_region,
)
from simple_worker.adapters.sqs._direct import DirectCalls
from simple_worker.adapters.sqs._errors import error_reason, is_missing_queue, translate_errors
from simple_worker.adapters.sqs._shapes import (
    BatchOutcome,
    delete_entries,
    queue_info,
    queue_stats,
    received_message,
    run_batch,
    send_chunks,
    send_entry,
    settle_receipts,
    visibility_entries,
)
from simple_worker.domain._errors import QueueNotFound
from simple_worker.domain._queue_arn import QueueArn
from simple_worker.ports.queue import (
    MAX_BATCH_SIZE,
    OutgoingMessage,
    QueueCall,
    QueueInfo,
    QueueStats,
    ReceivedMessage,
    SendResult,
    VisibilityChange,
)

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        ReceiveMessageRequestTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

logger = logging.getLogger(__name__)

_NOT_ATTEMPTED = "not attempted: an earlier batch failed"
_Answer = TypeVar("_Answer")


def default_config() -> Config:
    """Return the botocore `Config` a `SQSQueue` builds its client with."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": 5},  # the first call and 4 retries
        connect_timeout=5,
        read_timeout=30,  # above the 20-second long poll, with margin
        max_pool_connections=64,  # up to 8 receives per queue, 8 deletes and the heartbeat
    )


class SQSQueue:
    """A `QueuePort` over Amazon SQS (or an emulator speaking its API).

    Retries: botocore retries throttling, 5xx answers and connection errors itself
    (``standard`` mode, up to 5 retries by default), so this class adds no second retry
    loop around whole calls. The exception is batch entries SQS fails on its own
    side (``SenderFault: false``) inside a successful call, which botocore does not
    see: those are retried here, alone, up to 3 more times (see `sqs_shapes`).

    Each queue's URL and attributes are read once (`describe`) and cached for the
    life of the instance; no other call resolves a URL. Thread-safe: boto3 clients
    are, and the cache is guarded by a lock.

    A client built here makes ReceiveMessage and DeleteMessageBatch by a shorter
    way through botocore (see `_direct`): about half the CPU per call, with
    botocore's endpoint, credentials, signer, HTTP session and, for any answer but
    a plain success, its retries and errors. Those calls do not run the hooks of
    botocore's event system other than ``before-send``: observe calls with
    `add_call_listener`, and give a client of your own (``client=``), which is
    used as is, to hook onto botocore or stub it (``botocore.stub.Stubber``).

    Args:
        client: a boto3 SQS client, used as is; default: one built here.
        session: the boto3 session to build the client from; default: a new one, of
            boto3's own class whatever replaced it, so the standard AWS configuration
            applies (``AWS_ENDPOINT_URL_SQS``, ``AWS_REGION``, profiles, credentials)
            and nothing other libraries hook onto sessions.
        endpoint_url: SQS endpoint, e.g. a local emulator's.
        region: AWS region name.
        config: botocore options, merged over `default_config`.

    Raises:
        ConfigurationError: ``client`` is given with options for building one, the
            AWS configuration cannot make a client (no region, unknown profile), or
            the client's methods are not botocore's (another library replaced them,
            as amazon-sqs-extended-client does once imported).
    """

    def __init__(
        self,
        *,
        client: SQSClient | None = None,
        session: Session | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        config: Config | None = None,
    ) -> None:
        refuse_client_with_options("SQSQueue", client, session, endpoint_url, region, config)
        given = client is not None or session is not None
        self._direct: DirectCalls | None = None
        if client is None:
            session, region = session_and_region(session, region)
            client = self._build_client(session, endpoint_url, region, config)
            self._direct = DirectCalls(client, session.get_credentials())
        self._client = client
        refuse_altered_client("SQSQueue", self._client, given=given)
        self._infos: dict[str, QueueInfo] = {}
        self._lock = threading.Lock()
        self._unanswered = threading.local()
        self._reporters: list[CallReporter] = []
        self._client.meta.events.register(
            "needs-retry.sqs.SendMessageBatch",
            self._note_unanswered,
            unique_id=f"simple-worker-unanswered-{id(self)}",
        )

    def add_call_listener(self, listener: Callable[[QueueCall], None]) -> None:
        """Call ``listener`` after every call of this adapter's client (see `ObservableQueue`)."""
        reporter = CallReporter(listener)
        reporter.register(self._client.meta.events)
        self._reporters.append(reporter)  # for the calls made directly

    def _note_unanswered(self, caught_exception: Exception | None = None, **_: object) -> None:
        """Note an attempt that got no answer (botocore calls this after every attempt).

        SQS may have taken the messages of such an attempt even if botocore's retries
        were then refused, so the send's outcome is unknown, not failed.
        """
        if caught_exception is not None:
            self._unanswered.seen = True

    @staticmethod
    def _build_client(
        session: Session, endpoint_url: str | None, region: str | None, config: Config | None
    ) -> SQSClient:
        with client_configuration("SQS", endpoint_url):
            return session.client(
                "sqs",
                endpoint_url=endpoint_url,
                region_name=region,
                config=merged_config(default_config(), config),
            )

    @property
    def client(self) -> SQSClient:
        """The boto3 SQS client this adapter calls, for operator tools that need more of SQS."""
        return self._client

    def describe(self, queue: str) -> QueueInfo:
        """Return the queue's URL and settings, read from SQS on first use, then cached.

        Args:
            queue: the full queue name.

        Returns:
            The URL, ``MaximumMessageSize``, ``VisibilityTimeout``, whether it is a FIFO
            queue (with content-based deduplication) and, if the queue has a redrive
            policy, its dead-letter queue's name and max receive count.

        Raises:
            QueueNotFound: the queue does not exist.
            QueueServiceError: SQS failed the call.
        """
        info = self._infos.get(queue)
        if info is None:
            with self._lock:  # so a queue is read once, however many threads ask at once
                info = self._infos.get(queue)
                if info is None:
                    info = self._infos[queue] = self._read_info(queue)
        return info

    def describe_arn(self, arn: QueueArn) -> QueueInfo:
        """Return the settings of the queue ``arn`` names, read once, without GetQueueUrl.

        The URL is the client's endpoint followed by the ARN's account and name, the
        form SQS's queue URLs have (an emulator's endpoint gives the emulator's URL);
        the ARN's region is the client's own where an event source mapping sends it.
        Cached under the queue's name, as `describe` caches.

        Raises:
            QueueNotFound: the queue does not exist.
            QueueServiceError: SQS failed the call.
        """
        info = self._infos.get(arn.name)
        if info is None:
            with self._lock:
                info = self._infos.get(arn.name)
                if info is None:
                    endpoint = str(self._client.meta.endpoint_url).rstrip("/")
                    url = f"{endpoint}/{arn.account}/{arn.name}"
                    info = self._infos[arn.name] = self._read_attributes(arn.name, url)
        return info

    def _read_info(self, queue: str) -> QueueInfo:
        with translate_errors("GetQueueUrl", queue):
            url = self._client.get_queue_url(QueueName=queue)["QueueUrl"]
        return self._read_attributes(queue, url)

    def _read_attributes(self, queue: str, url: str) -> QueueInfo:
        with translate_errors("GetQueueAttributes", queue):
            attributes = self._client.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "MaximumMessageSize",
                    "VisibilityTimeout",
                    "RedrivePolicy",
                    "FifoQueue",
                    "ContentBasedDeduplication",
                ],
            ).get("Attributes", {})
        info = queue_info(queue, url, attributes)
        logger.debug("Resolved queue %s: %s", queue, info, extra={"queue": queue})
        return info

    def send_batch(self, queue: str, messages: Sequence[OutgoingMessage]) -> SendResult:
        """Send messages in SendMessageBatch calls of at most 10 entries and 1 MiB.

        Each entry carries the message's delay (when not 0), group id, deduplication
        id and attributes (str as String, int as Number). Entries SQS fails on its
        side are retried alone. A message SQS would refuse (over the queue's
        ``MaximumMessageSize``, body and attributes; a FIFO message without a group
        id; see `send_rules`) is failed here, unsent, so it cannot fail its batch.
        A call SQS refuses fails its entries, unless one of botocore's attempts at
        it got no answer (SQS may have taken them then); a call that got no answer
        (connection dropped, timeout) leaves them unknown. After either, no further call is made:
        the rest are failed as not attempted.

        Args:
            queue: the full queue name.
            messages: any number of messages, with distinct ids.

        Returns:
            Every message's id, in exactly one of ``sent`` (in the given order),
            ``failed`` (with ``"Code: Message"``) or ``unknown``.

        Raises:
            QueueNotFound: the queue does not exist.
            QueueServiceError: the queue's settings could not be read.
            ValueError: two messages share an id.
        """
        if len({message.id for message in messages}) != len(messages):
            raise ValueError("the messages of one send need distinct ids")
        info = self.describe(queue)
        fate: dict[str, str] = {}  # id -> "sent", "unknown", or why it failed
        stopped = False
        for chunk in send_chunks(messages, info, fate):
            if stopped:
                fate.update(dict.fromkeys((m.id for m in chunk), _NOT_ATTEMPTED))
                continue
            entries: dict[str, SendMessageBatchRequestEntryTypeDef] = {
                str(i): send_entry(str(i), m) for i, m in enumerate(chunk)
            }
            outcome, leftover = BatchOutcome(), "unknown"
            self._unanswered.seen = False
            try:
                run_batch(
                    entries,
                    lambda batch: self._client.send_message_batch(QueueUrl=info.url, Entries=batch),
                    outcome,
                )
            except ClientError as exc:
                if is_missing_queue(exc):
                    raise QueueNotFound([queue]) from exc
                stopped = True
                if not getattr(self._unanswered, "seen", False):
                    leftover = error_reason(exc)  # refused, and no earlier attempt went unanswered
            except BotoCoreError as exc:
                # No answer: SQS may still have taken them, even if this last attempt
                # was refused, as botocore retries after timeouts and dropped connections.
                stopped = True
                logger.warning("SendMessageBatch to %s got no answer: %r", queue, exc)
            for entry_id, message in zip(entries, chunk, strict=True):
                sent = entry_id in outcome.succeeded
                fate[message.id] = "sent" if sent else outcome.failed.get(entry_id, leftover)
        result = SendResult(
            sent=tuple(m.id for m in messages if fate[m.id] == "sent"),
            failed={m.id: fate[m.id] for m in messages if fate[m.id] not in ("sent", "unknown")},
            unknown=tuple(m.id for m in messages if fate[m.id] == "unknown"),
        )
        if result.failed or result.unknown:
            # DEBUG: the caller gets all of this in the result, and raises or logs it itself.
            logger.debug(
                "Sent %d of %d messages to %s; not sent: %s; unknown: %s",
                len(result.sent),
                len(messages),
                queue,
                result.failed,
                result.unknown,
                extra={"queue": queue},
            )
        return result

    def receive_batch(
        self,
        queue: str,
        *,
        max_messages: int = MAX_BATCH_SIZE,
        wait_seconds: int = 0,
        visibility_timeout: int | None = None,
    ) -> list[ReceivedMessage]:
        """Receive up to ``max_messages`` with one ReceiveMessage call.

        Args:
            queue: the full queue name.
            max_messages: 1 to 10.
            wait_seconds: long-poll time, 0 to 20; returns as soon as a message is there.
            visibility_timeout: seconds the messages received stay invisible, 0 to
                43,200 (ReceiveMessage's ``VisibilityTimeout``); None: the queue's.

        Returns:
            The messages received, with their receive counts, group ids and message
            attributes; empty after the wait.

        Raises:
            QueueNotFound: the queue does not exist.
            QueueServiceError: SQS failed the call, or did not answer.
            ValueError: ``max_messages`` is not 1 to 10, ``wait_seconds`` not 0 to 20,
                or ``visibility_timeout`` not None or 0 to 43,200.
        """
        check_receive(max_messages, wait_seconds, visibility_timeout)
        request: ReceiveMessageRequestTypeDef = {
            "QueueUrl": self.describe(queue).url,
            "MaxNumberOfMessages": max_messages,
            "WaitTimeSeconds": wait_seconds,
            "MessageAttributeNames": ["All"],
            "MessageSystemAttributeNames": ["ApproximateReceiveCount", "MessageGroupId"],
        }
        if visibility_timeout is not None:
            request["VisibilityTimeout"] = visibility_timeout
        with translate_errors("ReceiveMessage", queue):
            response = self._hot_call(
                "ReceiveMessage", queue, request, lambda: self._client.receive_message(**request)
            )
        return [received_message(queue, message) for message in response.get("Messages", [])]

    def delete_batch(self, queue: str, receipts: Sequence[str]) -> dict[str, str]:
        """Delete received messages with DeleteMessageBatch calls of 10.

        Args:
            queue: the full queue name.
            receipts: any number of receipts.

        Returns:
            ``{receipt: "Code: Message"}`` for each delete SQS refused (after
            retrying those it failed on its side); empty when all were deleted.

        Raises:
            QueueNotFound: the queue does not exist.
            QueueServiceError: SQS failed a whole call, or did not answer.
        """
        url = self.describe(queue).url
        with translate_errors("DeleteMessageBatch", queue):
            return settle_receipts(
                delete_entries(receipts),
                lambda batch: self._hot_call(
                    "DeleteMessageBatch",
                    queue,
                    {"QueueUrl": url, "Entries": batch},
                    lambda: self._client.delete_message_batch(QueueUrl=url, Entries=batch),
                ),
            )

    def _hot_call(
        self,
        operation: str,
        queue: str,
        params: Mapping[str, object],
        through_botocore: Callable[[], _Answer],
    ) -> _Answer:
        """Make a hot call directly if this client can (see `_direct`), else through botocore."""
        answer = None if self._direct is None else self._direct.call(operation, params)
        if answer is None:
            return through_botocore()
        received = len(answer.get("Messages") or ()) if operation == "ReceiveMessage" else None
        for reporter in self._reporters:
            reporter.report(QueueCall(operation, queue, received=received))
        return cast("_Answer", answer)  # SQS's JSON, as botocore would have parsed it

    def change_visibility_batch(
        self, queue: str, changes: Sequence[VisibilityChange]
    ) -> dict[str, str]:
        """Change visibility timeouts with ChangeMessageVisibilityBatch calls of 10.

        Args:
            queue: the full queue name.
            changes: any number of receipts, each with its new timeout in seconds.

        Returns:
            ``{receipt: "Code: Message"}`` for each change SQS refused (after
            retrying those it failed on its side); empty when all were changed.

        Raises:
            QueueNotFound: the queue does not exist.
            QueueServiceError: SQS failed a whole call, or did not answer.
        """
        url = self.describe(queue).url
        with translate_errors("ChangeMessageVisibilityBatch", queue):
            return settle_receipts(
                visibility_entries(changes),
                lambda batch: self._client.change_message_visibility_batch(
                    QueueUrl=url, Entries=batch
                ),
            )

    def stats(self, queue: str) -> QueueStats:
        """Return SQS's approximate message counts for the queue.

        Args:
            queue: the full queue name.

        Returns:
            The visible, in-flight (not visible) and delayed message counts.

        Raises:
            QueueNotFound: the queue does not exist.
            QueueServiceError: SQS failed the call, or did not answer.
        """
        url = self.describe(queue).url
        with translate_errors("GetQueueAttributes", queue):
            attributes = self._client.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            ).get("Attributes", {})
        return queue_stats(attributes)
