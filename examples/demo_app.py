"""The demo's application: one task handler, on the queue ``demo-default``.

The demo (``demo.py``) enqueues with it, and the ``simple-worker`` command loads it
as ``demo_app:app``, as a real application's producer and worker import the same
task definitions.
"""

from __future__ import annotations

import time

from simple_worker import App

app = App(queue_prefix="demo-")


@app.register_task_handler("resize_image")
def resize_image(image_id: int, width: int) -> None:
    """Stand for real work."""
    time.sleep(0.005)
