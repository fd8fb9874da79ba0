import asyncio
import threading

import pytest

from simple_worker.consumer._event_loop import CancelTask, TaskLoop, run_to_end


def spawn(name, target):
    thread = threading.Thread(target=target, name=f"test-{name}", daemon=True)
    thread.start()
    return thread


def test_cancel_task_cancels_the_task_on_its_loop_from_another_thread():
    cancelled = []

    async def forever():
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    class TooLong(Exception):
        pass

    async def main():
        interrupt = CancelTask()
        task = asyncio.ensure_future(interrupt.guard(forever)())
        interrupt.attach(task)
        await asyncio.sleep(0)
        watchdog = threading.Thread(target=interrupt.send, args=(TooLong,))
        watchdog.start()
        watchdog.join()
        with pytest.raises(TooLong):  # the watchdog's error, not a bare CancelledError
            await task
        interrupt.withdraw()  # after the end: nothing happens

    async def cancelled_by_someone_else():
        interrupt = CancelTask()
        task = asyncio.ensure_future(interrupt.guard(forever)())
        interrupt.attach(task)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    asyncio.run(cancelled_by_someone_else())
    assert cancelled == [True, True]


async def double(n):
    await asyncio.sleep(0)
    return 2 * n


def test_run_to_end_runs_a_coroutine_from_sync_code_and_from_inside_a_loop():
    async def inside():
        return run_to_end(double(3))

    assert run_to_end(double(2)) == 4
    assert asyncio.run(inside()) == 6


def test_a_task_loop_runs_up_to_its_slots_settles_each_result_and_stops_when_all_are_done():
    loop = TaskLoop(2, spawn)
    settled = []
    gate = threading.Event()

    async def wait_then(n):
        while not gate.is_set():
            await asyncio.sleep(0.005)
        return n

    for n in range(2):
        assert loop.acquire(1)
        loop.start(wait_then(n), settled.append)
    assert not loop.acquire(0)  # both slots taken
    assert loop.in_flight() == 2
    gate.set()
    assert loop.stop(10)
    assert sorted(settled) == [0, 1]
    assert loop.in_flight() == 0


def test_a_result_that_settles_at_once_is_settled_on_the_loop_the_others_on_a_settle_thread():
    loop = TaskLoop(4, spawn)
    where = {}

    def settle(n):
        where[n] = threading.current_thread().name

    for n in range(4):
        assert loop.acquire(1)
        loop.start(double(n), settle, settles_at_once=lambda result: result % 4 == 0)
    assert loop.stop(10)

    assert where[0] == where[4] == "test-event-loop"
    assert where[2].startswith("test-settle-")
    assert where[6].startswith("test-settle-")


def test_a_settle_that_raises_is_logged_and_frees_its_slot(caplog):
    loop = TaskLoop(1, spawn)

    def settle(result):
        raise RuntimeError("a bug in settling")

    assert loop.acquire(1)
    loop.start(double(1), settle)
    assert loop.acquire(10)  # freed all the same
    loop.start(double(2), lambda result: None)
    assert loop.stop(10)

    assert "Internal error around an async task" in caplog.text
    assert "a bug in settling" in caplog.text


def test_every_thread_of_a_task_loop_comes_from_spawn_so_none_holds_the_exit_up():
    spawned = []

    def spawn_recording(name, target):
        thread = spawn(name, target)
        spawned.append(thread)
        return thread

    loop = TaskLoop(2, spawn_recording)
    assert loop.stop(10)
    assert len(spawned) == 3  # the loop's and two settle threads
    assert all(thread.daemon for thread in spawned)
