"""``simple-worker enqueue`` (one task, exactly as ``add_task``) and ``simple-worker purge``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from simple_worker.adapters.sqs._admin import SQSAdmin
from simple_worker.cli._common import (
    EXIT_FAILURE,
    EXIT_OK,
    add_app_argument,
    app_queue,
    confirmed_by_name,
    err,
    out,
)
from simple_worker.cli._loading import load_app
from simple_worker.domain._errors import ConfigurationError, InvalidTaskOptions
from simple_worker.domain._options import MAX_DELAY_SECONDS

if TYPE_CHECKING:
    from simple_worker.cli._common import Commands


def register(commands: Commands) -> None:
    """Add the ``enqueue`` and ``purge`` commands."""
    enqueue = commands.add_parser(
        "enqueue",
        help="enqueue one task, validated like add_task",
        description="Enqueue one task with app.add_task, so it is validated exactly as in "
        "code, and print its id. The payload is --payload JSON_OBJECT, or key=value pairs "
        "whose values are read as JSON when they parse (n=1 is a number, ok=true a "
        "boolean, tags='[\"a\"]' a list) and as strings otherwise (name=Ada); quote a "
        "string that looks like JSON: n='\"1\"'.",
        epilog="exit status: 0 when the task was sent; 1 when SQS failed; 2 a usage or "
        "configuration error, or a task that add_task refuses.",
    )
    add_app_argument(enqueue)
    enqueue.add_argument("task_name", metavar="TASK_NAME", help="the registered task name")
    enqueue.add_argument("pairs", nargs="*", metavar="KEY=VALUE", help="the payload, by key")
    enqueue.add_argument("--payload", metavar="JSON", help="the payload as a JSON object")
    enqueue.add_argument(
        "--delay",
        type=_delay,
        metavar="SECONDS",
        help="seconds (0 to 900) before it can run; for later, --not-before",
    )
    enqueue.add_argument(
        "--not-before",
        type=_aware_time,
        metavar="TIME",
        help="an ISO 8601 time with its offset (2026-12-24T18:00:00+01:00, or Z for UTC) "
        "before which it does not run",
    )
    enqueue.add_argument("--group-id", metavar="ID", help="the message group id (FIFO, fair)")
    enqueue.add_argument(
        "--deduplication-id", metavar="ID", help="the deduplication id (FIFO queues)"
    )
    enqueue.set_defaults(run=run_enqueue)

    purge = commands.add_parser(
        "purge",
        help="delete every message of a queue",
        description="Delete every message of one of the app's queues (or of its dead-letter "
        "queue) with SQS's PurgeQueue, after asking to type the queue's name.",
        epilog="exit status: 0 when purged; 1 when not confirmed, or SQS failed; 2 a usage or "
        "configuration error (including no terminal to confirm on without --yes).",
    )
    add_app_argument(purge)
    purge.add_argument(
        "--queue", required=True, metavar="NAME", help="the queue, without the prefix (or with it)"
    )
    purge.add_argument(
        "--dead-letter",
        action="store_true",
        help="purge the queue's dead-letter queue instead",
    )
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    purge.set_defaults(run=run_purge)


def _delay(text: str) -> int:
    """Parse ``--delay``: whole seconds, 0 to 900 (SQS's limit); beyond, ``--not-before``."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_DELAY_SECONDS:
        raise argparse.ArgumentTypeError(
            f"expected whole seconds from 0 to {MAX_DELAY_SECONDS} (SQS's limit), got "
            f"{text!r}; for a later time, use --not-before TIME"
        )
    return value


def _aware_time(text: str) -> datetime:
    """Parse an ISO 8601 time with an offset (``Z`` for UTC), for ``--not-before``."""
    example = "such as 2026-12-24T18:00:00+01:00, or 2026-12-24T17:00:00Z for UTC"
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time with its UTC offset, {example}; got {text!r}"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no UTC offset, so its time zone is unknown: add one, {example}"
        )
    return moment


def _strict_json(text: str) -> object:
    """Parse JSON, refusing NaN and Infinity, which are not JSON.

    Raises:
        ValueError: ``text`` is not JSON.
    """

    def refuse(constant: str) -> object:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def parse_value(text: str) -> object:
    """Return ``text`` read as JSON when it parses, otherwise the string itself."""
    try:
        return _strict_json(text)
    except ValueError:
        return text


def parse_payload(payload: str | None, pairs: Sequence[str]) -> dict[str, object]:
    """Return the payload from ``--payload`` or from ``key=value`` pairs.

    Raises:
        ConfigurationError: both or a malformed one are given: not a JSON object, not
            ``key=value``, or a key given twice.
    """
    if payload is not None:
        if pairs:
            raise ConfigurationError(
                "Give the payload as --payload or as key=value pairs, not both."
            )
        try:
            value = _strict_json(payload)
        except ValueError as exc:
            raise ConfigurationError(f"--payload is not JSON: {exc}.") from None
        if not isinstance(value, dict):
            raise ConfigurationError(
                f"--payload must be a JSON object (the task's keyword arguments), not a "
                f"{type(value).__name__}."
            )
        return value
    result: dict[str, object] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        if not equals or not key:
            raise ConfigurationError(f"{pair!r} is not key=value.")
        if key in result:
            raise ConfigurationError(f"{key!r} is given twice.")
        result[key] = parse_value(text)
    return result


def run_enqueue(args: argparse.Namespace) -> int:
    """Run ``enqueue``: ``app.add_task(task_name, **payload)``; print the task id."""
    payload = parse_payload(args.payload, args.pairs)
    app = load_app(args.app)
    sender = app.with_options(
        delay=args.delay,
        not_before=args.not_before,
        group_id=args.group_id,
        deduplication_id=args.deduplication_id,
    )
    try:
        task_id = sender.add_task(args.task_name, **payload)
    except InvalidTaskOptions as error:
        # Its message names add_task's options; say what they are called here.
        raise InvalidTaskOptions(
            f"{error} (On the command line: --delay, --not-before, --group-id, --deduplication-id.)"
        ) from error
    out(task_id)
    return EXIT_OK


def run_purge(args: argparse.Namespace) -> int:
    """Run ``purge``; return its exit status."""
    app = load_app(args.app)
    admin = SQSAdmin.of(app.queue)
    queue = admin.details(app_queue(app, args.queue))
    if args.dead_letter:
        if queue.redrive is None:
            raise ConfigurationError(
                f"{queue.name} has no redrive policy, so no dead-letter queue."
            )
        queue = admin.details(queue.redrive.dead_letter_queue)
    count = queue.stats.visible + queue.stats.in_flight + queue.stats.delayed
    if not args.yes and not confirmed_by_name(
        queue.name,
        f"Purge {queue.name}: delete its {count} message(s) (approximately) for good?",
        what=f"purge {queue.name}",
    ):
        err("Not purged.")
        return EXIT_FAILURE
    admin.purge(queue)
    out(f"Purged {queue.name}: SQS deletes its messages within 60 seconds.")
    return EXIT_OK
