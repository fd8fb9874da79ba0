"""An AWS Lambda function that runs simple-worker tasks from an SQS queue.

The function's handler setting is ``tasks.handler``. An SQS event source mapping
(see template.yaml) invokes it with up to ten messages at a time; the handler runs
each task as ``simple-worker worker`` would and reports the ones that did not
succeed, so that the mapping deletes only the others.

Producers enqueue as usual, with an `App` of the same prefix and task names:
``app.add_task("resize_image", bucket="photos", key="cat.jpg", width=320)``.
"""

from __future__ import annotations

import logging
import os

from simple_worker import App, ExponentialBackoff

logger = logging.getLogger(__name__)

# Built once per execution environment (at a cold start), not per invocation: the
# handler keeps what it learns about the queues for the environment's life.
app = App(queue_prefix=os.environ.get("QUEUE_PREFIX", "shop-"))


@app.register_task_handler("resize_image")
def resize_image(bucket: str, key: str, width: int) -> None:
    """Resize an image stored in S3 (here: say so)."""
    logger.info("Resizing s3://%s/%s to %d px", bucket, key, width)


@app.register_task_handler("send_receipt")
def send_receipt(order_id: int, email: str) -> None:
    """Email an order's receipt (here: say so)."""
    logger.info("Sending the receipt of order %d to %s", order_id, email)


# time_margin: no task starts with less than this left of the invocation (60 s
# here, see template.yaml); make it longer than your longest task.
handler = app.lambda_handler(
    retry_policy=ExponentialBackoff(base=10, cap=300),
    time_margin=15,
)
