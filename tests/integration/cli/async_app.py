"""An application with ``async def`` handlers, imported by the command as ``async_app:app``.

Environment: ``CLI_TEST_PREFIX`` (the queue prefix) and ``CLI_TEST_RECORD`` (the
file ``nap`` appends a JSON line to when it starts and when it ends, each a single
write), as for ``cli_app``.
"""

import asyncio
import json
import os

from simple_worker import App, current_task

app = App.init(queue_prefix=os.environ["CLI_TEST_PREFIX"])


def append_record(**fields):
    line = json.dumps({**fields, "pid": os.getpid()}) + "\n"
    fd = os.open(os.environ["CLI_TEST_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())  # one short write: it does not hold the loop up
    finally:
        os.close(fd)


@app.register_task_handler("nap")
async def nap(n, sleep=0.05):
    task_id = current_task().id
    append_record(event="start", n=n, task_id=task_id)
    await asyncio.sleep(sleep)
    append_record(event="end", n=n, task_id=task_id)
