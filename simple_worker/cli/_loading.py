"""Finding the user's `App` from ``module.path:attribute`` or ``module.path:factory()``.

An exception the user's code raises while it is imported (or while the factory
runs) is a configuration error that carries the user's traceback, without the
import machinery's frames, for the command to print above its one-line message.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from pathlib import Path

from simple_worker.app import App
from simple_worker.domain._errors import ConfigurationError, SimpleWorkerError

_IMPORTLIB = str(Path(importlib.__file__).parent)
_PACKAGE = str(Path(__file__).parents[1]) + os.sep


class AppLoadError(ConfigurationError):
    """Raised when the user's code raised while the app loaded; carries its traceback."""

    def __init__(self, message: str, user_traceback: str) -> None:
        self.user_traceback = user_traceback
        super().__init__(message)


def load_app(path: str) -> App:
    """Import ``module.path:attribute`` (attribute ``app`` when omitted) and return the App.

    ``module.path:factory()`` calls ``factory`` without arguments and returns the
    App it returns (an application factory, as Flask's ``create_app()``). The
    current directory is importable, as for ``python -m``.

    Raises:
        AppLoadError: importing the module, or calling the factory, raised; the
            message says where, and ``user_traceback`` holds the traceback.
        ConfigurationError: the module has no such attribute, or it is not an
            `App` (or a factory returned something else); the message says which.
    """
    module_name, _, attribute = path.partition(":")
    attribute = attribute or "app"
    if not module_name:
        raise ConfigurationError(f"{path!r} names no module: use module.path:app.")
    name, call = (attribute[:-2], True) if attribute.endswith("()") else (attribute, False)
    if "(" in name or ")" in name:
        raise ConfigurationError(
            f"{path!r}: a factory is called without arguments, as {module_name}:NAME()."
        )
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not f"{module_name}.".startswith(f"{exc.name}."):
            raise _load_error(f"Cannot import module {module_name!r} (from {path!r})", exc) from exc
        raise ConfigurationError(
            f"Cannot import module {module_name!r} (from {path!r}): there is no module "
            f"{exc.name!r}. Run the command from the directory that holds it, or add that "
            "directory to PYTHONPATH."
        ) from None
    except Exception as exc:
        raise _load_error(f"Cannot import module {module_name!r} (from {path!r})", exc) from exc
    try:
        found = getattr(module, name)
    except AttributeError:
        raise ConfigurationError(
            f"Module {module_name!r} has no attribute {name!r}; name the App "
            f"as {module_name}:NAME, or a function that returns it as {module_name}:NAME()."
        ) from None
    where = f"{module_name}:{name}"
    if call:
        if not callable(found):
            raise ConfigurationError(
                f"{where} is {_a(found)}, not a function: drop the () to use it as the App."
            )
        try:
            found = found()
        except Exception as exc:
            raise _load_error(f"The app factory {where}() raised", exc) from exc
        if not isinstance(found, App):
            raise ConfigurationError(
                f"{where}() returned {_a(found)}, not a simple_worker.App: make it return the App."
            )
        return found
    if not isinstance(found, App):
        hint = (
            f": to call it as a factory that returns the App, write {where}()"
            if callable(found) and not isinstance(found, type)
            else "."
        )
        raise ConfigurationError(f"{where} is {_a(found)}, not a simple_worker.App{hint}")
    return found


def _load_error(what: str, exc: Exception) -> AppLoadError:
    """Return the error for ``exc``, raised by the user's code: where, and its traceback."""
    summary = traceback.TracebackException.from_exception(exc)
    frames = [frame for frame in summary.stack if _is_users(frame)]
    if isinstance(exc, SimpleWorkerError):
        # Our own error (App(...) refused an option) already says what to do: show the
        # user's lines down to the call into simple-worker, not ours nor botocore's.
        outside = [frame.filename.startswith(_PACKAGE) for frame in frames]
        frames = frames[: outside.index(True)] if True in outside else frames
    summary.stack = traceback.StackSummary.from_list(frames)
    if not frames:
        return AppLoadError(f"{what}: {type(exc).__name__}: {exc}", "")
    at = f"{frames[-1].filename}, line {frames[-1].lineno}"
    if isinstance(exc, SimpleWorkerError):  # the one-line message below says the rest
        shown = "Traceback (most recent call last):\n" + "".join(summary.stack.format())
    else:
        shown = "".join(summary.format())
    return AppLoadError(
        f"{what}: {type(exc).__name__}: {str(exc).rstrip('.')} (at {at}; traceback above)",
        shown,
    )


def _a(value: object) -> str:
    """Return "a str", "an int": the type of ``value`` with its article."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _is_users(frame: traceback.FrameSummary) -> bool:
    """Whether a frame belongs in the traceback shown: not ours, nor the import machinery's."""
    return frame.filename != __file__ and not frame.filename.startswith(
        ("<frozen importlib", _IMPORTLIB)
    )
