"""The Starlette example (examples/starlette_shop), with Starlette itself.

Concurrent requests enqueue with ``add_task_async``: in testing mode the tasks run
in process; on moto they arrive in the queue, each once.
"""

import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest

STARLETTE_SHOP = Path(__file__).parents[3] / "examples" / "starlette_shop"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def import_shop(monkeypatch, tmp_path, **env):
    monkeypatch.setenv("SHOP_RECEIPTS_DIR", str(tmp_path / "receipts"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(STARLETTE_SHOP))
    sys.modules.pop("shop_api", None)
    return __import__("shop_api")


@pytest.fixture
def shop(monkeypatch, tmp_path):
    """The example's module, imported afresh in testing mode, receipts under tmp_path."""
    yield import_shop(monkeypatch, tmp_path, SHOP_TASKS_TESTING="1")
    sys.modules.pop("shop_api", None)


async def post(web_app, payloads):
    """POST every payload to /orders at once, through the ASGI app in this loop."""
    transport = httpx.ASGITransport(app=web_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        return await asyncio.gather(*(client.post("/orders", json=p) for p in payloads))


@pytest.mark.anyio
async def test_a_request_enqueues_and_the_worker_writes_the_receipt(shop, tmp_path):
    async with shop.lifespan(shop.web_app):  # as the server runs it: close() at shutdown
        (response,) = await post(shop.web_app, [{"order_id": 7}])

    report = shop.tasks.testing_worker().run_all()

    assert response.status_code == 202
    assert response.json()["order_id"] == 7
    assert report.task_names() == ["send_receipt"]
    assert (tmp_path / "receipts" / "7.txt").read_text() == "Receipt for order 7\n"


@pytest.mark.anyio
async def test_concurrent_requests_each_enqueue_one_task_on_sqs(
    monkeypatch, tmp_path, sqs_client, moto_server
):
    prefix = f"starlette-{tmp_path.name[-8:]}-".replace("_", "-")
    url = sqs_client.create_queue(QueueName=prefix + "default")["QueueUrl"]
    shop = import_shop(
        monkeypatch, tmp_path, SHOP_QUEUE_PREFIX=prefix, AWS_ENDPOINT_URL_SQS=moto_server
    )
    try:
        responses = await post(shop.web_app, [{"order_id": n} for n in range(40)])
    finally:
        shop.tasks.close()
        sys.modules.pop("shop_api", None)

    assert {r.status_code for r in responses} == {202}
    task_ids = sorted(r.json()["task_id"] for r in responses)
    received = []
    while len(received) < 40:
        messages = sqs_client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        assert messages, f"only {len(received)} of 40 tasks arrived"
        received += [json.loads(m["Body"])["task_id"] for m in messages]
    assert sorted(received) == task_ids
    sqs_client.delete_queue(QueueUrl=url)
