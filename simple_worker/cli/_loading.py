"""Finding the user's `App` from a ``module.path:attribute`` string."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from simple_worker.app import App
from simple_worker.domain._errors import ConfigurationError


def load_app(path: str) -> App:
    """Import ``module.path:attribute`` (attribute ``app`` when omitted) and return the App.

    The current directory is importable, as for ``python -m``.

    Raises:
        ConfigurationError: the module does not import, has no such attribute, or it
            is not an `App`; the message says which and why.
    """
    module_name, _, attribute = path.partition(":")
    attribute = attribute or "app"
    if not module_name:
        raise ConfigurationError(f"{path!r} names no module: use module.path:app.")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigurationError(
            f"Cannot import module {module_name!r} (from {path!r}): {type(exc).__name__}: {exc}"
        ) from exc
    try:
        app = getattr(module, attribute)
    except AttributeError:
        raise ConfigurationError(
            f"Module {module_name!r} has no attribute {attribute!r}; name the App "
            f"as {module_name}:NAME."
        ) from None
    if not isinstance(app, App):
        raise ConfigurationError(
            f"{module_name}:{attribute} is a {type(app).__name__}, not a simple_worker.App."
        )
    return app
