"""Dramatiq with dramatiq-sqs through the peer comparison's workload (see ``_measure.py``)."""

from __future__ import annotations

import dramatiq
from _measure import Drain, arguments, ready, timed
from dramatiq_sqs import SQSBroker


def main() -> None:
    """Produce, or work, as ``--mode`` says."""
    args = arguments()
    broker = SQSBroker(endpoint_url=args.endpoint, region_name="us-east-1")
    dramatiq.set_broker(broker)
    drain = Drain(args.tasks)

    @dramatiq.actor(queue_name=args.queue)
    def noop(n: int) -> None:
        drain.record()

    if args.mode in ("produce", "single"):
        # Dramatiq has no way to send several messages in one call: both modes send one each.
        timed(lambda: [noop.send(n) for n in range(args.tasks)], "actor.send() (no batch API)")
    else:
        worker = dramatiq.Worker(broker)
        ready()
        worker.start()
        drain.done.wait()
        worker.stop()
        broker.close()
        drain.report("dramatiq.Worker(broker), defaults (8 threads)")


if __name__ == "__main__":
    main()
