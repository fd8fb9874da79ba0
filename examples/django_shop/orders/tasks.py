"""The orders app's tasks, and how they run in a Django worker.

Django closes a request's database connection when the request ends (and drops
unusable or expired ones when the next begins); a worker has no requests, so
`DjangoTaskExecutor` does the same around every task. Without it, a connection
the database closed (a restart, a timeout) would fail every later task of that
thread, and ``CONN_MAX_AGE`` would never apply.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import close_old_connections

from orders.models import Order
from simple_worker import App, TaskExecutor


class DjangoTaskExecutor(TaskExecutor):
    """Handles database connections around each task as Django does around a request."""

    @contextmanager
    def context(self) -> Iterator[None]:
        """Drop unusable or expired connections before the task and after it."""
        close_old_connections()
        try:
            yield
        finally:
            close_old_connections()


tasks = App.init(**settings.SIMPLE_WORKER, task_executor_cls=DjangoTaskExecutor)


@tasks.register_task_handler("send_receipt")
def send_receipt(order_id: int) -> None:
    """Mark the order's receipt as sent (stands for sending an email)."""
    Order.objects.filter(pk=order_id).update(receipt_sent=True)
