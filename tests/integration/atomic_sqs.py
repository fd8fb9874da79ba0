"""Make moto's SQS backend atomic, in whatever process imports this and calls it.

moto's SQS backend takes no lock: two ReceiveMessage calls at once can both take
the same visible message (seen in test runs: one task run twice by a worker with
several receivers, receive counts 1 and 2 a tenth of a second apart), and a
receive racing a delete can hand out a deleted message. Real SQS may deliver a
message twice too, but rarely; in tests that count runs it would hide what the
worker does behind what the emulator does. So every SQS backend operation runs
under one lock, and a long poll waits outside it (polling again when a message
arrives, or every second, and not after its wait is over, as moto does).

Used by tests/integration/conftest.py (the session's moto server) and by
reliability/atomic_moto.py (the chaos test's server, in its own process).
"""

from __future__ import annotations

import functools
import threading
import time

from moto.sqs.models import SQSBackend

_LOCK = threading.RLock()
_ATOMIC = (
    "send_message",
    "send_message_batch",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "change_message_visibility_batch",
    "get_queue_attributes",
    "purge_queue",
)


def _atomic(method):
    @functools.wraps(method)
    def locked(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return locked


def make_sqs_atomic():
    """Wrap moto's SQS backend operations in one lock; calling it again does nothing."""
    if getattr(SQSBackend, "_simple_worker_atomic", False):
        return
    SQSBackend._simple_worker_atomic = True
    for name in _ATOMIC:
        setattr(SQSBackend, name, _atomic(getattr(SQSBackend, name)))
    receive = SQSBackend.receive_message

    @functools.wraps(receive)
    def receive_message(self, queue_name, count, wait_seconds_timeout, *args, **kwargs):
        deadline = time.time() + int(wait_seconds_timeout or 0)
        while True:
            with _LOCK:
                messages = receive(self, queue_name, count, 0, *args, **kwargs)
            remaining = deadline - time.time()
            if messages or remaining <= 0:
                return messages
            waited = time.monotonic()
            self.get_queue(queue_name).wait_for_messages(min(remaining, 1.0))
            if time.time() > deadline:
                # As moto does: no last look once the wait is over. A poll its client
                # abandoned (a worker that stopped) then takes no message released since.
                return []
            if time.monotonic() - waited < 0.01:  # messages there, but none for us: no hot loop
                time.sleep(0.05)

    SQSBackend.receive_message = receive_message
