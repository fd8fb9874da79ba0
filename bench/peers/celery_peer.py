"""Celery with kombu's SQS transport through the peer comparison's workload (see ``_measure.py``).

The worker runs with the solo pool: one process, as for the other libraries
(Celery's default prefork pool forks a child process per CPU).
"""

from __future__ import annotations

import os
import signal
import urllib.parse

from _measure import Drain, arguments, ready, timed
from celery import Celery


def main() -> None:
    """Produce, or work, as ``--mode`` says."""
    args = arguments()
    endpoint = urllib.parse.urlsplit(args.endpoint)
    app = Celery(
        "bench",
        broker=f"sqs://{os.environ['AWS_ACCESS_KEY_ID']}:{os.environ['AWS_SECRET_ACCESS_KEY']}"
        f"@{endpoint.hostname}:{endpoint.port}",
    )
    app.conf.update(
        broker_transport_options={"region": "us-east-1", "is_secure": False},
        task_default_queue=args.queue,
    )
    drain = Drain(args.tasks)

    @app.task(name="noop")
    def noop(n: int) -> None:
        if drain.record():
            # Celery's warm shutdown: finish (and acknowledge) what runs, then exit.
            os.kill(os.getpid(), signal.SIGTERM)

    if args.mode in ("produce", "single"):
        # Celery sends one message per task, a group's too: both modes send one each.
        timed(lambda: [noop.delay(n) for n in range(args.tasks)], "task.delay() (no batch API)")
    else:
        worker = app.Worker(pool="solo", loglevel="WARNING", quiet=True)
        ready()
        worker.start()
        drain.report("app.Worker(pool='solo'), otherwise defaults")


if __name__ == "__main__":
    main()
