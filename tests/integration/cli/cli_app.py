"""An application for the command-line tests, imported by the commands as ``cli_app:app``.

Environment:

- ``CLI_TEST_PREFIX``: the queue prefix (each test uses its own).
- ``CLI_TEST_RECORD``: a file where ``record`` appends one JSON line when a task
  starts and one when it ends, each a single write, so processes can share it.
- ``CLI_TEST_IMPORT_SLEEP``: seconds the import takes, after writing "cli_app is
  importing" on stderr, so a test can signal a worker that is still starting.
- ``CLI_TEST_CHILD_IMPORT_SLEEP``: the same, in supervised worker processes only.
- ``CLI_TEST_BREAK_CHILDREN``: when set, importing this module fails inside a
  supervised worker process (``SIMPLE_WORKER_PROCESS`` is set), so that process
  exits with status 2 while the supervisor's own checks passed.
- ``CLI_TEST_BREAK_TASK_THREADS``: when set, a middleware plants a bug in the worker
  where no task's guard covers it (its buffer's ``take``), so that every task thread
  dies; the worker must then stop and the command exit with status 1.
"""

import os
import sys
import time
from pathlib import Path

from record_file import append_record

from simple_worker import App

_IMPORT_SLEEP = os.environ.get("CLI_TEST_IMPORT_SLEEP")
if "SIMPLE_WORKER_PROCESS" in os.environ:
    _IMPORT_SLEEP = os.environ.get("CLI_TEST_CHILD_IMPORT_SLEEP", _IMPORT_SLEEP)
if _IMPORT_SLEEP:
    sys.stderr.write("cli_app is importing\n")
    sys.stderr.flush()
    time.sleep(float(_IMPORT_SLEEP))

if os.environ.get("CLI_TEST_BREAK_CHILDREN") and "SIMPLE_WORKER_PROCESS" in os.environ:
    raise RuntimeError("this worker process is broken on purpose")


class BreakTaskThreads:
    """Fault injection: the worker's task threads die of an error outside any task."""

    def worker_started(self, worker):
        def take(timeout):
            raise RuntimeError("a bug outside the per-message guard")

        worker._held.take = take  # the worker's own internals: nothing else reaches there


app = App.init(
    queue_prefix=os.environ["CLI_TEST_PREFIX"],
    middleware=[BreakTaskThreads()] if os.environ.get("CLI_TEST_BREAK_TASK_THREADS") else [],
)
not_an_app = "just a string"


@app.register_task_handler("touch")
def touch(path):
    Path(path).write_text("ran", encoding="utf-8")


@app.register_task_handler("record")
def record(n, sleep=0.0):
    append_record(event="start", n=n)
    time.sleep(sleep)
    append_record(event="end", n=n)


@app.register_task_handler("fail")
def fail(n):
    raise ValueError(f"task {n} fails on purpose")
