r"""Text taken from a message, made fit for an error message or a log line. Pure: no I/O.

Whatever a message holds, a line logged about it stays short: every piece of a
message that goes into an error message (a name, a key, a path, a version) or
into a log line (an error's text) goes through `excerpt` or `quoted`, with one
of the budgets below. Budgets are bytes as `JsonLogFormatter` writes them: JSON
with non-ASCII escaped, so ``é`` takes 6 bytes (``\u00e9``) and an emoji 12 (a
surrogate pair). That is never less than a character's UTF-8 size, so a budget
holds for plain-text logs too. With them, a line logged about a message that
cannot run stays within 4,096 bytes (docs/security.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable

NAME_BYTES = 64
"""A name or a key: a task name in a listing, a payload key, a pointer class."""
PLACE_BYTES = 512
"""Where: a path into a payload, an S3 pointer."""
REASON_BYTES = 1024
"""Why a message is not a task envelope."""
ERROR_BYTES = 1536
"""An error's text in a log line about a message."""


def excerpt(text: str, budget: int) -> str:
    """Return ``text`` shown in at most ``budget`` bytes (``budget`` at least 32).

    Characters that are not printable (line breaks, controls, lone surrogates)
    are escaped as `repr` escapes them, so a log line stays one line. Text over
    the budget keeps its beginning and ends in ``... (N characters)``, N being
    ``len(text)``.
    """
    return _fit(text, budget, _escaped)


def quoted(value: object, budget: int) -> str:
    """Return ``repr(value)`` in at most ``budget`` bytes, as `excerpt` cuts it.

    A str cut short keeps its quotes around its beginning: ``'abc'... (N characters)``.
    """
    if isinstance(value, str):
        return _fit(value, budget, repr)
    return _fit(repr(value), budget, _escaped)


def logged_size(text: str) -> int:
    """Return the bytes ``text`` takes inside a JSON string, non-ASCII escaped."""
    return len(json.dumps(text)) - 2


def _fit(text: str, budget: int, show: Callable[[str], str]) -> str:
    # No character takes less than a byte: the first ``budget`` are all that can fit.
    whole = show(text[: budget + 1])
    # Shown ASCII takes at most 2 bytes a character (``\\``, ``\"``): most names need no count.
    small = (whole.isascii() and 2 * len(whole) <= budget) or logged_size(whole) <= budget
    if len(text) <= budget and small:
        return whole
    suffix = f"... ({len(text)} characters)"
    fits, too_long = 0, min(len(text), budget) + 1
    while too_long - fits > 1:  # the longest beginning that fits, by bisection
        middle = (fits + too_long) // 2
        if logged_size(show(text[:middle])) + len(suffix) <= budget:
            fits = middle
        else:
            too_long = middle
    return show(text[:fits]) + suffix


def _escaped(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
