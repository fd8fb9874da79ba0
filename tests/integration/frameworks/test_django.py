"""The Django example (examples/django_shop), with Django itself.

In process, in testing mode (Django is set up once per test process, so every
test here shares one database): handlers registered by ``AppConfig.ready``, and
the database connection closed after each task as after a request. On moto, end
to end: ``manage.py migrate``, ``simple-worker queues create`` and ``enqueue``
through the factory, then ``manage.py worker`` runs the task.
"""

import sqlite3
import sys
from pathlib import Path

import pytest

DJANGO_SHOP = Path(__file__).parents[3] / "examples" / "django_shop"


@pytest.fixture(scope="module")
def django_shop(tmp_path_factory):
    """Django set up with the example's settings, in testing mode, migrated."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_SETTINGS_MODULE", "shop_site.settings")
        patch.setenv("SHOP_TASKS_TESTING", "1")
        patch.setenv("SHOP_DATABASE", str(tmp_path_factory.mktemp("db") / "shop.sqlite3"))
        patch.syspath_prepend(str(DJANGO_SHOP))
        from django.core.management import call_command  # noqa: PLC0415
        from shop_site.worker import create_app  # noqa: PLC0415

        tasks = create_app()
        call_command("migrate", verbosity=0)
        yield tasks


def test_app_config_ready_registers_the_handlers(django_shop):
    assert django_shop.registry.get("send_receipt").task_name == "send_receipt"


def test_a_task_uses_the_orm_and_closes_its_connection_as_after_a_request(django_shop):
    from django.db import connection  # noqa: PLC0415
    from orders.models import Order  # noqa: PLC0415

    order = Order.objects.create(customer_email="ada@example.com")
    django_shop.add_task("send_receipt", order_id=order.pk)

    django_shop.testing_worker().run_all()

    order.refresh_from_db()
    assert order.receipt_sent
    connection.ensure_connection()  # refresh_from_db opened one: the task must close its own
    django_shop.add_task("send_receipt", order_id=order.pk)
    django_shop.testing_worker().run_all()
    assert connection.connection is None


def test_without_the_executor_the_connection_stays_open(django_shop):
    from django.db import connection  # noqa: PLC0415
    from orders.models import Order  # noqa: PLC0415

    from simple_worker import TaskExecutor  # noqa: PLC0415

    order = Order.objects.create(customer_email="bob@example.com")
    connection.close()
    django_shop.add_task("send_receipt", order_id=order.pk)

    django_shop.testing_worker(task_executor_cls=TaskExecutor).run_all()

    assert connection.connection is not None
    connection.close()


def test_manage_py_worker_runs_a_task_enqueued_through_the_factory(
    example_env, run_in, started, stop, wait_for, command, tmp_path
):
    database = tmp_path / "shop.sqlite3"
    env = {**example_env, "SHOP_DATABASE": str(database)}
    app = "shop_site.worker:create_app()"
    manage = [sys.executable, "manage.py"]

    migrated = run_in(DJANGO_SHOP, *manage, "migrate", "--verbosity", "0", env=env)
    with sqlite3.connect(database) as db:
        db.execute("INSERT INTO orders_order (customer_email, receipt_sent) VALUES ('a@b.c', 0)")
    created = run_in(DJANGO_SHOP, *command, "queues", "create", app, env=env)
    sent = run_in(DJANGO_SHOP, *command, "enqueue", app, "send_receipt", "order_id=1", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert created.returncode == 0, created.stderr
    assert sent.returncode == 0, sent.stderr
    worker = started(DJANGO_SHOP, *manage, "worker", "--threads", "2", env=env)

    def receipt_sent():
        with sqlite3.connect(database) as db:
            return db.execute("SELECT receipt_sent FROM orders_order").fetchone() == (1,)

    wait_for(receipt_sent, "the task to update the order")
    status, output = stop(worker)

    assert status == 0, output
