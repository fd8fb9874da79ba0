"""sqs-workers through the peer comparison's workload (see ``_measure.py``)."""

from __future__ import annotations

from _measure import Drain, arguments, ready, timed
from sqs_workers import SQSEnv
from sqs_workers.shutdown_policies import MaxTasksShutdown


def main() -> None:
    """Produce, or work, as ``--mode`` says."""
    args = arguments()
    # The endpoint comes from AWS_ENDPOINT_URL, so SQSEnv makes its clients its own way.
    sqs = SQSEnv()
    queue = sqs.queue(args.queue)
    drain = Drain(args.tasks)

    @queue.processor("noop")
    def noop(n: int) -> None:
        drain.record()

    if args.mode == "produce":

        def send_batched() -> None:
            with queue.add_batch():
                for n in range(args.tasks):
                    noop.delay(n=n)

        timed(send_batched, "delay() inside queue.add_batch() (10 a call)")
    elif args.mode == "single":
        timed(lambda: [noop.delay(n=n) for n in range(args.tasks)], "delay()")
    else:
        ready()
        queue.process_queue(shutdown_policy=MaxTasksShutdown(args.tasks))
        drain.report("queue.process_queue(), defaults")


if __name__ == "__main__":
    main()
