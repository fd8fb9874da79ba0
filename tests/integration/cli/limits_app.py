"""An application with time and concurrency limits, imported by the commands as ``limits_app:app``.

Environment: ``CLI_TEST_PREFIX`` and ``CLI_TEST_RECORD``, as for ``cli_app``. Every
handler appends JSON lines to the record file (one write each, so processes can
share it).
"""

import asyncio
import contextlib
import os
import threading
import time

from record_file import append_record

from simple_worker import App, TaskTimeLimitExceeded, current_task

app = App.init(queue_prefix=os.environ["CLI_TEST_PREFIX"])

_lock = threading.Lock()
_limited_running = 0


@app.register_task_handler("spin", time_limit=2)
def spin(n):
    """An endless Python loop: only the time limit ends it."""
    append_record(event="spin", n=n, receive=current_task().delivery.receive_count)
    count = 0
    while True:
        count += 1


@app.register_task_handler("wait_forever", time_limit=2)
async def wait_forever(n):
    """A coroutine awaiting what never comes: only the time limit ends it."""
    append_record(event="wait_forever", n=n, receive=current_task().delivery.receive_count)
    await asyncio.Event().wait()


@app.register_task_handler("hung", time_limit=1)
def hung(n):
    """On its first receive, a blocking call that ignores the interrupt; then quick."""
    receive = current_task().delivery.receive_count
    append_record(event="hung", n=n, receive=receive)
    while receive == 1:
        with contextlib.suppress(TaskTimeLimitExceeded):  # ignored, as some code does
            time.sleep(3600)  # a blocking C call: the interrupt waits for it to return
    append_record(event="end", task="hung", n=n)


@app.register_task_handler("quick")
def quick(n):
    append_record(event="end", task="quick", n=n)


@app.register_task_handler("limited", max_concurrency=2)
def limited(n):
    global _limited_running  # noqa: PLW0603 - a per-process gauge, as the limit is per process
    with _lock:
        _limited_running += 1
        running = _limited_running
    append_record(event="start", task="limited", n=n, running=running)
    time.sleep(0.05)
    with _lock:
        _limited_running -= 1
    append_record(event="end", task="limited", n=n)
