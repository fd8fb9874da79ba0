"""Plain-JSON payloads. Pure: no I/O.

A payload is a mapping of keyword names to values that survive a JSON round trip
exactly: what the handler receives equals what the producer passed. So only
``dict`` (str keys), ``list``, ``str``, ``int``, finite ``float``, ``bool`` and
``None`` are accepted, by exact type: a tuple would come back as a list, an
``IntEnum`` as a bare int, NaN is not JSON at all. Anything else is refused, never
converted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeAlias

from simple_worker.domain._errors import InvalidPayload
from simple_worker.domain._excerpt import NAME_BYTES, quoted

JSONValue: TypeAlias = "dict[str, JSONValue] | list[JSONValue] | str | int | float | bool | None"
Payload: TypeAlias = Mapping[str, Any]
"""The keyword arguments of a task, checked by `check_payload`."""

MAX_INT_BITS = 14_000
"""Larger ints (about 4,200 digits) are refused: Python will not print them as JSON."""
MAX_DEPTH = 64
"""Nesting deeper than this is refused: no handler needs it, and decoders recurse."""

_SCALARS = (bool, type(None))


def check_payload(task_name: str, payload: object) -> dict[str, Any]:
    """Return a plain ``dict`` copy of ``payload`` if it is plain JSON.

    Raises:
        InvalidPayload: names the first offending value by its path, e.g. ``payload['a'][2]``.
    """
    if not isinstance(payload, Mapping):
        raise InvalidPayload(task_name, "payload", f"{type(payload).__name__} is not a mapping")
    copy = dict(payload)
    stack: list[tuple[object, str, int]] = [(copy, "payload", 0)]
    while stack:
        value, path, depth = stack.pop()
        if type(value) is dict or type(value) is list:
            if depth >= MAX_DEPTH:
                raise InvalidPayload(task_name, path, f"nested deeper than {MAX_DEPTH} levels")
            stack.extend(_children(task_name, value, path, depth + 1))
        else:
            _check_scalar(task_name, value, path)
    return copy


def _children(
    task_name: str, container: dict[Any, Any] | list[Any], path: str, depth: int
) -> list[tuple[object, str, int]]:
    if isinstance(container, list):
        return [(item, f"{path}[{index}]", depth) for index, item in enumerate(container)]
    children: list[tuple[object, str, int]] = []
    for key, item in container.items():
        if type(key) is not str:
            raise InvalidPayload(
                task_name, path, f"key {_label(key)} is a {type(key).__name__}, not a str"
            )
        child = f"{path}[{_label(key)}]"
        _check_text(task_name, key, child)
        children.append((item, child, depth))
    return children


def _check_scalar(task_name: str, value: object, path: str) -> None:
    if type(value) is str:
        _check_text(task_name, value, path)
    elif type(value) in _SCALARS:
        return
    elif type(value) is int:
        if value.bit_length() > MAX_INT_BITS:
            raise InvalidPayload(task_name, path, "the integer is too large for JSON")
    elif type(value) is float:
        if not math.isfinite(value):
            raise InvalidPayload(task_name, path, f"{value!r} is not a JSON number")
    else:
        raise InvalidPayload(task_name, path, f"{type(value).__name__} is not a JSON type")


def _check_text(task_name: str, text: str, path: str) -> None:
    """Refuse a lone surrogate: JSON can escape it, but it is no Unicode text."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidPayload(
                task_name, path, "the string has a lone surrogate, which is not Unicode text"
            ) from None


def _label(key: object) -> str:
    """Return ``key`` quoted for a path, cut short: a hostile key must not make a huge message."""
    return quoted(key, NAME_BYTES)
