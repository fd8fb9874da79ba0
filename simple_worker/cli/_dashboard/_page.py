"""The dashboard page: a `Snapshot` in, HTML out. Pure: no I/O, no clock (the time is in it).

Every value that comes from a queue or a message (names, ids, payloads, reasons,
error texts) goes through `_text`, which escapes ``& < > " '``: it is shown as text
in element content and in quoted attribute values alike, never read as markup. The
page has no inline script or style (its Content-Security-Policy forbids them); its
one script and its style (`_assets`) are served as files.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from simple_worker.cli._dashboard._snapshot import HISTORY_SECONDS, Sample
from simple_worker.cli._dead_letters import RECEIVE_VISIBILITY

if TYPE_CHECKING:
    from collections.abc import Sequence

    from simple_worker.cli._dashboard._snapshot import (
        DeadLetters,
        QueueGroup,
        QueueView,
        Snapshot,
    )
    from simple_worker.cli._dlq import DeadLetter

SPARK_WIDTH = 240
SPARK_HEIGHT = 36
_SERIES = (("visible", "#2563eb"), ("in_flight", "#d97706"), ("delayed", "#6b7280"))
OLDEST_AGE_NOTE = (
    "SQS's API does not give the age of a queue's oldest message: CloudWatch's "
    "ApproximateAgeOfOldestMessage metric does, and this page does not read CloudWatch."
)


def _text(value: object) -> str:
    """Return ``value`` as text for HTML content or a quoted attribute value."""
    return html.escape(str(value), quote=True)


def _clock(at: float | None) -> str:
    if at is None:
        return "not yet"
    return datetime.fromtimestamp(at, timezone.utc).strftime("%H:%M:%S UTC")


def render_page(snapshot: Snapshot, csrf: str) -> str:
    """Return the whole page for ``snapshot``; its forms carry the ``csrf`` token."""
    groups = "\n".join(_group(group, snapshot, csrf) for group in snapshot.groups)
    refresh = max(1, round(snapshot.interval))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>simple-worker dashboard: {_text(snapshot.app)}</title>
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head>
<body data-refresh="{refresh}">
<header>
<h1>simple-worker dashboard</h1>
<p>App <code>{_text(snapshot.app)}</code> on <code>{_text(snapshot.endpoint)}</code>.
Counts read at <span class="sampled">{_clock(snapshot.sampled_at)}</span>, every
{snapshot.interval:g} s; this page reloads itself at that pace while nothing is being typed.</p>
</header>
{_notices(snapshot)}
<main>
{groups or "<p>The app has no queues.</p>"}
</main>
<footer>
<p>Counts are SQS's approximations. Oldest message: {_text(OLDEST_AGE_NOTE)}</p>
</footer>
</body>
</html>
"""


def _notices(snapshot: Snapshot) -> str:
    items = []
    if snapshot.busy:
        items.append(f'<p class="notice busy">Running: {_text(snapshot.busy)}</p>')
    for notice in reversed(snapshot.notices):
        kind = "ok" if notice.ok else "error"
        items.append(
            f'<p class="notice {kind}"><span class="at">{_clock(notice.at)}</span> '
            f"{_text(notice.text)}</p>"
        )
    return f'<section class="notices">{"".join(items)}</section>' if items else ""


def _group(group: QueueGroup, snapshot: Snapshot, csrf: str) -> str:
    queue, dlq = group.queue, group.dead_letter_queue
    rows = [_row(queue, snapshot, csrf, source=None)]
    if dlq is not None:
        rows.append(_row(dlq, snapshot, csrf, source=queue.name))
    letters = "" if dlq is None else _dead_letters(dlq, csrf)
    return f"""<section class="group" data-queue="{_text(queue.name)}">
<h2>{_text(queue.name)}</h2>
<table class="counts">
<thead><tr><th scope="col">Queue</th><th scope="col">Visible</th><th scope="col">In flight</th>\
<th scope="col">Delayed</th><th scope="col">Last hour: <span class="key-visible">visible</span>, \
<span class="key-in-flight">in flight</span>, <span class="key-delayed">delayed</span></th>\
<th scope="col">Oldest message</th><th scope="col">Actions</th></tr></thead>
<tbody>
{"".join(rows)}
</tbody>
</table>
{letters}
</section>"""


def _row(view: QueueView, snapshot: Snapshot, csrf: str, *, source: str | None) -> str:
    kind = "dlq" if source is not None else "queue"
    label = f"dead letters: {view.name}" if source is not None else view.name
    if view.stats is None:
        cells = f'<td colspan="5" class="error">{_text(view.error or "not read yet")}</td>'
        actions = ""
    else:
        stats = view.stats
        cells = (
            f'<td class="visible">{stats.visible}</td>'
            f'<td class="in-flight">{stats.in_flight}</td>'
            f'<td class="delayed">{stats.delayed}</td>'
            f"<td>{sparkline(view.history, snapshot.now)}</td>"
            f'<td class="oldest"><abbr title="{_text(OLDEST_AGE_NOTE)}">'
            "not in SQS's API</abbr></td>"
        )
        forms = []
        if source is not None:
            forms.append(
                _confirm_form(
                    "/redrive",
                    view.name,
                    csrf,
                    title=f"Redrive to {source}",
                    verb="redrive",
                    what="move",
                )
            )
        forms.append(
            _confirm_form("/purge", view.name, csrf, title="Purge", verb="purge", what="delete")
        )
        actions = "".join(forms)
    return (
        f'<tr class="{kind}" data-queue="{_text(view.name)}"><th scope="row">{_text(label)}</th>'
        f'{cells}<td class="actions">{actions}</td></tr>\n'
    )


def _confirm_form(action: str, queue: str, csrf: str, *, title: str, verb: str, what: str) -> str:
    """Return a form behind a `<details>`, where the operator types the queue's name."""
    return f"""<details class="{verb}"><summary>{_text(title)}&hellip;</summary>
<form method="post" action="{action}" data-confirm="{_text(queue)}">
<input type="hidden" name="csrf" value="{_text(csrf)}">
<input type="hidden" name="queue" value="{_text(queue)}">
<label>This will {what} the messages of <code>{_text(queue)}</code>. Type its name to \
confirm: <input name="confirm" autocomplete="off" spellcheck="false" required></label>
<button type="submit">{_text(title)}</button>
<p class="mismatch" hidden></p>
</form></details>"""


def _dead_letters(dlq: QueueView, csrf: str) -> str:
    state = dlq.dead_letters
    read_again = f"""<form method="post" action="/dead-letters" class="read">
<input type="hidden" name="csrf" value="{_text(csrf)}">
<input type="hidden" name="queue" value="{_text(dlq.name)}">
<button type="submit">Read them again</button></form>"""
    how = (
        f"Reading receives each message with a {RECEIVE_VISIBILITY}-second visibility and "
        "makes it visible again at once: nothing moves, and each one's receive count goes "
        "up by one. So they are read when the dashboard starts and when you ask, not on "
        "every page view."
    )
    head = f'<h3>Dead letters in <code>{_text(dlq.name)}</code></h3>\n<p class="how">{how}</p>'
    return f"""<div class="dead-letters" data-queue="{_text(dlq.name)}">
{head}
{_letters_status(state)}
{read_again}
{_letters_table(state.letters if state else ())}
</div>"""


def _letters_status(state: DeadLetters | None) -> str:
    if state is None or state.read_at is None:
        text = "Not read yet." if state is None or not state.error else ""
    else:
        shown = len(state.letters)
        text = f"{shown} shown, read at {_clock(state.read_at)}."
    if state is not None and state.error:
        text += f" The last read failed: {_text(state.error)}"
    if state is not None and state.note:
        text += f" {_text(state.note)}"
    return f'<p class="status">{text.strip()}</p>'


def _letters_table(letters: Sequence[DeadLetter]) -> str:
    if not letters:
        return ""
    rows = "".join(_letter(letter) for letter in letters)
    return f"""<table class="letters">
<thead><tr><th scope="col">Message</th><th scope="col">Task</th><th scope="col">Task id</th>\
<th scope="col">Enqueued at</th><th scope="col">Receives</th><th scope="col">Payload</th>\
<th scope="col">Why it is here</th></tr></thead>
<tbody>
{rows}</tbody>
</table>"""


def _letter(letter: DeadLetter) -> str:
    return (
        f"<tr><td><code>{_text(letter.message_id)}</code></td>"
        f"<td>{_text(letter.task_name or '-')}</td>"
        f"<td><code>{_text(letter.task_id or '-')}</code></td>"
        f"<td>{_text(letter.enqueued_at or '-')}</td>"
        f'<td class="receives">{letter.receive_count}</td>'
        f'<td><code class="payload">{_text(letter.payload)}</code></td>'
        f'<td class="reason">{_text(letter.reason)}</td></tr>\n'
    )


def sparkline(samples: Sequence[Sample], now: float) -> str:
    """Return an inline SVG of the counts over the last hour, the latest ones held until ``now``.

    One line per count (visible, in flight, delayed), scaled to the hour's highest.
    """
    start = now - HISTORY_SECONDS
    shown = [s for s in samples if start <= s.at <= now]
    label = "no samples yet"
    lines = []
    if shown:
        shown.append(Sample(now, shown[-1].visible, shown[-1].in_flight, shown[-1].delayed))
        top = max(max(s.visible, s.in_flight, s.delayed) for s in shown) or 1
        for name, colour in _SERIES:
            points = " ".join(
                f"{(s.at - start) / HISTORY_SECONDS * SPARK_WIDTH:.1f},"
                f"{SPARK_HEIGHT - 2 - getattr(s, name) / top * (SPARK_HEIGHT - 4):.1f}"
                for s in shown
            )
            lines.append(
                f'<polyline class="{name}" fill="none" stroke="{colour}" stroke-width="1.5" '
                f'points="{points}"/>'
            )
        label = (
            f"last hour, highest: visible {max(s.visible for s in shown)}, in flight "
            f"{max(s.in_flight for s in shown)}, delayed {max(s.delayed for s in shown)}"
        )
    return (
        f'<svg class="spark" width="{SPARK_WIDTH}" height="{SPARK_HEIGHT}" '
        f'viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" role="img" aria-label="{label}">'
        f"<title>{label}</title>"
        f'<rect x="0" y="0" width="{SPARK_WIDTH}" height="{SPARK_HEIGHT}" fill="#f8fafc"/>'
        f"{''.join(lines)}</svg>"
    )


__all__ = ["render_page", "sparkline"]
