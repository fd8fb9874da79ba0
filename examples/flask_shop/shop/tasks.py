"""The shop's tasks, and how they run inside the Flask application context.

Producers (the views) and the worker import the same `tasks` App. `init_tasks`
gives it an executor that enters the Flask app's context around every task, so
handlers use ``current_app``, extensions and the database session as a view does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app

from simple_worker import App, TaskExecutor

tasks = App.init(
    queue_prefix=os.environ.get("SHOP_QUEUE_PREFIX", "shop-"),
    testing_mode=os.environ.get("SHOP_TASKS_TESTING") == "1",  # in-memory queues, for tests
)


def init_tasks(flask_app: Flask) -> None:
    """Run every task of `tasks` inside ``flask_app``'s application context."""

    class FlaskAppContext(TaskExecutor):
        @contextmanager
        def context(self) -> Iterator[None]:
            with flask_app.app_context():
                yield

    tasks.task_executor_cls = FlaskAppContext
    flask_app.extensions["simple_worker"] = tasks


@tasks.register_task_handler("send_receipt")
def send_receipt(order_id: int) -> None:
    """Write the order's receipt (stands for sending an email)."""
    receipts = Path(current_app.config["RECEIPTS_DIR"])  # needs the application context
    receipts.mkdir(parents=True, exist_ok=True)
    (receipts / f"{order_id}.txt").write_text(f"Receipt for order {order_id}\n", encoding="utf-8")
