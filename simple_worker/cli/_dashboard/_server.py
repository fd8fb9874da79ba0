"""The dashboard's HTTP server: the standard library's ``ThreadingHTTPServer``, serving a `Site`.

It only carries requests to `Site.answer` (which makes the checks) and its answers
back, with the security headers on every one; request lines go to the DEBUG log.
"""

from __future__ import annotations

import logging
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from simple_worker.cli._dashboard._site import HEADERS, MAX_FORM_BYTES, Site, error_page
from simple_worker.domain._errors import ConfigurationError

logger = logging.getLogger(__name__)

_POLL_INTERVAL = 0.1


class DashboardServer:
    """Serves a `Site` on ``host:port`` from a daemon thread; binds at once.

    Raises:
        ConfigurationError: the address cannot be bound (port taken, unknown host).
    """

    def __init__(self, site: Site, port: int) -> None:
        server_class = _IPv6Server if ":" in site.host else ThreadingHTTPServer
        server = server_class((site.host, port), _handler(site), bind_and_activate=False)
        server.daemon_threads = True
        try:
            server.server_bind()
            server.server_activate()
        except OSError as exc:
            server.server_close()
            raise ConfigurationError(
                f"Cannot listen on {site.host}:{port} for the dashboard: {exc}. Choose a free "
                "port with --port, or stop what holds it."
            ) from exc
        self._server = server
        self.site = site
        site.port = self.port
        self._thread = threading.Thread(
            target=server.serve_forever,
            args=(_POLL_INTERVAL,),
            name="simple-worker-dashboard",
            daemon=True,
        )

    @property
    def port(self) -> int:
        """The port listened on (the one picked with port 0)."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port``."""
        host = f"[{self.site.host}]" if ":" in self.site.host else self.site.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Accept connections from now on."""
        self._thread.start()

    def close(self) -> None:
        """Stop serving and free the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "simple-worker-dashboard"
        sys_version = ""

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def _serve(self, method: str) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_FORM_BYTES:
                answer = error_page(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Too large a request.")
                self.close_connection = True
            else:
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    answer = site.answer(method, self.path, headers, body)
                except Exception:
                    logger.exception("The dashboard failed to answer %s %s", method, self.path)
                    answer = error_page(
                        HTTPStatus.INTERNAL_SERVER_ERROR, "The dashboard failed: see its log."
                    )
            self.send_response(answer.status)
            for name, value in {**HEADERS, **answer.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
            logger.debug("%s %s", self.address_string(), format % args)

    return Handler


__all__ = ["DashboardServer"]
