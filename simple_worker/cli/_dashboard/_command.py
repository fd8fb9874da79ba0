"""The ``dashboard`` command: its options, the token rule, and serving until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import threading
from typing import TYPE_CHECKING

from simple_worker.adapters.sqs._admin import SQSAdmin
from simple_worker.cli._common import (
    EXIT_OK,
    add_app_argument,
    add_queues_argument,
    app_and_queues,
    err,
    port_number,
    positive_int,
)
from simple_worker.cli._dashboard._board import Board
from simple_worker.cli._dashboard._server import DashboardServer
from simple_worker.cli._dashboard._site import Site, is_loopback
from simple_worker.domain._errors import ConfigurationError

if TYPE_CHECKING:
    from simple_worker.cli._common import Commands

TOKEN_ENV = "SIMPLE_WORKER_DASHBOARD_TOKEN"  # noqa: S105 - a variable's name, no secret
MIN_TOKEN_LENGTH = 16
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_INTERVAL = 10.0
DEFAULT_LETTERS = 20
_MAKE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe())'"  # noqa: S105 - a command


def register(commands: Commands) -> None:
    """Add the ``dashboard`` command."""
    parser = commands.add_parser(
        "dashboard",
        help="a web page of the queues, their dead letters, redrive and purge",
        description="Serve a small web page of the app's queues: visible, in-flight and "
        "delayed counts with a sparkline of the last hour, each dead-letter queue's "
        "messages and why they cannot run (as 'dlq show' reads them), and buttons to "
        "redrive a dead-letter queue or purge a queue, each confirmed by typing the "
        "queue's name. It listens on 127.0.0.1 unless told otherwise; any other address "
        "needs a token.",
        epilog="exit status: 0 when stopped with Ctrl-C; 2 a usage or configuration error "
        f"(another address without a token, a port taken). Environment: {TOKEN_ENV}, the "
        "token when --token is not given.",
    )
    add_app_argument(parser)
    add_queues_argument(parser, "show")
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"the address to listen on (default: {DEFAULT_HOST}, this machine only); any "
        "other needs a token",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"the port (default: {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--token",
        metavar="TOKEN",
        help=f"a secret of at least {MIN_TOKEN_LENGTH} characters every request must carry "
        f"(default: ${TOKEN_ENV}; prefer the variable, since a command line shows in ps); "
        "required with a --host other than a loopback address",
    )
    parser.add_argument(
        "--interval",
        type=_interval,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"read the counts every SECONDS, at least 1 (default: {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=DEFAULT_LETTERS,
        metavar="N",
        help=f"read at most N dead letters per dead-letter queue (default: {DEFAULT_LETTERS})",
    )
    parser.set_defaults(run=run)


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 1 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds, at least 1, got {text!r}")
    return value


def check_token(host: str, token: str | None) -> None:
    """Refuse a non-loopback ``host`` without a token, and a token too short to be a secret.

    Raises:
        ConfigurationError: either, with what to do.
    """
    if token is None:
        if not is_loopback(host):
            raise ConfigurationError(
                f"--host {host} lets other machines reach the dashboard, which can purge "
                f"queues: give it a token with {TOKEN_ENV} (or --token), at least "
                f"{MIN_TOKEN_LENGTH} characters, such as the output of {_MAKE_TOKEN}."
            )
        return
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigurationError(
            f"The dashboard's token has {len(token)} characters: use at least "
            f"{MIN_TOKEN_LENGTH}, such as the output of {_MAKE_TOKEN}."
        )


def run(args: argparse.Namespace) -> int:
    """Run ``dashboard`` until Ctrl-C; return its exit status."""
    token = args.token if args.token is not None else (os.environ.get(TOKEN_ENV) or None)
    check_token(args.host, token)
    app, queues = app_and_queues(args)
    board = Board(
        app,
        args.app,
        SQSAdmin.of(app.queue),
        queues,
        interval=args.interval,
        letters_limit=args.limit,
    )
    server = DashboardServer(Site(board, args.host, token), args.port)
    try:
        board.start()
        server.start()
        err(f"Dashboard of {args.app} on {server.url}/ (Ctrl-C to stop)")
        if token is not None:
            err(
                f"Open {server.url}/?token=THE_TOKEN once (it sets a cookie), or send "
                "Authorization: Bearer THE_TOKEN."
            )
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        board.close()
    return EXIT_OK
