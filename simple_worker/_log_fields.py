"""The stable log fields of a received message (and its task, once decoded). Uses the ports only."""

from __future__ import annotations

from simple_worker.domain._task import Task
from simple_worker.ports.queue import ReceivedMessage


def message_fields(message: ReceivedMessage, task: Task | None = None) -> dict[str, object]:
    """Return ``message_id``, ``queue``, ``receive_count``, and ``task_name``/``task_id``."""
    fields: dict[str, object] = {
        "message_id": message.message_id,
        "queue": message.queue,
        "receive_count": message.receive_count,
    }
    if task is not None:
        fields.update(task_name=task.name, task_id=task.id)
    return fields
