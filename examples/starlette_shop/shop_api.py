"""A Starlette application that enqueues from its coroutines, never blocking its event loop.

The web process (with uvicorn, or any ASGI server)::

    uvicorn shop_api:web_app             # POST /orders enqueues a send_receipt task

The worker, from the same module::

    simple-worker queues create shop_api:tasks
    simple-worker worker shop_api:tasks

``await tasks.add_task_async(...)`` validates on the loop and raises at once for
an invalid task; the send goes out from simple-worker's own threads, sharing
SendMessageBatch calls with the other requests in flight (``send_window``). The
lifespan's shutdown sends what the window still holds. FastAPI, built on
Starlette, takes the same ``lifespan``.

Configuration: the standard AWS variables (``AWS_REGION``, ``AWS_ENDPOINT_URL_SQS``),
``SHOP_QUEUE_PREFIX``, ``SHOP_RECEIPTS_DIR``; ``SHOP_TASKS_TESTING=1`` keeps the
queues in memory.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simple_worker import App

__all__ = ["tasks", "web_app"]

tasks = App(
    queue_prefix=os.environ.get("SHOP_QUEUE_PREFIX", "shop-"),
    testing_mode=os.environ.get("SHOP_TASKS_TESTING") == "1",
    send_window=0.005,
)


@tasks.register_task_handler("send_receipt")
def send_receipt(order_id: int) -> None:
    """Write the order's receipt (a stand-in for sending an email)."""
    receipts = Path(os.environ.get("SHOP_RECEIPTS_DIR", "receipts"))
    receipts.mkdir(parents=True, exist_ok=True)
    (receipts / f"{order_id}.txt").write_text(f"Receipt for order {order_id}\n")


async def create_order(request: Request) -> JSONResponse:
    """Enqueue the order's receipt; answer 202 with the task id."""
    order_id = int((await request.json())["order_id"])
    task_id = await tasks.add_task_async("send_receipt", order_id=order_id)
    return JSONResponse({"order_id": order_id, "task_id": task_id}, status_code=202)


@contextlib.asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    """On shutdown, send the tasks still waiting in the send window."""
    yield
    tasks.close()


web_app = Starlette(routes=[Route("/orders", create_order, methods=["POST"])], lifespan=lifespan)
