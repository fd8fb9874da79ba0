"""``simple-worker stats APP``: message counts of each queue and its dead-letter queue.

Counts are SQS's approximate ``ApproximateNumberOfMessages*`` attributes. The age
of the oldest message is not in SQS's API (only CloudWatch's
``ApproximateAgeOfOldestMessage`` metric has it), so it is not shown.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import attrs

from simple_worker.adapters.sqs._admin import SQSAdmin
from simple_worker.cli._common import (
    EXIT_FAILURE,
    EXIT_OK,
    add_app_argument,
    add_queues_argument,
    app_and_queues,
    one_line,
    out,
)
from simple_worker.domain._errors import CredentialsNotFound, QueueNotFound, QueueServiceError
from simple_worker.ports.queue import QueueStats

if TYPE_CHECKING:
    from simple_worker.cli._common import Commands

DEFAULT_WATCH_INTERVAL = 2.0
_CLEAR_SCREEN = "\033[H\033[2J"
FOOTNOTE = (
    "Counts are SQS's approximations. The oldest message's age is not in SQS's API: see "
    "the CloudWatch metric ApproximateAgeOfOldestMessage."
)


def register(commands: Commands) -> None:
    """Add the ``stats`` command."""
    parser = commands.add_parser(
        "stats",
        help="message counts per queue and dead-letter queue",
        description="Show visible, in-flight and delayed message counts of each of the "
        "app's queues and its dead-letter queue.",
        epilog="exit status: 0; 1 when a queue does not exist or cannot be read (without "
        "--watch); 2 a usage or configuration error.",
    )
    add_app_argument(parser)
    add_queues_argument(parser, "show")
    parser.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    parser.add_argument(
        "--watch",
        nargs="?",
        const=DEFAULT_WATCH_INTERVAL,
        type=float,
        metavar="SECONDS",
        help=f"refresh every SECONDS (default: {DEFAULT_WATCH_INTERVAL:g}) until Ctrl-C; "
        "with --json, one object per line",
    )
    parser.set_defaults(run=run)


@attrs.frozen
class QueueCounts:
    """One queue's counts, or why there are none; with its dead-letter queue's."""

    queue: str
    stats: QueueStats | None = None
    error: str = ""
    dead_letter: QueueCounts | None = None


def collect(admin: SQSAdmin, queues: Sequence[str]) -> list[QueueCounts]:
    """Read the counts of every queue and of its dead-letter queue."""
    return [_read(admin, name) for name in queues]


def _read(admin: SQSAdmin, name: str, *, follow: bool = True) -> QueueCounts:
    try:
        details = admin.details(name)
    except QueueNotFound:
        return QueueCounts(name, error="does not exist")
    except CredentialsNotFound:
        raise  # the same for every queue: one configuration error, not a row per queue
    except QueueServiceError as error:
        return QueueCounts(name, error=one_line(error))
    dead_letter = None
    if follow and details.redrive is not None:
        dead_letter = _read(admin, details.redrive.dead_letter_queue, follow=False)
    return QueueCounts(name, details.stats, dead_letter=dead_letter)


def render_table(rows: Sequence[QueueCounts]) -> str:
    """Return the counts as a table for people: each queue, then its dead-letter queue."""
    lines: list[tuple[str, QueueCounts]] = []
    for row in rows:
        lines.append((row.queue, row))
        if row.dead_letter is not None:
            lines.append((f"  dead letters: {row.dead_letter.queue}", row.dead_letter))
    width = max([len("QUEUE"), *(len(label) for label, _ in lines)])
    text = [f"{'QUEUE':<{width}}  {'VISIBLE':>9}  {'IN FLIGHT':>9}  {'DELAYED':>9}"]
    for label, counts in lines:
        if counts.stats is None:
            text.append(f"{label:<{width}}  {counts.error}")
        else:
            s = counts.stats
            text.append(f"{label:<{width}}  {s.visible:>9}  {s.in_flight:>9}  {s.delayed:>9}")
    return "\n".join(text)


def render_json(rows: Sequence[QueueCounts], now: datetime) -> str:
    """Return the counts as one line of JSON, for scripts."""

    def entry(counts: QueueCounts) -> dict[str, object]:
        item: dict[str, object] = {"queue": counts.queue}
        if counts.stats is None:
            item["error"] = counts.error
        else:
            item.update(attrs.asdict(counts.stats))
        return item

    queues = []
    for row in rows:
        item = entry(row)
        if row.stats is not None:
            item["dead_letter_queue"] = None if row.dead_letter is None else entry(row.dead_letter)
        queues.append(item)
    stamp = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"time": stamp, "queues": queues})


def run(args: argparse.Namespace) -> int:
    """Run ``stats``; return its exit status."""
    app, queues = app_and_queues(args)
    admin = SQSAdmin.of(app.queue)
    if args.watch is None:
        rows = collect(admin, queues)
        _show(rows, as_json=args.json, footnote=True)
        failed = any(r.error or (r.dead_letter and r.dead_letter.error) for r in rows)
        return EXIT_FAILURE if failed else EXIT_OK
    clear = sys.stdout.isatty() and not args.json
    try:
        while True:
            rows = collect(admin, queues)
            if clear:
                sys.stdout.write(_CLEAR_SCREEN)
            if not args.json:
                out(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC, every {args.watch:g} s")
            _show(rows, as_json=args.json, footnote=False)
            time.sleep(max(args.watch, 0.1))
    except KeyboardInterrupt:
        return EXIT_OK


def _show(rows: Sequence[QueueCounts], *, as_json: bool, footnote: bool) -> None:
    if as_json:
        out(render_json(rows, datetime.now(timezone.utc)))
        return
    out(render_table(rows))
    if footnote:
        out(FOOTNOTE)
    else:
        out()
