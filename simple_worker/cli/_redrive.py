"""``simple-worker redrive APP --queue NAME``: move messages from a dead-letter queue back.

Two ways, and the command says which ran:

- ``move-task``: SQS's own message move task (``StartMessageMoveTask``), on AWS
  endpoints; SQS moves the messages, this command follows its progress.
- ``receive-send``: this process receives up to 10 messages from the dead-letter
  queue, sends them to the source queue (``SendMessageBatch``), then deletes only
  the ones that were sent. Never a delete before the send succeeded: an
  interruption at any point loses nothing, and may at worst send a message twice.
  Used where the endpoint has no move tasks (emulators such as moto), with
  ``--limit``, ``--task`` or ``--drop-if-unrunnable``, or when asked.

``--task NAME`` moves only the messages of that task: the others are received too
(each one's receive count goes up by one), left in the dead-letter queue hidden
while the run lasts, and made visible again at its end. ``--drop-if-unrunnable``
deletes, instead of moving, the messages the app's workers would refuse now (not a
task envelope, an unknown task, a payload that does not fit the handler: the
reasons ``dlq show`` gives), after the operator typed the dead-letter queue's name
(or passed ``--yes``). A large-payload pointer is never dropped: whether it fits
cannot be known without fetching it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from simple_worker.adapters.sqs._admin import QueueDetails, SQSAdmin
from simple_worker.adapters.sqs._admin_shapes import Route
from simple_worker.cli._common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    add_app_argument,
    app_queue,
    confirmed_by_name,
    err,
    out,
    positive_int,
    visibility_seconds,
)
from simple_worker.cli._dead_letters import judge, read_dead_letters
from simple_worker.cli._loading import load_app
from simple_worker.domain._errors import ConfigurationError, QueueServiceError
from simple_worker.domain._queue_rules import check_queue_name
from simple_worker.ports.queue import MAX_BATCH_SIZE, VisibilityChange

if TYPE_CHECKING:
    from simple_worker.app import App
    from simple_worker.cli._common import Commands
    from simple_worker.domain._registry import TaskRegistry

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
    add_redrive_parser(commands, "redrive")


def add_redrive_parser(commands: Commands, name: str) -> None:
    """Add the redrive command as ``name`` (``redrive``, or ``dlq``'s ``redrive``)."""
    parser = commands.add_parser(
        name,
        help="move messages from a dead-letter queue back to its queue",
        description="Move the messages of a queue's dead-letter queue back to the queue, "
        "with SQS's message move task where the endpoint has it, otherwise by receiving, "
        "sending and deleting them here (never deleting one before it was sent).",
        epilog="exit status: 0 when every message was moved; 1 when some could not be, SQS "
        "failed, or a drop was not confirmed; 2 a usage or configuration error; 130 "
        "interrupted (Ctrl-C).",
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
        "--task",
        action="append",
        metavar="NAME",
        help="move only the messages of this task (repeat for several); the others stay",
    )
    parser.add_argument(
        "--drop-if-unrunnable",
        action="store_true",
        help="delete, instead of moving, the messages this app's workers would refuse now "
        "(not a task, unknown task, payload that does not fit); asks to type the dead-letter "
        "queue's name first",
    )
    parser.add_argument(
        "--yes", action="store_true", help="with --drop-if-unrunnable: do not ask; drop them"
    )
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="auto",
        help="move-task on AWS endpoints without --limit, --task or --drop-if-unrunnable, "
        "receive-send otherwise (default: auto)",
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


def choose_method(
    asked: str, endpoint_has_move_tasks: bool, limit: int | None, *, selective: str | None = None
) -> tuple[str, str]:
    """Return the method to use and why.

    Args:
        asked: the ``--method`` given.
        endpoint_has_move_tasks: whether the endpoint is AWS's own.
        limit: ``--limit``, if given.
        selective: the option that looks at each message (``--task``), if one was given.

    Raises:
        ConfigurationError: ``move-task`` was asked with an option it cannot honour.
    """
    needs_us = "--limit" if limit is not None else selective
    if asked == "move-task" and needs_us is not None:
        raise ConfigurationError(
            f"{needs_us} works with --method receive-send only: SQS's move task moves every "
            "message."
        )
    if asked != "auto":
        return asked, "as asked"
    if needs_us is not None:
        return "receive-send", f"{needs_us} needs it"
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
    if args.yes and not args.drop_if_unrunnable:
        raise ConfigurationError("--yes goes with --drop-if-unrunnable only.")
    selective = (
        "--task" if args.task else "--drop-if-unrunnable" if args.drop_if_unrunnable else None
    )
    method, why = choose_method(
        args.method, admin.supports_move_tasks, args.limit, selective=selective
    )
    how = f"{METHOD_NAMES[method]} ({why})"
    sorter = _Sorter(app.registry, args.task, drop=args.drop_if_unrunnable)
    for name in sorter.unknown_tasks():
        err(f"Note: no handler is registered for {name!r} in this app; its messages move anyway.")
    if selective is not None and args.dry_run:
        return _dry_run_by_message(
            app=app, dlq=dlq, source=source, sorter=sorter, limit=args.limit, how=how
        )
    if args.dry_run:
        count = dlq.stats.visible if args.limit is None else min(args.limit, dlq.stats.visible)
        moves = f"about {count} message(s) from {dlq.name} to {source.name}"
        out(f"Dry run: would move {moves} with {how}.")
        _note_in_flight(dlq)
        return EXIT_OK
    if (
        args.drop_if_unrunnable
        and not args.yes
        and not confirmed_by_name(
            dlq.name,
            f"Delete for good the messages of {dlq.name} that this app's workers would refuse "
            "(not a task, unknown task, payload that does not fit)?",
            what="drop messages",
        )
    ):
        err("Not confirmed: nothing moved or dropped.")
        return EXIT_FAILURE
    err(f"Moving messages from {dlq.name} to {source.name} with {how}")
    if method == "move-task":
        return _with_move_task(admin, dlq, source, args.max_per_second)
    return _receive_send(app=app, admin=admin, dlq=dlq, source=source, args=args, sorter=sorter)


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
    *,
    app: App,
    admin: SQSAdmin,
    dlq: QueueDetails,
    source: QueueDetails,
    args: argparse.Namespace,
    sorter: _Sorter,
) -> int:
    run_id = uuid.uuid4().hex[:12]
    progress = _Progress(dlq.stats.visible if args.limit is None else args.limit)
    moved = sent_twice = dropped = 0
    failed: dict[str, str] = {}
    left: dict[str, str] = {}
    started = time.monotonic()
    try:
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
                    skip=failed.keys() | left.keys(),
                    route=sorter.route if sorter.selective else None,
                )
                moved += batch.moved
                sent_twice += batch.not_deleted
                dropped += batch.dropped
                failed.update(batch.failed)
                left.update(batch.left)
                progress.show(moved)
                if batch.received == batch.skipped:  # empty, or only messages seen before
                    break
                if args.max_per_second:
                    done = moved + sent_twice
                    stop.wait(started + done / args.max_per_second - time.monotonic())
            interrupted = stop.is_set()
    finally:
        # Left in place means visible again now, not after the run's visibility timeout.
        if left:
            app.queue.change_visibility_batch(
                dlq.name, [VisibilityChange(receipt, 0) for receipt in left.values()]
            )
    progress.done()
    out(
        f"Moved {moved} message(s) from {dlq.name} to {source.name} "
        f"({METHOD_NAMES['receive-send']})."
    )
    if dropped:
        out(f"Dropped {dropped} message(s) that this app's workers would refuse (deleted).")
        _note_refusals(sorter)
    if left:
        out(f"Left {len(left)} message(s) of other tasks in {dlq.name}.")
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


_REASONS_SHOWN = 5
DRY_RUN_READ_LIMIT = 1000
"""Messages a dry run of ``--task``/``--drop-if-unrunnable`` reads at most, without ``--limit``."""


class _Sorter:
    """Routes each dead letter: moved back, dropped (unrunnable, as asked), or left in place."""

    def __init__(self, registry: TaskRegistry, tasks: Sequence[str] | None, *, drop: bool) -> None:
        self._registry = registry
        self._tasks = frozenset(tasks or ())
        self._drop = drop
        self.selective = bool(self._tasks) or drop
        self.refusals: Counter[str] = Counter()

    def unknown_tasks(self) -> list[str]:
        return sorted(name for name in self._tasks if name not in self._registry.task_names())

    def route(self, body: str) -> Route:
        verdict = judge(body, self._registry)
        if self._tasks and verdict.task_name not in self._tasks:
            return "leave"
        if self._drop and verdict.refusal is not None:
            self.refusals[verdict.refusal] += 1
            return "drop"
        return "move"


def _dry_run_by_message(
    *,
    app: App,
    dlq: QueueDetails,
    source: QueueDetails,
    sorter: _Sorter,
    limit: int | None,
    how: str,
) -> int:
    messages = read_dead_letters(app.queue, dlq.name, limit or DRY_RUN_READ_LIMIT)
    routes = Counter(sorter.route(message.body) for message in messages)
    total = dlq.stats.visible + dlq.stats.in_flight
    out(
        f"Dry run: of {len(messages)} message(s) read from {dlq.name} (about {total} in it), "
        f"would move {routes['move']} to {source.name}, drop {routes['drop']}, "
        f"leave {routes['leave']}, with {how}."
    )
    _note_refusals(sorter)
    err(
        "Reading them moved and deleted nothing; each one's receive count went up by one, "
        "and all are visible again."
    )
    return EXIT_OK


def _note_refusals(sorter: _Sorter) -> None:
    if sorter.refusals:
        shown = sorter.refusals.most_common(_REASONS_SHOWN)
        more = len(sorter.refusals) - len(shown)
        reasons = "; ".join(f"{reason} ({n})" for reason, n in shown)
        out(f"Refused by this app's workers: {reasons}" + (f"; {more} more" if more else ""))


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
