"""An application with ``async def`` handlers, imported by the command as ``async_app:app``.

Environment: ``CLI_TEST_PREFIX`` (the queue prefix) and ``CLI_TEST_RECORD`` (the
file ``nap`` appends a JSON line to when it starts and when it ends, each a single
write), as for ``cli_app``.
"""

import asyncio
import os

from record_file import append_record

from simple_worker import App, current_task

app = App.init(queue_prefix=os.environ["CLI_TEST_PREFIX"])


@app.register_task_handler("nap")
async def nap(n, sleep=0.05):
    task_id = current_task().id
    append_record(event="start", n=n, task_id=task_id)
    await asyncio.sleep(sleep)
    append_record(event="end", n=n, task_id=task_id)
