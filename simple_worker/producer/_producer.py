"""Producing tasks: validate everything, then send. Uses the ports only.

Nothing is sent unless every task of the call is valid: registered, fitting its
handler's signature, plain JSON, with options its queue takes, and within the
queue's size limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import attrs

from simple_worker._large_payloads import PayloadOffload
from simple_worker._middleware import MiddlewareChain
from simple_worker.domain._envelope import encode_envelope
from simple_worker.domain._errors import (
    InvalidTaskOptions,
    MessageTooLarge,
    PositionalPayload,
    SendFailed,
    TaskRefused,
    name_payload,
)
from simple_worker.domain._options import (
    TaskOptions,
    content_deduplication_id,
    group_id_from_payload,
    timing,
)
from simple_worker.domain._payload import check_payload
from simple_worker.domain._queue_rules import check_delay
from simple_worker.domain._registry import Registration, TaskRegistry
from simple_worker.domain._task import Task
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.queue import OutgoingMessage, QueuePort, SendResult

_NO_OPTIONS = TaskOptions()


@attrs.define
class Producer:
    """Turns ``add_task`` calls into messages on the task's queue."""

    registry: TaskRegistry
    queue: QueuePort
    clock: ClockPort
    max_message_size: int
    middleware: MiddlewareChain = attrs.field(factory=MiddlewareChain)
    offload: PayloadOffload | None = None
    """Sends tasks over the size limit through a payload store; without it they are refused."""

    def add_task(
        self, task_name: str, payload: Mapping[str, Any], options: TaskOptions = _NO_OPTIONS
    ) -> str:
        """Validate and send one task; return its id. Raises like `add_tasks`."""
        return self.add_tasks(task_name, [payload], options)[0]

    def add_tasks(
        self,
        task_name: str,
        payloads: Iterable[Mapping[str, Any]],
        options: TaskOptions = _NO_OPTIONS,
    ) -> list[str]:
        """Validate every payload, then send them all; return the task ids in order.

        ``options`` apply to every task, over the registration's defaults.

        Raises:
            UnknownTask: no handler is registered under ``task_name``.
            InvalidPayload: a payload is not plain JSON.
            PayloadMismatch: a payload does not fit the handler's signature.
            InvalidTaskOptions: the options do not fit the task's queue.
            MessageTooLarge: an encoded task is over the queue's size limit (and
                there is no payload store to send it through).
            PayloadStoreError: the payload store failed; nothing was sent.
            QueueNotFound: the task's queue does not exist.
            SendFailed: the queue did not accept every task; says which were sent.
        """
        registration = self.registry.get(task_name)
        payloads = list(payloads)
        if not payloads:
            return []
        limit = min(self.max_message_size, self.queue.describe(registration.queue).max_message_size)
        options = options.over(registration.defaults)
        messages = []
        for index, payload in enumerate(payloads):
            try:
                messages.append(self._encode(registration, payload, options, limit))
            except (TaskRefused, InvalidTaskOptions) as error:
                if len(payloads) > 1:
                    name_payload(error, index)
                raise
        if self.offload is None:
            result = self.queue.send_batch(registration.queue, messages)
        else:
            result = self.offload.send(registration, messages, limit)
        _raise_unless_all_sent(registration.queue, result)
        return [message.id for message in messages]

    def _encode(
        self,
        registration: Registration,
        payload: Mapping[str, Any],
        options: TaskOptions,
        limit: int,
    ) -> OutgoingMessage:
        plain = check_payload(registration.task_name, payload)
        registration.signature.check(plain)
        group_id, deduplication_id = _grouping(registration, plain, options)
        now = self.clock.now()
        when = timing(options, now)
        task = Task(
            name=registration.task_name,
            payload=plain,
            id=uuid.uuid4().hex,
            enqueued_at=now,
            not_before=when.not_before,
        )
        message = OutgoingMessage(
            id=str(task.id),
            body=encode_envelope(task),
            delay_seconds=when.delay_seconds,
            group_id=group_id,
            deduplication_id=deduplication_id,
            attributes=self.middleware.before_send(task),
        )
        size = message.size()
        if size > limit and self.offload is None:
            raise MessageTooLarge(registration.task_name, size=size, limit=limit)
        return message


def _grouping(
    registration: Registration, payload: Mapping[str, Any], options: TaskOptions
) -> tuple[str | None, str | None]:
    """Return the message group id and deduplication id, checked against the queue's kind."""
    name, queue = registration.task_name, registration.queue
    group_id = options.group_id
    if group_id is None and registration.group_by is not None:
        group_id = group_id_from_payload(name, registration.group_by, payload)
    if not registration.fifo:
        if options.deduplication_id is not None:
            raise InvalidTaskOptions(
                f"Task {name!r} goes to {queue}, a standard queue: deduplication ids are "
                "for FIFO queues only."
            )
        return group_id, None
    if group_id is None:
        raise InvalidTaskOptions(
            f"Task {name!r} goes to FIFO queue {queue}, whose messages need a group id: "
            "use app.with_options(group_id=...), or register the task with group_by="
            "'<payload field>'."
        )
    # A not_before is a delay too: it would be sent delayed.
    check_delay(queue, options.delay or (1 if options.not_before else 0), task_name=name)
    return group_id, options.deduplication_id or content_deduplication_id(name, payload)


@attrs.frozen
class TaskSender:
    """Sends tasks with options; made by ``App.with_options(...)``."""

    producer: Producer
    options: TaskOptions

    def add_task(self, task_name: str, /, *positional: NoReturn, **payload: object) -> str:
        """Enqueue one task with these options; as ``App.add_task``."""
        if positional:
            raise PositionalPayload(task_name, len(positional))
        return self.producer.add_task(task_name, payload, self.options)

    def add_tasks(self, task_name: str, payloads: Iterable[Mapping[str, Any]]) -> list[str]:
        """Enqueue many tasks of one name with these options; as ``App.add_tasks``."""
        return self.producer.add_tasks(task_name, payloads, self.options)


def _raise_unless_all_sent(queue: str, result: SendResult) -> None:
    if result.failed or result.unknown:
        raise SendFailed(queue, result.sent, result.failed, result.unknown)
