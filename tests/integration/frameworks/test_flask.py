"""The Flask example (examples/flask_shop), with Flask itself.

In process, in testing mode: a view enqueues, and the task runs in the Flask
application context only with the app's executor. On moto, through the command
and the factory: ``simple-worker worker 'shop:create_worker()'`` runs the task.
"""

import sys
from pathlib import Path

import pytest

FLASK_SHOP = Path(__file__).parents[3] / "examples" / "flask_shop"


@pytest.fixture
def shop(monkeypatch, tmp_path):
    """The example's package, imported afresh in testing mode, receipts under tmp_path."""
    monkeypatch.setenv("SHOP_TASKS_TESTING", "1")
    monkeypatch.setenv("FLASK_RECEIPTS_DIR", str(tmp_path / "receipts"))
    monkeypatch.syspath_prepend(str(FLASK_SHOP))
    yield __import__("shop")
    for name in ("shop", "shop.tasks"):
        sys.modules.pop(name, None)


def test_a_view_enqueues_and_the_task_runs_in_the_application_context(shop, tmp_path):
    client = shop.create_app().test_client()

    response = client.post("/orders", json={"order_id": 7})
    report = shop.tasks.testing_worker().run_all()

    assert response.status_code == 202
    assert report.task_names() == ["send_receipt"]
    assert (tmp_path / "receipts" / "7.txt").read_text() == "Receipt for order 7\n"


def test_without_the_apps_executor_a_task_fails_outside_the_application_context(shop):
    shop.create_app()
    shop.tasks.task_executor_cls = None
    shop.tasks.add_task("send_receipt", order_id=7)

    report = shop.tasks.testing_worker().run_all(raise_errors=False)

    assert "Working outside of application context" in str(report.failed[0].error)


def test_the_command_runs_the_tasks_of_a_flask_factory(
    example_env, run_in, started, stop, wait_for, command, tmp_path
):
    env = {**example_env, "FLASK_RECEIPTS_DIR": str(tmp_path / "receipts")}
    app = "shop:create_worker()"

    created = run_in(FLASK_SHOP, *command, "queues", "create", app, env=env)
    sent = run_in(FLASK_SHOP, *command, "enqueue", app, "send_receipt", "order_id=7", env=env)
    worker = started(FLASK_SHOP, *command, "worker", app, "--wait-seconds", "1", env=env)
    wait_for((tmp_path / "receipts" / "7.txt").exists, "the receipt")
    status, output = stop(worker)

    assert created.returncode == 0, created.stderr
    assert sent.returncode == 0, sent.stderr
    assert status == 0, output
    assert "Processed task send_receipt successfully" in output
