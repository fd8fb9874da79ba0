"""The async producer: add_task_async and add_tasks_async, under anyio's pytest plugin (asyncio)."""

import asyncio
import collections
import json
import threading

import attrs
import pytest

from simple_worker import (
    App,
    InvalidPayload,
    PayloadMismatch,
    PositionalPayload,
    SendFailed,
    UnknownTask,
)
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.ports.queue import SendResult

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@attrs.define
class CountingQueue:
    """An in-memory queue that counts calls and sends, and refuses payloads with ``n == 3``."""

    inner: InMemoryQueue = attrs.field(factory=lambda: InMemoryQueue(auto_create=True))
    calls: int = 0
    sent: collections.Counter = attrs.field(factory=collections.Counter)
    threads: set = attrs.field(factory=set)
    refuse: int | None = None

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def send_batch(self, queue, messages):
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        refused = [m for m in messages if json.loads(m.body)["task_payload"]["n"] == self.refuse]
        result = self.inner.send_batch(queue, [m for m in messages if m not in refused])
        self.sent.update(result.sent)
        return SendResult(sent=result.sent, failed={m.id: "InternalError: x" for m in refused})


def make_app(queue, **options):
    app = App(queue=queue, **options)
    app.register_task_handler("t")(lambda n: None)
    return app


@pytest.mark.parametrize("window", [None, 0.005])
async def test_a_hundred_concurrent_coroutines_each_get_their_id_and_each_task_is_sent_once(window):
    queue = CountingQueue()
    app = make_app(queue, send_window=window)

    ids = await asyncio.gather(*(app.add_task_async("t", n=n) for n in range(100)))

    assert len(set(ids)) == 100
    assert queue.sent == dict.fromkeys(ids, 1)
    assert len(queue.inner.bodies("default")) == 100
    assert queue.calls <= 100
    assert threading.current_thread().name not in queue.threads  # never on the loop's thread
    app.close()


async def test_a_refused_task_fails_its_own_coroutine_alone():
    queue = CountingQueue(refuse=3)
    app = make_app(queue)

    outcomes = await asyncio.gather(
        *(app.add_task_async("t", n=n) for n in range(10)), return_exceptions=True
    )

    assert isinstance(outcomes[3], SendFailed)
    assert len(outcomes[3].failed) == 1
    assert all(isinstance(outcomes[n], str) for n in range(10) if n != 3)
    app.close()


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda app: app.add_task_async("missing", n=1), UnknownTask),
        (lambda app: app.add_task_async("t", m=1), PayloadMismatch),
        (lambda app: app.add_task_async("t", n=float("nan")), InvalidPayload),
        (lambda app: app.add_task_async("t", 1), PositionalPayload),
        (lambda app: app.add_tasks_async("t", [{"n": 1}, {"n": (1, 2)}]), InvalidPayload),
        (lambda app: app.with_options(delay=5).add_task_async("t", m=1), PayloadMismatch),
    ],
)
async def test_an_invalid_task_raises_before_the_coroutine_awaits_anything(call, error):
    queue = CountingQueue()
    app = make_app(queue)
    coroutine = call(app)

    with pytest.raises(error):
        coroutine.send(None)  # its first step: it must not reach an await

    assert queue.calls == 0


async def test_add_tasks_async_returns_the_ids_in_order_and_sends_them_in_batches():
    queue = CountingQueue()
    app = make_app(queue, send_concurrency=4)

    ids = await app.add_tasks_async("t", [{"n": n} for n in range(95)])

    assert len(ids) == 95
    bodies = [json.loads(body) for body in queue.inner.bodies("default")]
    assert sorted(b["task_id"] for b in bodies) == sorted(ids)
    assert [
        b["task_payload"]["n"] for b in sorted(bodies, key=lambda b: ids.index(b["task_id"]))
    ] == list(range(95))
    assert queue.calls == 10


async def test_add_tasks_async_raises_send_failed_as_add_tasks_does():
    queue = CountingQueue(refuse=3)
    app = make_app(queue)

    with pytest.raises(SendFailed) as raised:
        await app.add_tasks_async("t", [{"n": n} for n in range(20)])

    assert len(raised.value.sent_ids) == 19


async def test_with_options_sends_from_a_coroutine_with_its_options():
    queue = CountingQueue()
    app = make_app(queue)

    await app.with_options(delay=30).add_task_async("t", n=1)

    assert queue.inner.stats("default").delayed == 1
    app.close()


async def test_after_close_add_task_async_still_sends_each_task_on_its_own():
    queue = CountingQueue()
    app = make_app(queue)
    await app.add_task_async("t", n=1)
    app.close()

    task_id = await app.add_task_async("t", n=2)

    assert queue.sent[task_id] == 1
