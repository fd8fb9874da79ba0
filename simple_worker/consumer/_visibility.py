"""The visibility timeout the worker holds messages with, per queue. Pure.

A queue's own visibility timeout, except where it is 0: a message received from
such a queue would be visible to every other receiver again at once, and the
worker's buffer would count it as expired before any thread took it, so nothing
would ever run. There the worker asks for `DEFAULT_RECEIVE_VISIBILITY` on every
receive (ReceiveMessage's ``VisibilityTimeout``), and its buffer deadlines, its
visibility heartbeat and its settlements use that same value.
"""

from __future__ import annotations

import attrs

from simple_worker.ports.queue import DEFAULT_RECEIVE_VISIBILITY, QueueInfo


def receive_visibility(info: QueueInfo) -> int | None:
    """Return the visibility timeout to ask for on every receive; None: the queue's own."""
    return DEFAULT_RECEIVE_VISIBILITY if info.visibility_timeout == 0 else None


def held_visibility(info: QueueInfo) -> QueueInfo:
    """Return ``info`` with the visibility timeout the worker's messages of it actually have."""
    asked = receive_visibility(info)
    return info if asked is None else attrs.evolve(info, visibility_timeout=asked)
