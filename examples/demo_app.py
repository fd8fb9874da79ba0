"""The demo's application: one task handler, on the queue ``demo-default``.

Both the producer (``demo.py``) and the worker (``demo_worker.py``) import it, as
a real application's producer and worker import the same task definitions.
"""

from __future__ import annotations

import collections
import time

import boto3

from simple_worker import App
from simple_worker.adapters import SQSQueue

QUEUE_PREFIX = "demo-"


def build_app() -> tuple[App, collections.Counter[str]]:
    """Return the app and a counter of the SQS API calls it makes, by action."""
    calls: collections.Counter[str] = collections.Counter()
    client = boto3.client("sqs")
    client.meta.events.register(
        "before-call.sqs.*",
        lambda model, **_: calls.update([model.name]),
    )
    app = App(queue_prefix=QUEUE_PREFIX, queue=SQSQueue(client=client))

    @app.register_task_handler("resize_image")
    def resize_image(image_id: int, width: int) -> None:
        time.sleep(0.005)  # stands for real work

    return app, calls
