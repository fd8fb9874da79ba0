"""What ``simple-worker check`` reports: a problem (exit 1) or a warning, with its fix."""

from __future__ import annotations

import attrs


@attrs.frozen
class Finding:
    """Something wrong with a queue or a function: a ``problem`` (exit 1) or a ``warning``."""

    level: str
    text: str
    fix: str = ""
