"""Per-task concurrency limits: how many tasks of a name may run at once in one process.

`HeldMessages` asks `TaskSlots` before a task thread takes a message: a message
whose task has all its slots taken stays in the buffer (the heartbeat keeps it
hidden) and the thread takes the next one that can run, so a limited task never
holds a thread while it waits. Not thread-safe: the buffer calls it under its lock.

A message's task name is read from its body once, when first asked. A message
whose body is not a task envelope (a large payload's pointer, a message that
cannot run) is not limited: the name is in the object the pointer names, which
only the dispatcher reads.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Mapping

from simple_worker.ports.queue import ReceivedMessage


class TaskSlots:
    """Running counts of the limited task names, against their limits.

    Args:
        limits: the most tasks of each limited name that may run at once.
    """

    def __init__(self, limits: Mapping[str, int]) -> None:
        self._limits = dict(limits)
        self._running: collections.Counter[str] = collections.Counter()
        self._names: dict[str, str | None] = {}
        """The limited task name of each message asked about, by receipt."""

    def admits(self, message: ReceivedMessage) -> bool:
        """Return whether ``message``'s task may start now."""
        name = self._name(message)
        return name is None or self._running[name] < self._limits[name]

    def started(self, message: ReceivedMessage) -> None:
        """Take a slot for ``message``'s task, which `admits` allowed."""
        name = self._name(message)
        if name is not None:
            self._running[name] += 1

    def ended(self, message: ReceivedMessage) -> bool:
        """Free ``message``'s slot; return whether it held one (a waiting task may start)."""
        name = self._names.pop(message.receipt, None)
        if name is None:
            return False
        self._running[name] -= 1
        return True

    def forget(self, message: ReceivedMessage) -> None:
        """Drop what is known of a buffered message that leaves without running."""
        self._names.pop(message.receipt, None)

    def running(self, task_name: str) -> int:
        """Return how many tasks of ``task_name`` hold a slot."""
        return self._running[task_name]

    def _name(self, message: ReceivedMessage) -> str | None:
        if message.receipt not in self._names:
            name = task_name_of(message.body)
            self._names[message.receipt] = name if name in self._limits else None
        return self._names[message.receipt]


def task_name_of(body: str) -> str | None:
    """Return the ``task_name`` of a task envelope's body; None if it is not one."""
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    name = decoded.get("task_name") if isinstance(decoded, dict) else None
    return name if isinstance(name, str) else None
