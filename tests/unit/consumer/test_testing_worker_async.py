"""The testing worker with ``async def`` handlers: plain tests, and async tests.

Async tests run under anyio's pytest plugin on its asyncio backend (the same holds
for pytest-asyncio: both run the test as a coroutine on an asyncio loop), and under
a bare `asyncio.run`.
"""

import asyncio
import threading

import pytest

from simple_worker import App, current_task


@pytest.fixture
def app():
    return App(testing_mode=True)


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_run_all_awaits_async_handlers_to_their_end_one_loop_per_call(app):
    loops = []
    ran = []

    @app.register_task_handler("fetch")
    async def fetch(n):
        await asyncio.sleep(0)
        loops.append(asyncio.get_running_loop())
        ran.append((n, current_task().payload["n"]))
        if n < 2:
            app.add_task("fetch", n=n + 10)

    app.add_tasks("fetch", [{"n": 0}, {"n": 1}])
    report = app.testing_worker().run_all()

    assert sorted(ran) == [(0, 0), (1, 1), (10, 10), (11, 11)]
    assert report.task_names() == ["fetch"] * 4
    assert len(set(map(id, loops))) == 1
    assert loops[0].is_closed()


def test_run_all_runs_sync_and_async_handlers_of_one_app(app):
    ran = []
    app.register_task_handler("sync_one")(lambda: ran.append("sync"))

    @app.register_task_handler("async_one", queue="other")
    async def async_one():
        ran.append("async")

    app.add_task("sync_one")
    app.add_task("async_one")
    app.testing_worker().run_all()

    assert sorted(ran) == ["async", "sync"]


def test_run_all_reraises_what_a_coroutine_raised(app):
    @app.register_task_handler("bad")
    async def bad():
        await asyncio.sleep(0)
        raise ValueError("no")

    app.add_task("bad")
    with pytest.raises(ValueError, match="no"):
        app.testing_worker().run_all()


@pytest.mark.parametrize("error", [SystemExit(2), asyncio.CancelledError()])
def test_run_all_collects_a_coroutines_base_exception_as_a_failure(app, error):
    @app.register_task_handler("bad")
    async def bad():
        raise error

    app.add_task("bad")
    report = app.testing_worker().run_all(raise_errors=False)

    assert [type(run.error) for run in report.failed] == [type(error)]


def test_run_all_called_inside_a_running_loop_runs_async_handlers_on_a_thread_of_their_own(
    app,
):
    ran = []

    @app.register_task_handler("fetch")
    async def fetch():
        ran.append(threading.current_thread().name)

    async def an_async_test():
        app.add_task("fetch")
        return app.testing_worker().run_all()

    report = asyncio.run(an_async_test())

    assert len(report.succeeded) == 1
    assert ran == ["simple-worker-test-loop"]


@pytest.mark.anyio
async def test_run_all_async_runs_async_handlers_on_the_tests_own_loop(app):
    test_loop = asyncio.get_running_loop()
    done = asyncio.Event()  # bound to the test's loop
    seen = []

    @app.register_task_handler("notify")
    async def notify(user_id):
        seen.append((asyncio.get_running_loop() is test_loop, current_task().payload))
        done.set()

    @app.register_task_handler("sync_one")
    def sync_one():
        seen.append("sync")

    app.add_task("notify", user_id=7)
    app.add_task("sync_one")
    report = await app.testing_worker().run_all_async()

    assert done.is_set()
    assert sorted(seen, key=str) == [(True, {"user_id": 7}), "sync"]
    assert report.task_names() == ["notify", "sync_one"]


@pytest.mark.anyio
async def test_run_all_async_reraises_what_a_coroutine_raised(app):
    @app.register_task_handler("bad")
    async def bad():
        raise ValueError("no")

    app.add_task("bad")
    with pytest.raises(ValueError, match="no"):
        await app.testing_worker().run_all_async()


@pytest.mark.anyio
async def test_run_all_in_an_async_test_works_too(app):
    ran = []

    @app.register_task_handler("fetch")
    async def fetch():
        await asyncio.sleep(0)
        ran.append(current_task().name)

    app.add_task("fetch")
    app.testing_worker().run_all()

    assert ran == ["fetch"]


def test_current_task_is_seen_in_code_an_async_handler_runs_with_asyncio_to_thread(app):
    seen = []

    @app.register_task_handler("t")
    async def handler():
        seen.append(await asyncio.to_thread(lambda: current_task().name))

    app.add_task("t")
    app.testing_worker().run_all()

    assert seen == ["t"]
