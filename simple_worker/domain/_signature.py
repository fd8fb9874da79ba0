"""Whether a payload fits a handler. Pure: no I/O.

Payloads bind by name only. A handler is inspected once, at registration; the
check per task is then two set operations. The matcher refuses, it never drops:
an unexpected key is an error, not a silently ignored argument.

A handler is a plain function or an ``async def`` coroutine function (the worker
awaits it on its event loop). An async generator function is refused at
registration: calling it only makes an async generator, whose body no worker runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from simple_worker.domain._errors import PayloadMismatch, UnsupportedHandler

_BY_NAME = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


@attrs.frozen
class HandlerSignature:
    """The keyword parameters a task handler takes."""

    task_name: str
    required: frozenset[str]
    optional: frozenset[str]
    takes_any_keyword: bool

    @classmethod
    def of(cls, task_name: str, handler: Callable[..., Any]) -> HandlerSignature:
        """Inspect ``handler``.

        Raises:
            UnsupportedHandler: it is an async generator function (see
                `async_kind`) or a generator function (see `generator_kind`), it has
                positional-only parameters or ``*args``, or its signature cannot
                be inspected.
        """
        kind = async_kind(handler)
        if kind is not None and "generator" in kind:
            raise UnsupportedHandler(
                task_name,
                [],
                f"it is {kind}: calling it would only make an async generator, and its "
                "body would never run",
                "Return instead of yield: make it a plain async def (awaited on the "
                "worker's event loop), or iterate inside one.",
            )
        kind = generator_kind(handler)
        if kind is not None:
            raise UnsupportedHandler(
                task_name,
                [],
                f"it is {kind}: calling it would only make a generator, and its body "
                "would never run",
                "Return instead of yield, or iterate inside a plain handler.",
            )
        try:
            parameters = inspect.signature(handler).parameters.values()
        except (TypeError, ValueError) as exc:
            raise UnsupportedHandler(
                task_name, [], f"the signature of {handler!r} cannot be inspected ({exc})"
            ) from exc
        positional_only = [p.name for p in parameters if p.kind is p.POSITIONAL_ONLY]
        if positional_only:
            raise UnsupportedHandler(
                task_name, positional_only, "it has positional-only parameters"
            )
        var_positional = [f"*{p.name}" for p in parameters if p.kind is p.VAR_POSITIONAL]
        if var_positional:
            raise UnsupportedHandler(task_name, var_positional, "it takes *args")
        by_name = [p for p in parameters if p.kind in _BY_NAME]
        return cls(
            task_name=task_name,
            required=frozenset(p.name for p in by_name if p.default is p.empty),
            optional=frozenset(p.name for p in by_name if p.default is not p.empty),
            takes_any_keyword=any(p.kind is p.VAR_KEYWORD for p in parameters),
        )

    def takes(self, name: str) -> bool:
        """Return whether the handler has a parameter (or ``**kwargs``) for ``name``."""
        return name in self.required or name in self.optional or self.takes_any_keyword

    def check(self, payload: Mapping[str, object]) -> None:
        """Do nothing if ``payload`` binds to the handler.

        Raises:
            PayloadMismatch: names the missing and the unexpected keys.
        """
        keys = payload.keys()
        missing = self.required - keys
        unexpected = set() if self.takes_any_keyword else keys - self.required - self.optional
        if missing or unexpected:
            raise PayloadMismatch(
                self.task_name, missing=list(missing), unexpected=list(unexpected)
            )


def async_kind(handler: Callable[..., Any]) -> str | None:
    """Return what makes ``handler`` asynchronous, or None for a synchronous callable.

    Sees through `functools.partial` and bound methods, to an object's ``__call__``,
    and (Python 3.12+) honours `inspect.markcoroutinefunction`. A sync wrapper around
    async code (``functools.wraps`` included) is synchronous: it is what runs.
    """
    for owner, candidate in _callables(handler):
        if inspect.isasyncgenfunction(candidate):
            return f"{owner}an async generator function (async def with yield)"
        if inspect.iscoroutinefunction(candidate):
            return f"{owner}a coroutine function (async def)"
    return None


def is_coroutine_handler(handler: Callable[..., Any]) -> bool:
    """Return whether calling ``handler`` makes a coroutine to await (an ``async def``).

    Seen through as in `async_kind`; an async generator function is not one.
    """
    kind = async_kind(handler)
    return kind is not None and "generator" not in kind


def generator_kind(handler: Callable[..., Any]) -> str | None:
    """Return what makes ``handler`` a generator function, or None.

    Calling one only makes a generator: its body would never run, and the task
    would count as done. Seen through as in `async_kind`.
    """
    for owner, candidate in _callables(handler):
        if inspect.isgeneratorfunction(candidate):
            return f"{owner}a generator function (def with yield)"
    return None


def _callables(handler: Callable[..., Any]) -> list[tuple[str, object]]:
    """Return what calling ``handler`` runs: itself, or an object's ``__call__``."""
    target: object = handler
    while isinstance(target, functools.partial):
        target = target.func
    candidates = [("", target)]
    if callable(target) and not inspect.isroutine(target) and not inspect.isclass(target):
        candidates.append(("an object whose __call__ is ", target.__call__))
    return candidates
