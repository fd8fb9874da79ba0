"""``simple-worker dlq show APP --queue NAME``: what the dead-letter queue holds, and why.

It reads the dead letters without moving or deleting any: each is received with a
short visibility timeout (`RECEIVE_VISIBILITY` seconds), and every one received is
made visible again at once (visibility 0) after reading, whatever happened in
between. Receiving is not free: each shown message's receive count goes up by one.
A dead-letter queue normally has no redrive policy of its own, so that moves
nothing; while the command runs, the messages it holds are hidden from other
receivers for at most `RECEIVE_VISIBILITY` seconds.

For each message, the reason it cannot run is computed now, as a worker with this
app's registry would decide it: the body is decoded (`decode_envelope`), the task is
looked up (`UnknownTask`) and its payload checked against the handler's signature
(`PayloadMismatch`). A large-payload pointer is named, not fetched.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

import attrs

from simple_worker.adapters.sqs._admin import SQSAdmin
from simple_worker.cli._common import EXIT_OK, add_app_argument, app_queue, out, positive_int
from simple_worker.cli._dead_letters import (
    RECEIVE_VISIBILITY,
    Unreadable,
    read_dead_letters,
    read_task,
    why_unrunnable,
)
from simple_worker.cli._loading import load_app
from simple_worker.cli._redrive import add_redrive_parser
from simple_worker.domain._envelope import format_timestamp
from simple_worker.domain._errors import (
    ConfigurationError,
)
from simple_worker.domain._excerpt import (
    NAME_BYTES,
    excerpt,
)
from simple_worker.ports.queue import (
    ReceivedMessage,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from simple_worker.cli._common import Commands
    from simple_worker.domain._registry import TaskRegistry

DEFAULT_LIMIT = 10
PAYLOAD_BYTES = 200
"""A payload's excerpt in the listing, without ``--full``."""

_HOW_IT_READS = (
    "It moves and deletes nothing: each message is received with a visibility timeout of "
    f"{RECEIVE_VISIBILITY} s and made visible again at once after reading. Each shown "
    "message's receive count goes up by one (a dead-letter queue normally has no redrive "
    "policy of its own, so nothing moves); while the command runs, the messages it read "
    "are hidden from other receivers, for at most "
    f"{RECEIVE_VISIBILITY} s should it be killed."
)


def register(commands: Commands) -> None:
    """Add the ``dlq`` command and its ``show`` subcommand."""
    dlq = commands.add_parser(
        "dlq",
        help="inspect a queue's dead-letter queue",
        description="Inspect the dead-letter queue of one of the app's queues.",
    )
    actions = dlq.add_subparsers(title="subcommands", required=True, metavar="SUBCOMMAND")
    show = actions.add_parser(
        "show",
        help="list the dead letters and why each cannot run",
        description="List the messages of a queue's dead-letter queue (the one in its "
        "redrive policy): task name, task id, enqueued time, receive count, payload, and "
        "the reason it cannot run, computed now with the app's registry. " + _HOW_IT_READS,
        epilog="exit status: 0 when listed; 1 when SQS failed; 2 a usage or configuration "
        "error (no such queue, no redrive policy).",
    )
    add_app_argument(show)
    show.add_argument(
        "--queue",
        required=True,
        metavar="NAME",
        help="the queue whose dead-letter queue to show, without the prefix (or with it)",
    )
    show.add_argument(
        "--limit",
        type=positive_int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"show at most N messages (default: {DEFAULT_LIMIT})",
    )
    show.add_argument(
        "--json", action="store_true", help="print one JSON object per message, one per line"
    )
    show.add_argument(
        "--full",
        action="store_true",
        help=f"print whole payloads (default: cut to about {PAYLOAD_BYTES} characters)",
    )
    show.set_defaults(run=run_show)
    add_redrive_parser(actions, "redrive")


@attrs.frozen
class DeadLetter:
    """One message of a dead-letter queue, as ``dlq show`` prints it."""

    message_id: str
    task_name: str | None
    task_id: str | None
    enqueued_at: str | None
    receive_count: int
    payload: str
    reason: str

    def as_json(self) -> str:
        """Return the message as a JSON object on one line, its keys always the same."""
        return json.dumps(attrs.asdict(self), ensure_ascii=True)

    def as_text(self) -> str:
        """Return the message as a block of ``key: value`` lines."""
        lines = [
            f"message {self.message_id}",
            f"  task:          {self.task_name or '-'}",
            f"  task id:       {self.task_id or '-'}",
            f"  enqueued at:   {self.enqueued_at or '-'}",
            f"  receive count: {self.receive_count}",
            f"  payload:       {self.payload}",
            f"  reason:        {self.reason}",
        ]
        return "\n".join(lines)


def explain(message: ReceivedMessage, registry: TaskRegistry, *, full: bool) -> DeadLetter:
    """Return what ``message`` is and why a worker with ``registry`` would not run it now."""
    payload_budget = max(_full_budget(message.body), PAYLOAD_BYTES) if full else PAYLOAD_BYTES
    message_id = excerpt(message.message_id, NAME_BYTES)
    task = read_task(message.body)
    if isinstance(task, Unreadable):
        return DeadLetter(
            message_id=message_id,
            task_name=None,
            task_id=None,
            enqueued_at=None,
            receive_count=message.receive_count,
            payload=excerpt(message.body, payload_budget),
            reason=task.reason,
        )
    payload = json.dumps(dict(task.payload), ensure_ascii=True)
    return DeadLetter(
        message_id=message_id,
        task_name=excerpt(task.name, NAME_BYTES),
        task_id=None if task.id is None else excerpt(task.id, NAME_BYTES * 2),
        enqueued_at=None if task.enqueued_at is None else format_timestamp(task.enqueued_at),
        receive_count=message.receive_count,
        payload=excerpt(
            payload, max(_full_budget(payload), PAYLOAD_BYTES) if full else PAYLOAD_BYTES
        ),
        reason=_why_not(task.name, task.payload, registry, message.receive_count),
    )


def _why_not(
    name: str, payload: Mapping[str, object], registry: TaskRegistry, receive_count: int
) -> str:
    refusal = why_unrunnable(name, payload, registry)
    if refusal is not None:
        return refusal
    # The count includes this command's own receive.
    before = receive_count - 1
    if before <= 0:
        return "runs now; not received before this look (sent to the dead-letter queue directly?)"
    return f"failed {before} times"


def _full_budget(text: str) -> int:
    # An escaped character takes at most 12 bytes (a surrogate pair): nothing is cut.
    return 12 * len(text) + 64


def run_show(args: argparse.Namespace) -> int:
    """Run ``dlq show``; return its exit status."""
    app = load_app(args.app)
    admin = SQSAdmin.of(app.queue)
    source = admin.details(app_queue(app, args.queue))
    if source.redrive is None:
        raise ConfigurationError(
            f"{source.name} has no redrive policy, so no dead-letter queue to show."
        )
    dlq = admin.details(source.redrive.dead_letter_queue)
    messages = read_dead_letters(app.queue, dlq.name, args.limit)
    letters = [explain(m, app.registry, full=args.full) for m in messages]
    if args.json:
        for letter in letters:
            out(letter.as_json())
        return EXIT_OK
    for n, letter in enumerate(letters):
        if n:
            out()
        out(letter.as_text())
    shown = f"{len(letters)} message(s) of {dlq.name}"
    total = dlq.stats.visible + dlq.stats.in_flight
    out(("\n" if letters else "") + f"Shown {shown} (about {total} in it); all left in place.")
    return EXIT_OK
