"""Command options from the environment: ``SIMPLE_WORKER_THREADS=4`` and the like.

An option read from the environment is named ``SIMPLE_WORKER_`` + its long name
in capitals, dashes as underscores (``--shutdown-timeout``:
``SIMPLE_WORKER_SHUTDOWN_TIMEOUT``). Precedence: the command line, then the
environment, then the built-in default.

The variable's text becomes the option's default, which argparse parses with the
option's own type when the option is left out (and only then), so a value is
read exactly as on the command line; a bad one is a usage error naming the
variable, raised only by the command that has the option.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Collection, Mapping

PREFIX = "SIMPLE_WORKER_"


def read_from_environment(
    parser: argparse.ArgumentParser,
    dests: Collection[str],
    environ: Mapping[str, str] = os.environ,
) -> None:
    """Make the options ``dests`` of ``parser`` default to their environment variables.

    Their help names the variable.
    """
    for action in parser._actions:  # argparse lists its actions nowhere else
        if action.dest not in dests:
            continue
        variable = PREFIX + action.dest.upper()
        action.help = f"{action.help}; environment: {variable}"
        text = environ.get(variable, "").strip()
        if text:
            action.type = _from_variable(action, variable, text)
            action.default = text


def _from_variable(action: argparse.Action, variable: str, text: str) -> Callable[[str], object]:
    """Return the option's type, which names the variable when it parses the variable's value.

    argparse parses a string default by calling the type with the default itself,
    and never checks it against the choices: both are done here, for that value.
    """
    convert: Callable[[str], object] = action.type if callable(action.type) else str
    choices = action.choices

    def parse(value: str) -> object:
        if value is not text:  # given on the command line: as ever
            return convert(value)
        try:
            parsed = convert(value)
        except (argparse.ArgumentTypeError, ValueError) as exc:
            problem = str(exc)
        else:
            if choices is None or parsed in choices:
                return parsed
            problem = f"expected one of {', '.join(map(str, choices))}"
        raise argparse.ArgumentTypeError(
            f"{variable}={value!r} is not valid: {problem}; fix or unset it"
        )

    return parse
