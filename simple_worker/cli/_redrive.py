"""``simple-worker redrive APP --queue NAME``: move messages from a dead-letter queue back.

Two ways, and the command says which ran:

- ``move-task``: SQS's own message move task (``StartMessageMoveTask``), on AWS
  endpoints; SQS moves the messages, this command follows its progress.
- ``receive-send``: this process receives up to 10 messages from the dead-letter
  queue, sends them to the source queue (``SendMessageBatch``), then deletes only
  the ones that were sent. Never a delete before the send succeeded: an
  interruption at any point loses nothing, and may at worst send a message twice.
  Used where the endpoint has no move tasks (emulators such as moto), with
  ``--limit``, or when asked.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from simple_worker.adapters.sqs._admin import QueueDetails, SQSAdmin
from simple_worker.cli._common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    add_app_argument,
    app_queue,
    err,
    out,
    positive_int,
    visibility_seconds,
)
from simple_worker.cli._loading import load_app
from simple_worker.domain._errors import ConfigurationError, QueueServiceError
from simple_worker.domain._queue_rules import check_queue_name
from simple_worker.ports.queue import MAX_BATCH_SIZE

if TYPE_CHECKING:
    from simple_worker.cli._common import Commands

METHODS = ("auto", "move-task", "receive-send")
METHOD_NAMES = {
    "move-task": "SQS's message move task",
    "receive-send": "receive, send, then delete, from this process",
}
_ENDED = ("COMPLETED", "CANCELLED", "FAILED")
_POLL_INTERVAL = 2.0
_PROGRESS_EVERY = 100  # messages between progress lines when stderr is not a terminal
MAX_RATE = 500  # SQS's limit for a move task's MaxNumberOfMessagesPerSecond


def register(commands: Commands) -> None:
    """Add the ``redrive`` command."""
    parser = commands.add_parser(
        "redrive",
        help="move messages from a dead-letter queue back to its queue",
        description="Move the messages of a queue's dead-letter queue back to the queue, "
        "with SQS's message move task where the endpoint has it, otherwise by receiving, "
        "sending and deleting them here (never deleting one before it was sent).",
        epilog="exit status: 0 when every message was moved; 1 when some could not be, or "
        "SQS failed; 2 a usage or configuration error; 130 interrupted (Ctrl-C).",
    )
    add_app_argument(parser)
    parser.add_argument(
        "--queue",
        required=True,
        metavar="NAME",
        help="the queue to move messages back to, without the prefix (or with it)",
    )
    parser.add_argument(
        "--dlq",
        metavar="FULL_NAME",
        help="the dead-letter queue's full name (default: the one in the queue's redrive policy)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="count the messages that would move; move none"
    )
    parser.add_argument(
        "--limit", type=positive_int, metavar="N", help="move at most N messages (receive-send)"
    )
    parser.add_argument(
        "--max-per-second",
        type=positive_int,
        metavar="N",
        help=f"move at most N messages a second, 1 to {MAX_RATE} (default: as fast as possible)",
    )
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="auto",
        help="move-task on AWS endpoints without --limit, receive-send otherwise (default: auto)",
    )
    parser.add_argument(
        "--visibility-timeout",
        type=visibility_seconds,
        default=30,
        metavar="S",
        help="receive-send: seconds a message being moved stays hidden; after an "
        "interruption, the ones not moved reappear after this (default: 30)",
    )
    parser.set_defaults(run=run)


def choose_method(asked: str, endpoint_has_move_tasks: bool, limit: int | None) -> tuple[str, str]:
    """Return the method to use and why.

    Raises:
        ConfigurationError: ``move-task`` was asked with ``--limit``, which it cannot honour.
    """
    if asked == "move-task" and limit is not None:
        raise ConfigurationError(
            "--limit works with --method receive-send only: SQS's move task moves every message."
        )
    if asked != "auto":
        return asked, "as asked"
    if limit is not None:
        return "receive-send", "--limit needs it"
    if endpoint_has_move_tasks:
        return "move-task", "the endpoint is AWS's"
    return "receive-send", "the endpoint is not AWS's, so it may lack StartMessageMoveTask"


def run(args: argparse.Namespace) -> int:
    """Run ``redrive``; return its exit status."""
    if args.max_per_second is not None and args.max_per_second > MAX_RATE:
        raise ConfigurationError(f"--max-per-second is at most {MAX_RATE}, as SQS allows.")
    app = load_app(args.app)
    admin = SQSAdmin.of(app.queue)
    source = admin.details(app_queue(app, args.queue))
    if args.dlq is not None:
        dlq = admin.details(check_queue_name(args.dlq))
    elif source.redrive is not None:
        dlq = admin.details(source.redrive.dead_letter_queue)
    else:
        raise ConfigurationError(
            f"{source.name} has no redrive policy: name its dead-letter queue with --dlq."
        )
    if dlq.fifo != source.fifo:
        raise ConfigurationError(
            f"{dlq.name} and {source.name} are not of one type (FIFO and standard): "
            "messages cannot move between them."
        )
    method, why = choose_method(args.method, admin.supports_move_tasks, args.limit)
    how = f"{METHOD_NAMES[method]} ({why})"
    if args.dry_run:
        count = dlq.stats.visible if args.limit is None else min(args.limit, dlq.stats.visible)
        moves = f"about {count} message(s) from {dlq.name} to {source.name}"
        out(f"Dry run: would move {moves} with {how}.")
        _note_in_flight(dlq)
        return EXIT_OK
    err(f"Moving messages from {dlq.name} to {source.name} with {how}")
    if method == "move-task":
        return _with_move_task(admin, dlq, source, args.max_per_second)
    return _receive_send(admin, dlq, source, args)


def _with_move_task(
    admin: SQSAdmin, dlq: QueueDetails, source: QueueDetails, rate: int | None
) -> int:
    try:
        handle = admin.start_move_task(dlq, source, rate)
    except QueueServiceError as error:
        raise QueueServiceError(
            f"{error} If this endpoint has no StartMessageMoveTask (emulators such as moto), "
            "use --method receive-send.",
            operation=error.operation,
            queue=error.queue,
        ) from error
    progress = _Progress(dlq.stats.visible)
    try:
        while True:
            task = admin.move_task(dlq, handle)
            progress.show(task.moved, task.to_move)
            if task.status in _ENDED:
                break
            time.sleep(_POLL_INTERVAL)
    except KeyboardInterrupt:
        moved = admin.cancel_move_task(dlq, handle)
        progress.done()
        out(f"Interrupted: cancelled the move task after it moved about {moved} message(s).")
        return EXIT_INTERRUPTED
    progress.done()
    if task.status == "FAILED":
        out(
            f"The move task failed after moving about {task.moved} message(s): "
            f"{task.failure_reason}"
        )
        return EXIT_FAILURE
    out(
        f"Moved about {task.moved} message(s) from {dlq.name} to {source.name} "
        f"({METHOD_NAMES['move-task']}, {task.status.lower()})."
    )
    return EXIT_OK


def _receive_send(
    admin: SQSAdmin, dlq: QueueDetails, source: QueueDetails, args: argparse.Namespace
) -> int:
    run_id = uuid.uuid4().hex[:12]
    progress = _Progress(dlq.stats.visible if args.limit is None else args.limit)
    moved = sent_twice = 0
    failed: dict[str, str] = {}
    started = time.monotonic()
    with _stop_requested() as stop:
        while not stop.is_set():
            room = MAX_BATCH_SIZE if args.limit is None else args.limit - moved - sent_twice
            if room <= 0:
                break
            batch = admin.move_batch(
                dlq,
                source,
                max_messages=min(room, MAX_BATCH_SIZE, args.max_per_second or MAX_BATCH_SIZE),
                visibility_timeout=args.visibility_timeout,
                run_id=run_id,
                skip=failed.keys(),
            )
            moved += batch.moved
            sent_twice += batch.not_deleted
            failed.update(batch.failed)
            progress.show(moved)
            if batch.received == batch.skipped:  # empty, or only messages that failed before
                break
            if args.max_per_second:
                stop.wait(started + (moved + sent_twice) / args.max_per_second - time.monotonic())
        interrupted = stop.is_set()
    progress.done()
    out(
        f"Moved {moved} message(s) from {dlq.name} to {source.name} "
        f"({METHOD_NAMES['receive-send']})."
    )
    if sent_twice:
        out(
            f"{sent_twice} message(s) were sent to {source.name} but could not be deleted from "
            f"{dlq.name}: they reappear there, and the next run sends them again (duplicates)."
        )
    if failed:
        reasons = sorted(set(failed.values()))
        out(
            f"{len(failed)} message(s) could not be sent and stay in {dlq.name}: "
            + "; ".join(reasons[:3])
        )
    if interrupted:
        out("Interrupted: run the command again to move the rest.")
        return EXIT_INTERRUPTED
    _note_in_flight(admin.details(dlq.name))
    return EXIT_FAILURE if failed else EXIT_OK


def _note_in_flight(dlq: QueueDetails) -> None:
    if dlq.stats.in_flight:
        out(
            f"{dlq.stats.in_flight} message(s) of {dlq.name} are in flight (being received "
            "elsewhere, or left by an interrupted run): they are visible again after their "
            "visibility timeout; run the command again then."
        )


@contextmanager
def _stop_requested() -> Iterator[threading.Event]:
    """Within the block, SIGINT/SIGTERM set the event (finish the batch, then stop).

    A second one raises `KeyboardInterrupt` at once; nothing is lost either way.
    """
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _Progress:
    """A progress line on stderr: rewritten in place on a terminal, else every 100 messages."""

    def __init__(self, expected: int) -> None:
        self._expected = expected
        self._tty = sys.stderr.isatty()
        self._shown = 0

    def show(self, moved: int, expected: int | None = None) -> None:
        total = self._expected if expected is None else expected
        line = f"moved {moved} of about {max(total, moved)}"
        if self._tty:
            sys.stderr.write(f"\r{line}  ")
            sys.stderr.flush()
        elif moved - self._shown >= _PROGRESS_EVERY:
            self._shown = moved
            err(line)

    def done(self) -> None:
        if self._tty:
            sys.stderr.write("\n")
            sys.stderr.flush()
