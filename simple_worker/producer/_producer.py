"""Producing tasks: validate everything, then send. Uses the ports only.

Nothing is sent unless every task of the call is valid: registered, fitting its
handler's signature, plain JSON, with options its queue takes, and within the
queue's size limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from typing import Any

import attrs

from simple_worker._large_payloads import PayloadOffload, Staged
from simple_worker._middleware import MiddlewareChain
from simple_worker.domain._envelope import encode_envelope
from simple_worker.domain._errors import (
    InvalidTaskOptions,
    MessageTooLarge,
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
from simple_worker.ports.queue import OutgoingMessage, QueuePort
from simple_worker.producer._coalescer import Coalescer
from simple_worker.producer._in_flight import send_in_flight

_NO_OPTIONS = TaskOptions()

DEFAULT_SEND_CONCURRENCY = 16
"""SendMessageBatch calls one ``add_tasks`` keeps in flight; see docs/decisions.md."""


@attrs.frozen
class Prepared:
    """Validated messages of one call, ready to send to their task's queue."""

    registration: Registration
    messages: list[OutgoingMessage]


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
    send_concurrency: int = DEFAULT_SEND_CONCURRENCY
    """The most SendMessageBatch calls of one ``add_tasks`` in flight at once."""
    coalescer: Coalescer | None = None
    """Where single tasks share calls with other callers' (``send_window``); None: each alone."""

    def add_task(
        self, task_name: str, payload: Mapping[str, Any], options: TaskOptions = _NO_OPTIONS
    ) -> str:
        """Validate and send one task; return its id. Raises like `add_tasks`.

        With a coalescer, the task shares a call with other callers' tasks; a
        `SendFailed` then names this task alone.
        """
        prepared = self.prepare(task_name, [payload], options)
        if self.coalescer is not None:
            future = self.submit(prepared, self.coalescer)
            if future is not None:
                future.result()
                return prepared.messages[0].id
        return self.send(prepared)[0]

    def add_tasks(
        self,
        task_name: str,
        payloads: Iterable[Mapping[str, Any]],
        options: TaskOptions = _NO_OPTIONS,
    ) -> list[str]:
        """Validate every payload, then send them all; return the task ids in order.

        ``options`` apply to every task, over the registration's defaults. Up to
        ``send_concurrency`` SendMessageBatch calls are in flight at once; on a FIFO
        queue a message group's batches go one after the other, in order.

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
        return self.send(self.prepare(task_name, payloads, options))

    def prepare(
        self,
        task_name: str,
        payloads: Iterable[Mapping[str, Any]],
        options: TaskOptions = _NO_OPTIONS,
    ) -> Prepared:
        """Validate and encode every payload; raises as `add_tasks`, before anything is sent."""
        prepared = self.encode(task_name, payloads, options)
        if prepared.messages:
            self.check_size(prepared, self.limit(prepared.registration))
        return prepared

    def encode(
        self,
        task_name: str,
        payloads: Iterable[Mapping[str, Any]],
        options: TaskOptions = _NO_OPTIONS,
    ) -> Prepared:
        """Validate and encode every payload, without the size check: no I/O.

        Raises:
            UnknownTask, InvalidPayload, PayloadMismatch, InvalidTaskOptions: as `add_tasks`.
        """
        registration = self.registry.get(task_name)
        payloads = list(payloads)
        options = options.over(registration.defaults)
        messages = []
        for index, payload in enumerate(payloads):
            try:
                messages.append(self._encode(registration, payload, options))
            except (TaskRefused, InvalidTaskOptions) as error:
                if len(payloads) > 1:
                    name_payload(error, index)
                raise
        return Prepared(registration, messages)

    def limit(self, registration: Registration) -> int:
        """Return the size limit of the task's queue; may call the queue on its first use.

        Raises:
            QueueNotFound: the queue does not exist.
        """
        return min(self.max_message_size, self.queue.describe(registration.queue).max_message_size)

    def check_size(self, prepared: Prepared, limit: int) -> None:
        """Refuse a message over ``limit``, unless a payload store will carry it.

        Raises:
            MessageTooLarge: an encoded task is over the limit.
        """
        if self.offload is not None:
            return
        for index, message in enumerate(prepared.messages):
            size = message.size()
            if size > limit:
                error = MessageTooLarge(prepared.registration.task_name, size=size, limit=limit)
                if len(prepared.messages) > 1:
                    name_payload(error, index)
                raise error

    def send(self, prepared: Prepared) -> list[str]:
        """Send prepared messages, several batches in flight; return their ids in order.

        Raises:
            PayloadStoreError: the payload store failed; nothing was sent.
            QueueNotFound: the task's queue does not exist; nothing was sent.
            SendFailed: the queue did not accept every task; says which were sent.
        """
        registration, messages = prepared.registration, prepared.messages
        if not messages:
            return []
        staged = self._stage(prepared)
        queue = registration.queue
        outcome = send_in_flight(
            lambda batch: self.queue.send_batch(queue, batch),
            staged.messages if staged is not None else messages,
            ordered=registration.fifo,
            concurrency=self.send_concurrency,
        )
        result = outcome.result
        if staged is not None and self.offload is not None:
            self.offload.discard(staged, result.failed)
        if outcome.error is not None and not result.sent:
            raise outcome.error  # as the port raised it: nothing was sent
        if result.failed or result.unknown:
            raise SendFailed(queue, result.sent, result.failed, result.unknown) from outcome.error
        return [message.id for message in messages]

    def submit(self, prepared: Prepared, coalescer: Coalescer) -> Future[None] | None:
        """Hand one prepared message to ``coalescer``; None if it is closed (send it directly).

        The future fails with the error about this task alone; a refused task's
        stored large payload is deleted once its outcome is known.
        """
        staged = self._stage(prepared)
        message = staged.messages[0] if staged is not None else prepared.messages[0]
        registration = prepared.registration
        future = coalescer.submit(registration.queue, message, ordered=registration.fifo)
        offload = self.offload
        if offload is None or staged is None or not staged.stored:
            return future
        if future is None:
            offload.discard(staged, staged.stored)  # `send` stores it again
        else:
            future.add_done_callback(lambda done: _discard_refused(offload, staged, done))
        return future

    def _stage(self, prepared: Prepared) -> Staged | None:
        if self.offload is None:
            return None
        limit = self.limit(prepared.registration)
        return self.offload.stage(prepared.registration.task_name, prepared.messages, limit)

    def _encode(
        self,
        registration: Registration,
        payload: Mapping[str, Any],
        options: TaskOptions,
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
        return OutgoingMessage(
            id=str(task.id),
            body=encode_envelope(task),
            delay_seconds=when.delay_seconds,
            group_id=group_id,
            deduplication_id=deduplication_id,
            attributes=self.middleware.before_send(task),
        )


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


def _discard_refused(offload: PayloadOffload, staged: Staged, done: Future[None]) -> None:
    """Delete the stored body of a coalesced task the queue refused (not of an unknown one)."""
    error = done.exception() if not done.cancelled() else None
    if done.cancelled():
        offload.discard(staged, staged.stored)
    elif isinstance(error, SendFailed):
        offload.discard(staged, error.failed)
    elif error is not None:
        offload.discard(staged, staged.stored)  # QueueNotFound: nothing was sent
