"""simple-worker through the peer comparison's workload (see ``_measure.py``)."""

from __future__ import annotations

from _measure import Drain, arguments, ready, timed

from simple_worker import App, Worker
from simple_worker.adapters import SQSQueue


def main() -> None:
    """Produce, or work, as ``--mode`` says."""
    args = arguments()
    app = App(queue=SQSQueue(endpoint_url=args.endpoint, region="us-east-1"))
    drain = Drain(args.tasks)
    worker_box: list[Worker] = []

    @app.register_task_handler("noop", queue=args.queue)
    def noop(n: int) -> None:
        if drain.record():
            worker_box[0].stop()

    if args.mode == "produce":

        def send_batched() -> None:
            for start in range(0, args.tasks, 100):
                stop = min(start + 100, args.tasks)
                app.add_tasks("noop", [{"n": n} for n in range(start, stop)])

        timed(send_batched, "add_tasks, 100 tasks a call")
    elif args.mode == "single":
        timed(lambda: [app.add_task("noop", n=n) for n in range(args.tasks)], "add_task")
    else:
        worker = app.worker()
        worker_box.append(worker)
        ready()
        worker.start()
        drain.report("app.worker(), defaults (1 thread)")


if __name__ == "__main__":
    main()
