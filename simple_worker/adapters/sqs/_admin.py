"""Operator actions on SQS queues, through boto3: read, create, update, purge, move messages.

The ``simple-worker`` command's queue operations (``queues create``, ``check``,
``stats``, ``redrive``, ``purge``) go through `SQSAdmin`. The library itself never
creates, changes or purges a queue; these are explicit operator steps, like
``aws sqs create-queue``. Like `sqs`, a module that may import boto3: botocore's
errors are translated here (`translate_errors`), so the command never sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, cast
from urllib.parse import urlparse

from simple_worker.adapters.sqs._admin_shapes import (
    MovedBatch,
    MoveTask,
    QueueDetails,
    RedrivePolicy,
    Route,
    message_size,
    queue_details,
    send_entry,
)
from simple_worker.adapters.sqs._errors import translate_errors
from simple_worker.adapters.sqs._shapes import (
    BatchOutcome,
    delete_entries,
    run_batch,
    settle_receipts,
)
from simple_worker.domain._errors import ConfigurationError, QueueNotFound, QueueServiceError
from simple_worker.ports.queue import MAX_BATCH_SIZE, QueuePort

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

# Endpoints of AWS itself (regional, FIPS, VPC endpoints, China, dual-stack), where SQS's
# message move tasks exist; emulators (moto, ElasticMQ) mostly lack them.
_AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")


class SQSAdmin:
    """Operator actions on SQS queues, with the same client (endpoint, region, retries) as the app.

    Args:
        client: a boto3 SQS client.
    """

    def __init__(self, client: SQSClient) -> None:
        self._client = client

    @classmethod
    def of(cls, queue: QueuePort) -> SQSAdmin:
        """Return an `SQSAdmin` sharing the client of an app's SQS adapter.

        Raises:
            ConfigurationError: ``queue`` is not the SQS adapter (testing mode, or a
                third-party `QueuePort`): these operations exist for SQS only.
        """
        from simple_worker.adapters.sqs._queue import SQSQueue  # noqa: PLC0415 - boto3 only when needed

        if not isinstance(queue, SQSQueue):
            raise ConfigurationError(
                f"This command works on SQS queues, and the app's queue is a "
                f"{type(queue).__name__}: load an App built for SQS (not testing_mode)."
            )
        # SQSQueue offers no public accessor for its client yet; this module is its sibling.
        return cls(queue.client)

    @property
    def endpoint(self) -> str:
        """The endpoint URL the client talks to."""
        return str(self._client.meta.endpoint_url)

    @property
    def supports_move_tasks(self) -> bool:
        """Whether the endpoint is AWS's own, where ``StartMessageMoveTask`` exists.

        Emulators such as moto answer it with an error, so anything else uses the
        receive/send/delete fallback unless told otherwise.
        """
        host = urlparse(self.endpoint).hostname or ""
        return host.endswith(_AWS_HOST_SUFFIXES)

    def find(self, name: str) -> QueueDetails | None:
        """Return the queue's details, or None when it does not exist.

        Raises:
            QueueServiceError: SQS refused the calls (permissions) or did not answer.
        """
        try:
            return self.details(name)
        except QueueNotFound:
            return None

    def details(self, name: str) -> QueueDetails:
        """Read the queue's settings and counts (``GetQueueUrl``, ``GetQueueAttributes``).

        Raises:
            QueueNotFound: the queue does not exist.
            QueueServiceError: SQS refused the calls (permissions) or did not answer.
        """
        with translate_errors("GetQueueUrl", name):
            url = self._client.get_queue_url(QueueName=name)["QueueUrl"]
        with translate_errors("GetQueueAttributes", name):
            attributes = self._client.get_queue_attributes(
                QueueUrl=url, AttributeNames=["All"]
            ).get("Attributes", {})
        return queue_details(name, url, cast("dict[str, str]", attributes))

    def create(self, name: str, attributes: Mapping[str, str]) -> QueueDetails:
        """Create the queue with ``attributes`` (``CreateQueue``) and return its details.

        Raises:
            QueueServiceError: SQS refused (for example, the queue was just created
                with other attributes) or did not answer.
        """
        with translate_errors("CreateQueue", name):
            self._client.create_queue(
                QueueName=name, Attributes=cast("Mapping[QueueAttributeNameType, str]", attributes)
            )
        return self.details(name)

    def update(self, queue: QueueDetails, attributes: Mapping[str, str]) -> QueueDetails:
        """Set the queue's ``attributes`` (``SetQueueAttributes``); return its new details.

        Raises:
            QueueNotFound: the queue does not exist any more.
            QueueServiceError: SQS refused or did not answer.
        """
        with translate_errors("SetQueueAttributes", queue.name):
            self._client.set_queue_attributes(
                QueueUrl=queue.url,
                Attributes=cast("Mapping[QueueAttributeNameType, str]", attributes),
            )
        return self.details(queue.name)

    def purge(self, queue: QueueDetails) -> None:
        """Delete every message of the queue (``PurgeQueue``; SQS takes up to 60 s).

        Raises:
            QueueServiceError: SQS refused (one purge per queue per 60 s) or did not answer.
        """
        with translate_errors("PurgeQueue", queue.name):
            self._client.purge_queue(QueueUrl=queue.url)

    def start_move_task(
        self, source: QueueDetails, destination: QueueDetails, max_per_second: int | None
    ) -> str:
        """Start an SQS message move task from ``source`` to ``destination``; return its handle.

        Raises:
            QueueServiceError: SQS refused (not a dead-letter queue, a task already
                running, no such action on this endpoint) or did not answer.
        """
        rate = {} if max_per_second is None else {"MaxNumberOfMessagesPerSecond": max_per_second}
        with translate_errors("StartMessageMoveTask", source.name):
            response = self._client.start_message_move_task(
                SourceArn=source.arn, DestinationArn=destination.arn, **rate
            )
        return response["TaskHandle"]

    def move_task(self, source: QueueDetails, handle: str) -> MoveTask:
        """Return the state of the move task ``handle`` from ``source``.

        Raises:
            QueueServiceError: SQS refused, did not answer, or does not list the task.
        """
        with translate_errors("ListMessageMoveTasks", source.name):
            results = self._client.list_message_move_tasks(SourceArn=source.arn, MaxResults=10).get(
                "Results", []
            )
        # SQS lists the most recent task first, and gives a task's handle only while it
        # runs: once ours has ended, it is the most recent one without a handle.
        ours = [entry for entry in results if entry.get("TaskHandle") == handle]
        ended = [entry for entry in results[:1] if "TaskHandle" not in entry]
        for entry in ours or ended:
            return MoveTask(
                handle=handle,
                status=entry.get("Status", "RUNNING"),
                moved=entry.get("ApproximateNumberOfMessagesMoved", 0),
                to_move=entry.get("ApproximateNumberOfMessagesToMove"),
                failure_reason=entry.get("FailureReason", ""),
            )
        raise QueueServiceError(
            f"SQS does not list the message move task from {source.name} any more; see "
            "the SQS console for its outcome.",
            operation="ListMessageMoveTasks",
            queue=source.name,
        )

    def cancel_move_task(self, source: QueueDetails, handle: str) -> int:
        """Cancel the move task ``handle``; return how many messages it had moved.

        Raises:
            QueueServiceError: SQS refused (the task already ended) or did not answer.
        """
        with translate_errors("CancelMessageMoveTask", source.name):
            response = self._client.cancel_message_move_task(TaskHandle=handle)
        return response.get("ApproximateNumberOfMessagesMoved", 0)

    def move_batch(
        self,
        source: QueueDetails,
        destination: QueueDetails,
        *,
        max_messages: int = MAX_BATCH_SIZE,
        visibility_timeout: int = 30,
        wait_seconds: int = 1,
        run_id: str,
        skip: Collection[str] = (),
        route: Callable[[str], Route] | None = None,
    ) -> MovedBatch:
        """Move up to ``max_messages`` messages: receive, send to ``destination``, delete.

        A message is deleted from ``source`` only after ``destination`` accepted it, so
        an interruption at any point loses nothing: a message received but not sent
        reappears in ``source`` after ``visibility_timeout`` seconds, and one sent but
        not deleted reappears too and is sent again (a duplicate: at-least-once).
        Bodies and message attributes are copied; on a FIFO destination the group id
        is kept, and the deduplication id is ``run_id`` and the message id, so that a
        message received twice in one run is sent once.

        Args:
            source: the queue to move messages from (a dead-letter queue).
            destination: the queue to send them to, of the same type (FIFO or not).
            max_messages: at most this many, 1 to 10.
            visibility_timeout: seconds the received messages stay hidden in ``source``.
            wait_seconds: long-poll time of the receive, 0 to 20.
            run_id: a short string unique to this redrive run.
            skip: message ids that failed or were left earlier in the run; received
                again, they are left in ``source`` without another try.
            route: given a message's body, what to do with it: ``"move"`` (the default
                for all), ``"leave"`` it in ``source`` (hidden until released or
                ``visibility_timeout`` passes; its receipt is in `MovedBatch.left`), or
                ``"drop"`` it: delete it from ``source`` without sending it anywhere.

        Raises:
            QueueNotFound: a queue does not exist any more.
            QueueServiceError: SQS failed a call; what was sent before it has been
                deleted from ``source``, nothing else.
        """
        with translate_errors("ReceiveMessage", source.name):
            received = self._client.receive_message(
                QueueUrl=source.url,
                MaxNumberOfMessages=max_messages,
                WaitTimeSeconds=wait_seconds,
                VisibilityTimeout=visibility_timeout,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
        fresh = [m for m in received if m["MessageId"] not in skip]
        routes = {m["MessageId"]: "move" if route is None else route(m["Body"]) for m in fresh}
        left = {i: m["ReceiptHandle"] for m in fresh if routes[i := m["MessageId"]] == "leave"}
        dropped = [m["ReceiptHandle"] for m in fresh if routes[m["MessageId"]] == "drop"]
        fresh = [m for m in fresh if routes[m["MessageId"]] == "move"]
        too_large = {
            m["MessageId"]: f"MessageTooLong: {size} bytes, over {destination.name}'s "
            f"MaximumMessageSize of {destination.max_message_size} (not sent)"
            for m in fresh
            if (size := message_size(m)) > destination.max_message_size
        }
        fresh = [m for m in fresh if m["MessageId"] not in too_large]
        entries = {
            str(i): send_entry(str(i), m, destination.fifo, run_id) for i, m in enumerate(fresh)
        }
        outcome, error = BatchOutcome(), None
        if entries:
            try:
                with translate_errors("SendMessageBatch", destination.name):
                    run_batch(
                        entries,
                        lambda batch: self._client.send_message_batch(
                            QueueUrl=destination.url, Entries=batch
                        ),
                        outcome,
                    )
            except QueueServiceError as exc:
                error = exc  # delete what was certainly sent first, then report it
        sent = [fresh[int(i)] for i in sorted(outcome.succeeded, key=int)]
        not_deleted: dict[str, str] = {}
        if sent or dropped:
            with translate_errors("DeleteMessageBatch", source.name):
                not_deleted = settle_receipts(
                    delete_entries([m["ReceiptHandle"] for m in sent] + dropped),
                    lambda batch: self._client.delete_message_batch(
                        QueueUrl=source.url, Entries=batch
                    ),
                )
        if error is not None:
            raise error
        sent_not_deleted = sum(m["ReceiptHandle"] in not_deleted for m in sent)
        return MovedBatch(
            received=len(received),
            moved=len(sent) - sent_not_deleted,
            not_deleted=sent_not_deleted,
            dropped=len(dropped) - (len(not_deleted) - sent_not_deleted),
            left=left,
            failed={
                **too_large,
                **{fresh[int(i)]["MessageId"]: why for i, why in outcome.failed.items()},
            },
            skipped=len(received) - len(routes),
        )


__all__ = [
    "MoveTask",
    "MovedBatch",
    "QueueDetails",
    "RedrivePolicy",
    "SQSAdmin",
]
