"""Producing tasks: validate everything, then send. Uses the ports only.

Nothing is sent unless every task of the call is valid: registered, fitting its
handler's signature, plain JSON, and within the queue's size limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from simple_worker.domain.envelope import encode_envelope
from simple_worker.domain.errors import MessageTooLarge, SendFailed
from simple_worker.domain.payload import check_payload
from simple_worker.domain.registry import Registration, TaskRegistry
from simple_worker.domain.task import Task
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.queue import OutgoingMessage, QueuePort, SendResult


@attrs.define
class Producer:
    """Turns ``add_task`` calls into messages on the task's queue."""

    registry: TaskRegistry
    queue: QueuePort
    clock: ClockPort
    max_message_size: int

    def add_task(self, task_name: str, payload: Mapping[str, Any]) -> str:
        """Validate and send one task; return its id. Raises like `add_tasks`."""
        return self.add_tasks(task_name, [payload])[0]

    def add_tasks(self, task_name: str, payloads: Iterable[Mapping[str, Any]]) -> list[str]:
        """Validate every payload, then send them all; return the task ids in order.

        Raises:
            UnknownTask: no handler is registered under ``task_name``.
            InvalidPayload: a payload is not plain JSON.
            PayloadMismatch: a payload does not fit the handler's signature.
            MessageTooLarge: an encoded task is over the queue's size limit.
            QueueNotFound: the task's queue does not exist.
            SendFailed: the queue did not accept every task; says which were sent.
        """
        registration = self.registry.get(task_name)
        payloads = list(payloads)
        if not payloads:
            return []
        limit = min(self.max_message_size, self.queue.describe(registration.queue).max_message_size)
        messages = [self._encode(registration, payload, limit) for payload in payloads]
        result = self.queue.send_batch(registration.queue, messages)
        _raise_unless_all_sent(registration.queue, result)
        return [message.id for message in messages]

    def _encode(
        self, registration: Registration, payload: Mapping[str, Any], limit: int
    ) -> OutgoingMessage:
        plain = check_payload(registration.task_name, payload)
        registration.signature.check(plain)
        task = Task(
            name=registration.task_name,
            payload=plain,
            id=uuid.uuid4().hex,
            enqueued_at=self.clock.now(),
        )
        body = encode_envelope(task)
        # Bodies are ASCII, so characters are bytes.
        if len(body) > limit:
            raise MessageTooLarge(registration.task_name, size=len(body), limit=limit)
        return OutgoingMessage(id=str(task.id), body=body)


def _raise_unless_all_sent(queue: str, result: SendResult) -> None:
    if result.failed or result.unknown:
        raise SendFailed(queue, result.sent, result.failed, result.unknown)
