"""A small HTTP server for a worker's endpoints (``/healthz``, ``/metrics``), standard library only.

Several endpoints on the same port share one server (`http_servers`). A server
binds its port when it is made, so a port already taken is a `ConfigurationError`
before the worker starts; it accepts connections only between `start` and
`close`, and is usable as a middleware that serves while the worker runs.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import attrs

from simple_worker.domain._errors import ConfigurationError
from simple_worker.ports.middleware import Middleware

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
_POLL_INTERVAL = 0.1  # seconds; `close` waits up to this long, and so does the worker's stop


@attrs.frozen
class HttpAnswer:
    """What a route answers: the status, the body and its content type."""

    status: int
    body: bytes
    content_type: str = "application/json"


Route = Callable[[Mapping[str, str]], HttpAnswer]
"""Answers a GET of its path; takes the request's headers (lower-case names)."""


@attrs.frozen
class Endpoint:
    """One path served on ``host:port``."""

    host: str
    port: int
    path: str
    route: Route


class HttpServer(Middleware):
    """Serves GET on a few paths from a daemon thread; binds ``host:port`` at once.

    Args:
        host: the address to listen on: ``127.0.0.1`` (default) for this host only,
            ``0.0.0.0`` for every interface (what a container needs), ``::`` for IPv6.
        port: the port; 0 picks a free one (see `port`).
        routes: the answer of each path.

    Raises:
        ConfigurationError: the address cannot be bound (port taken, unknown host).
    """

    def __init__(self, host: str, port: int, routes: Mapping[str, Route]) -> None:
        self.host = host
        self.routes = dict(routes)
        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        server = server_class((host, port), _handler(self.routes), bind_and_activate=False)
        server.daemon_threads = True
        try:
            server.server_bind()
        except OSError as exc:
            server.server_close()
            raise ConfigurationError(
                f"Cannot listen on {host}:{port} for {', '.join(self.routes)}: {exc}. "
                "Choose a free port, or stop what holds it."
            ) from exc
        self._server = server
        self._thread: threading.Thread | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port listened on (the one picked when the server was made with port 0)."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port``, for log lines and tests."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Accept connections from now on, on a daemon thread; does nothing if started."""
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._server.server_activate()
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                args=(_POLL_INTERVAL,),
                name=f"simple-worker-http-{self.port}",
                daemon=True,
            )
            self._thread.start()
        logger.info(
            "Serving %s on %s",
            " and ".join(self.routes),
            self.url,
            extra={"paths": list(self.routes), "url": self.url},
        )

    def close(self) -> None:
        """Stop serving and free the port; connections are refused from now on."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread, self._thread = self._thread, None
        if thread is not None:
            self._server.shutdown()
            thread.join()
        self._server.server_close()

    def worker_started(self, worker: object) -> None:
        """Start serving when a worker starts (the server used as a middleware)."""
        self.start()

    def worker_stopped(self, worker: object) -> None:
        """Close when the worker has stopped."""
        self.close()


def http_servers(endpoints: Iterable[Endpoint]) -> list[HttpServer]:
    """Return one server per port, serving every endpoint on that port.

    Raises:
        ConfigurationError: two endpoints share a port but not a host or a path,
            or a port cannot be bound (the servers bound so far are closed).
    """
    # Port 0 ("any free port") on one host is one server too, so both share it.
    groups: dict[tuple[int, str], list[Endpoint]] = {}
    for endpoint in endpoints:
        key = (endpoint.port, endpoint.host if endpoint.port == 0 else "")
        groups.setdefault(key, []).append(endpoint)
    for (port, _), group in groups.items():
        _check_shared(port, group)
    servers: list[HttpServer] = []
    try:
        for (port, _), group in groups.items():
            routes = {endpoint.path: endpoint.route for endpoint in group}
            servers.append(HttpServer(group[0].host, port, routes))
    except ConfigurationError:
        for server in servers:
            server.close()
        raise
    return servers


def _check_shared(port: int, group: list[Endpoint]) -> None:
    hosts = sorted({endpoint.host for endpoint in group})
    paths = [endpoint.path for endpoint in group]
    if len(hosts) > 1:
        raise ConfigurationError(
            f"{' and '.join(paths)} share port {port}, so they share one server, "
            f"but not the host ({', '.join(hosts)}): give them the same host."
        )
    if len(set(paths)) < len(paths):
        raise ConfigurationError(f"Path {paths[0]} is served twice on port {port}.")


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler(routes: Mapping[str, Route]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = routes.get(urlsplit(self.path).path)
            if route is None:
                answer = HttpAnswer(404, b'{"error": "not found"}\n')
            else:
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    answer = route(headers)
                except Exception:  # a broken route must answer, not hang the probe
                    logger.exception("Internal error answering GET %s", self.path)
                    answer = HttpAnswer(500, b'{"error": "internal error"}\n')
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - its name
            # A probe every few seconds would flood stderr at INFO.
            logger.debug("HTTP %s", format % args)

    return Handler
