"""A moto SQS server whose operations are atomic, for the chaos test: run as a script.

    python atomic_moto.py        # prints "port N" once serving on 127.0.0.1:N

The lock around moto's SQS backend is ``atomic_sqs.py``'s (one folder up), as in
the session's own moto server; here it serves from a process of its own, which
the chaos test's fault proxy sits in front of.

It serves until SIGTERM or SIGINT; the test stops it by its PID.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

from moto.server import ThreadedMotoServer

# atomic_sqs.py is in tests/integration, which is not on sys.path (this folder is).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from atomic_sqs import make_sqs_atomic


def main():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    make_sqs_atomic()
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
