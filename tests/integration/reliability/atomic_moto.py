"""A moto SQS server whose operations are atomic, for the chaos test: run as a script.

    python atomic_moto.py        # prints "port N" once serving on 127.0.0.1:N

moto's SQS backend takes no lock: two ReceiveMessage calls at once can both take
the same visible message (seen in chaos runs: receive counts 1 and 2, 0.1 s apart,
each inside the other's visibility window), and a receive racing a delete can
hand out a deleted message. Real SQS may deliver a message twice too, but rarely;
here it would hide what the worker does behind what the emulator does. So every
SQS backend operation runs under one lock, and a long poll waits outside it
(polling again when a message arrives, or every second, as moto does).

It serves until SIGTERM or SIGINT; the test stops it by its PID.
"""

from __future__ import annotations

import functools
import logging
import signal
import sys
import threading
import time

from moto.server import ThreadedMotoServer
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


def _patch():
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
            if time.monotonic() - waited < 0.01:  # messages there, but none for us: no hot loop
                time.sleep(0.05)

    SQSBackend.receive_message = receive_message


def main():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _patch()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    sys.stdout.write(f"port {server.get_host_and_port()[1]}\n")
    sys.stdout.flush()
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
