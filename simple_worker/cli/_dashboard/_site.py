"""What the dashboard answers to each HTTP request: its checks, then the page or an action.

`Site.answer` takes a request's method, target, headers and body and returns an
`Answer`; `_server` carries them over HTTP. Every request passes, in order:

1. the Host check, when the server listens on a loopback address: the ``Host``
   header must name that address (or ``localhost``) and the port, so a web page
   whose own name is made to resolve to 127.0.0.1 (DNS rebinding) cannot read the
   dashboard or post to it;
2. the method: ``GET`` for the page and its two files, ``POST`` only for the
   actions (redrive, purge, read the dead letters again); anything else is 405;
3. the token, when there is one, on every request: an ``Authorization: Bearer``
   header, or the cookie set once from ``/?token=...`` (then redirected away, so the
   token leaves the address bar and the history); compared in constant time;
4. for a ``POST``: a form body of at most `MAX_FORM_BYTES`, an ``Origin`` (when the
   browser sends one) of this server, and the CSRF token of the page's forms, in
   constant time; then the typed confirmation, which must be the queue's name.

Every answer carries a Content-Security-Policy that allows scripts and styles from
this server only (no inline script, so an injected one would not run), ``nosniff``,
no framing, no referrer to other sites (``same-origin``: with ``no-referrer`` a browser
sends ``Origin: null`` on the page's own forms), and ``no-store``.
"""

from __future__ import annotations

import hmac
import secrets
from html import escape
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs, urlsplit

import attrs

from simple_worker.cli._dashboard._assets import SCRIPT, STYLE
from simple_worker.cli._dashboard._page import render_page

if TYPE_CHECKING:
    from collections.abc import Mapping

    from simple_worker.cli._dashboard._snapshot import Notice, Snapshot

COOKIE = "simple_worker_dashboard"
MAX_FORM_BYTES = 4096
LOOPBACK = ("127.0.0.1", "localhost", "::1")
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_FILES = {
    "/dashboard.js": (SCRIPT, "text/javascript; charset=utf-8"),
    "/dashboard.css": (STYLE, "text/css; charset=utf-8"),
}
_ACTIONS = ("/purge", "/redrive", "/dead-letters")


class Board(Protocol):
    """What the server needs of the board (`simple_worker.cli._dashboard._board.Board`)."""

    def snapshot(self) -> Snapshot:
        """Return what the page shows now."""

    def queue_names(self) -> set[str]:
        """Return every queue shown."""

    def notify(self, ok: bool, text: str) -> Notice:
        """Show a notice at the top of the page."""

    def read_dead_letters(self, dlq: str) -> Notice | None:
        """Read a dead-letter queue's messages again."""

    def redrive(self, dlq: str) -> Notice | None:
        """Move a dead-letter queue's messages back to its queue."""

    def purge(self, queue: str) -> Notice | None:
        """Delete every message of a queue."""


@attrs.frozen
class Answer:
    """An HTTP answer: status, extra headers, body."""

    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: Mapping[str, str] = attrs.field(factory=dict)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address of this machine only (127.0.0.0/8, ::1, localhost)."""
    return host in LOOPBACK or host.startswith("127.")


class Site:
    """Answers requests: the checks of the module docstring, then the page or an action.

    Args:
        board: the state and actions.
        host: the address listened on.
        token: the token every request must carry, or None (loopback only).
        csrf: the forms' CSRF token (default: a new random one).
    """

    def __init__(self, board: Board, host: str, token: str | None, csrf: str | None = None) -> None:
        self.board = board
        self.host = host
        self.token = token
        self.csrf = csrf or secrets.token_urlsafe(32)
        self.port = 0  # set by `DashboardServer` once bound

    def allowed_hosts(self) -> set[str]:
        """Return the ``Host`` headers accepted on a loopback address."""
        names = {*LOOPBACK, self.host}
        return {f"[{n}]:{self.port}" if ":" in n else f"{n}:{self.port}" for n in names}

    def answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """Return the answer to one request (``headers`` with lower-case names)."""
        url = urlsplit(target)
        refused = self._refusal(method, url.path, headers)
        if refused is not None:
            return refused
        if self.token is not None:
            refused = _token_refusal(url.path, url.query, headers, self.token)
            if refused is not None:
                return refused
        if method == "POST":
            return self._post(url.path, headers, body)
        if url.path in _FILES:
            text, content_type = _FILES[url.path]
            return Answer(HTTPStatus.OK, text.encode(), content_type)
        return Answer(HTTPStatus.OK, render_page(self.board.snapshot(), self.csrf).encode())

    def _refusal(self, method: str, path: str, headers: Mapping[str, str]) -> Answer | None:
        """Return why the request is refused before the token is looked at, or None."""
        if is_loopback(self.host) and headers.get("host", "") not in self.allowed_hosts():
            return error_page(
                HTTPStatus.FORBIDDEN, "This dashboard answers to its own address only."
            )
        if path not in {"/", *_FILES, *_ACTIONS}:
            return error_page(HTTPStatus.NOT_FOUND, "No such page.")
        wanted = "POST" if path in _ACTIONS else "GET"
        if method != wanted and not (method == "HEAD" and wanted == "GET"):
            return error_page(
                HTTPStatus.METHOD_NOT_ALLOWED, f"Use {wanted} here.", {"Allow": wanted}
            )
        return None

    def _post(self, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        origin = headers.get("origin")
        if origin is not None and origin != f"http://{headers.get('host', '')}":
            return error_page(HTTPStatus.FORBIDDEN, "A form from another site cannot act here.")
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return error_page(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Send the page's form.")
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return error_page(HTTPStatus.BAD_REQUEST, "The form is not UTF-8.")
        field = {key: values[0] for key, values in form.items()}
        if not _same(field.get("csrf", ""), self.csrf):
            return error_page(HTTPStatus.FORBIDDEN, "Missing or wrong CSRF token: reload the page.")
        queue = field.get("queue", "")
        if queue not in self.board.queue_names():
            return error_page(HTTPStatus.BAD_REQUEST, "No such queue on this dashboard.")
        if path == "/dead-letters":
            self.board.read_dead_letters(queue)
        else:
            verb = "purged" if path == "/purge" else "redriven"
            typed = field.get("confirm", "").strip()
            if typed != queue:
                self.board.notify(
                    False,
                    f"Not {verb}: the name typed, {typed!r}, is not {queue}. Nothing was done.",
                )
            elif path == "/purge":
                self.board.purge(queue)
            else:
                self.board.redrive(queue)
        return Answer(HTTPStatus.SEE_OTHER, headers={"Location": "/"})


def _same(offered: str, expected: str) -> bool:
    return hmac.compare_digest(offered.encode(), expected.encode())


def _token_refusal(path: str, query: str, headers: Mapping[str, str], token: str) -> Answer | None:
    """Return why the request's token is refused, the redirect that sets the cookie, or None."""
    offered = parse_qs(query).get("token", [""])[0]
    if path == "/" and offered:
        if not _same(offered, token):
            return error_page(HTTPStatus.UNAUTHORIZED, "Wrong token.")
        cookie = f"{COOKIE}={cookie_value(token)}; Path=/; HttpOnly; SameSite=Strict"
        return Answer(HTTPStatus.SEE_OTHER, headers={"Location": "/", "Set-Cookie": cookie})
    if _authorised(headers, token):
        return None
    return error_page(
        HTTPStatus.UNAUTHORIZED,
        "This dashboard needs its token: open /?token=THE_TOKEN once (it sets a cookie), "
        "or send the header Authorization: Bearer THE_TOKEN.",
    )


def cookie_value(token: str) -> str:
    """Return the cookie's value: from the token, so that the browser never stores the token."""
    return hmac.new(token.encode(), b"simple-worker dashboard cookie", "sha256").hexdigest()


def _authorised(headers: Mapping[str, str], token: str) -> bool:
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return _same(credentials.strip(), token)
    return _same(_cookie(headers), cookie_value(token))


def _cookie(headers: Mapping[str, str]) -> str:
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except CookieError:
        return ""
    morsel = cookie.get(COOKIE)
    return "" if morsel is None else morsel.value


def error_page(status: int, text: str, headers: Mapping[str, str] | None = None) -> Answer:
    """Return a short HTML page saying ``text``, with ``status``."""
    body = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>simple-worker '
        f"dashboard</title></head><body><p>{escape(text)}</p></body></html>"
    )
    return Answer(status, body.encode(), headers=headers or {})


__all__ = [
    "HEADERS",
    "MAX_FORM_BYTES",
    "Answer",
    "Board",
    "Site",
    "cookie_value",
    "error_page",
    "is_loopback",
]
