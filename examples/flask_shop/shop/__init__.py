"""A Flask application whose tasks run on simple-worker, inside its application context.

The web process::

    flask --app shop run                 # POST /orders enqueues a send_receipt task

The worker, from the same code, through the factory below::

    simple-worker queues create 'shop:create_worker()'
    simple-worker worker 'shop:create_worker()' --threads 4

Configuration comes from the environment: Flask's ``FLASK_*`` variables
(``FLASK_RECEIPTS_DIR``), and for simple-worker the standard AWS ones
(``AWS_REGION``, ``AWS_ENDPOINT_URL_SQS``) and ``SHOP_QUEUE_PREFIX``.
"""

from __future__ import annotations

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from shop.tasks import init_tasks, tasks
from simple_worker import App

__all__ = ["create_app", "create_worker"]


def create_app() -> Flask:
    """Flask's application factory: configuration, extensions, views."""
    flask_app = Flask(__name__)
    flask_app.config.from_mapping(RECEIPTS_DIR="receipts")
    flask_app.config.from_prefixed_env()  # FLASK_RECEIPTS_DIR=... overrides it
    init_tasks(flask_app)

    @flask_app.post("/orders")
    def create_order() -> ResponseReturnValue:
        order_id = int(request.get_json()["order_id"])
        task_id = tasks.add_task("send_receipt", order_id=order_id)
        return jsonify(order_id=order_id, task_id=task_id), 202

    return flask_app


def create_worker() -> App:
    """Return the App for the worker: ``simple-worker worker 'shop:create_worker()'``.

    It builds the Flask app, so that every task runs in its application context.
    """
    create_app()
    return tasks
