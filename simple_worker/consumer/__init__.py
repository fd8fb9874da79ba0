"""The consumer: from a received message to its settlement. Uses the ports only.

One path for every way tasks run. The `Dispatcher` turns a message into an
outcome (decode, look up, check, run the handler through the executor and the
middleware); ``_settle`` decides, purely, what becomes of the message after that
outcome, and ``_settler`` applies that decision for every runner; the runners
decide nothing themselves:

- ``_worker``: the threaded worker (task threads, lifecycle, bounded shutdown),
  with its ``_options``;
- ``_poller`` and ``_buffer``: long polls into a bounded buffer, fairly across queues;
  ``_room`` shares the buffer's places between queues (every queue can always poll),
  ``_turns`` gives task threads weighted turns between them;
- ``_heartbeat``: keeps held messages invisible while they are held, for as long as
  ``_visibility`` says (a queue's own timeout, or 30 s where it is 0);
- ``_deleter``: batched deletes of finished tasks' messages;
- ``_event_loop``: the worker's event loop for ``async def`` handlers (one per
  process, its own thread), and how a time limit cancels a coroutine;
- ``_time_limits``: the watchdog of per-task time limits and the hard limit;
  ``_slots``: per-task concurrency limits, checked as a thread takes a message;
- ``_testing_worker``: runs queued tasks synchronously inside a test;
- ``_lambda_runner``: runs the batches an AWS Lambda SQS event source mapping
  hands a function (``_lambda_event`` reads its events; ``_held_visibility``
  sends a batch's visibility changes together).

Nothing here imports an adapter; everything here is private.
"""
