"""A producer process that exits while tasks wait in its send window.

Usage: exit_with_tasks_in_window.py ENDPOINT QUEUE_PREFIX COUNT

One task's call is held open until the interpreter exits, so that COUNT more
tasks (from daemon threads, which the interpreter does not wait for) are still
waiting in the window when the main thread returns. Only the flush at exit can
send them. Prints the number that waited, then exits normally.
"""

import atexit
import sys
import threading

from simple_worker import App
from simple_worker.adapters import SQSQueue

endpoint, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
exiting = threading.Event()
first_call = threading.Event()


class HeldQueue(SQSQueue):
    """The first call waits for the interpreter's exit."""

    def send_batch(self, queue, messages):
        if not first_call.is_set():
            first_call.set()
            exiting.wait(60)
        return super().send_batch(queue, messages)


app = App(
    queue_prefix=prefix,
    queue=HeldQueue(endpoint_url=endpoint, region="us-east-1"),
    send_window=0.1,
    send_concurrency=1,
)
app.register_task_handler("t")(lambda n: None)

threading.Thread(target=app.add_task, args=("t",), kwargs={"n": -1}, daemon=True).start()
first_call.wait(60)
# Registered after the window's own flush, so it runs before it (atexit runs in reverse).
atexit.register(exiting.set)
for n in range(count):
    threading.Thread(target=app.add_task, args=("t",), kwargs={"n": n}, daemon=True).start()
coalescer = app._producer.coalescer
while coalescer.pending_count() < count:
    threading.Event().wait(0.01)
sys.stdout.write(f"{coalescer.pending_count()}\n")
