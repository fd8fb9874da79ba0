"""A fault-injecting HTTP proxy for tests, on 127.0.0.1 between botocore and a moto server.

Loaded by path (tests are not packages; see this folder's conftest.py). It speaks
just enough HTTP/1.1 for botocore's SQS JSON requests (a Content-Length body,
keep-alive) and forwards each request to the target on a new connection. Faults,
chosen per request by a plan (the next N requests, or every request for S
seconds, optionally of one API action or from one client, by its User-Agent) or
at a rate (seeded random):

- ``throttle``: 400 ``ThrottlingException`` (``__type`` and ``x-amzn-query-error``,
  as SQS's JSON protocol answers); ``request_throttled``: 400 ``RequestThrottled``;
  ``error_500``, ``error_503``: SQS's internal-error and unavailable answers.
  botocore parses the code from ``__type``, or from the header when it has one;
  ``denied``: a 400 that is not retried (``KmsAccessDenied``); ``kms_throttled``:
  SQS's 400 ``KmsThrottled``, which botocore does not count as throttling;
- ``reset`` (RST) and ``drop`` (FIN): the connection ends before the request is
  forwarded: nothing was done;
- ``drop_after``: the request is forwarded and done, then the connection is reset
  instead of answering: the reply is lost (a retried send is sent twice);
- ``delay``: forwarded and done, the reply held ``delay_seconds``, then sent and
  the connection closed: with ``delay_seconds`` above the client's read timeout,
  the client has given up by then, and the reply is lost;
- ``hang``: the request is read, then neither forwarded nor answered: the
  connection stays open and silent until the proxy closes, as an endpoint that
  accepts connections but never replies (the client waits out its read timeout);
- `go_down` / `down_for`: the listener closes and open connections drop, so new
  connections are refused, until `come_up`.

What was injected is counted by kind and by API action (from ``X-Amz-Target``);
with ``keep_exchanges`` every request and its answer is kept, for analysis.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass

ERRORS = {  # kind: (status, __type, x-amzn-query-error or None, message)
    "throttle": (
        400,
        "com.amazon.coral.availability#ThrottlingException",
        "ThrottlingException;Sender",
        "Rate exceeded",
    ),
    "request_throttled": (
        400,
        "com.amazonaws.sqs#RequestThrottled",
        "RequestThrottled;Sender",
        "Request is throttled.",
    ),
    "denied": (  # a 400 botocore does not retry
        400,
        "com.amazonaws.sqs#KmsAccessDenied",
        None,
        "The caller doesn't have the required KMS access (injected)",
    ),
    "kms_throttled": (  # KMS throttled SQS's call for an SSE-KMS queue
        400,
        "com.amazonaws.sqs#KmsThrottled",
        None,
        "The request was denied due to request throttling (injected)",
    ),
    "error_500": (500, "com.amazonaws.sqs#InternalError", None, "Internal error (injected)"),
    "error_503": (
        503,
        "com.amazonaws.sqs#ServiceUnavailable",
        "ServiceUnavailable;Server",
        "Service unavailable (injected)",
    ),
}
KINDS = (*ERRORS, "reset", "drop", "drop_after", "delay", "hang")
REPLY_LOST = frozenset({"drop_after", "delay"})
"""Kinds after which the request was done but its reply did not reach the client
(for ``delay``: if ``delay_seconds`` is above the client's read timeout)."""
_HOP_HEADERS = {"connection", "content-length", "transfer-encoding", "keep-alive"}


@dataclass(frozen=True)
class Exchange:
    """One request through the proxy, with its upstream answer and the fault, if any."""

    start: float
    """`time.time()` when the request had arrived."""
    end: float
    """When the upstream answered (or the fault was decided, if not forwarded)."""
    action: str
    user_agent: str
    request: bytes
    status: int | None
    """The upstream's status; None when the request was not forwarded."""
    response: bytes | None
    fault: str | None

    @property
    def done(self) -> bool:
        """The upstream answered this request (whether or not the client got the answer)."""
        return self.status is not None

    def request_json(self) -> dict:
        return json.loads(self.request or b"{}")

    def response_json(self) -> dict:
        return json.loads(self.response or b"{}")


@dataclass
class _Plan:
    kind: str
    action: str | None
    times: int | None
    until: float | None
    agent: str | None = None

    def matches(self, action: str, user_agent: str, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        if self.agent is not None and self.agent not in user_agent:
            return False
        return self.action in (None, action) and (self.times is None or self.times > 0)


class FaultProxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``target_port``, injecting faults."""

    def __init__(self, target_port: int, *, delay_seconds: float = 3.0, keep_exchanges=False):
        self.target_port = target_port
        self.delay_seconds = delay_seconds
        self.keep_exchanges = keep_exchanges
        self.injected: Counter[tuple[str, str]] = Counter()
        self.requests: Counter[str] = Counter()
        self.exchanges: list[Exchange] = []
        self.down_periods: list[tuple[float, float | None]] = []
        self._lock = threading.Lock()
        self._plans: list[_Plan] = []
        self._rate = 0.0
        self._rate_kinds: tuple[str, ...] = ()
        self._rate_actions: frozenset[str] | None = None
        self._random = random.Random(0)
        self._clients: set[socket.socket] = set()
        self._stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._start_accepting()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- Choosing faults -------------------------------------------------------------

    def plan(self, kind, *, action=None, times=1, seconds=None, agent=None):
        """Inject ``kind`` into the next ``times`` requests (of ``action``; from a client
        whose User-Agent contains ``agent``), or all of them for ``seconds`` when
        ``times`` is None."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(KINDS)}")
        until = None if seconds is None else time.monotonic() + seconds
        with self._lock:
            self._plans.append(_Plan(kind, action, times, until, agent))

    def set_rate(self, rate, kinds=KINDS, *, seed=0, actions=None):
        """Inject one of ``kinds`` (uniformly) into each request with probability ``rate``."""
        unknown = set(kinds) - set(KINDS)
        if unknown or not 0 <= rate <= 1:
            raise ValueError(f"bad rate {rate} or kinds {sorted(unknown)}")
        with self._lock:
            self._rate, self._rate_kinds = rate, tuple(kinds)
            self._rate_actions = None if actions is None else frozenset(actions)
            self._random = random.Random(seed)

    def clear(self):
        """Stop injecting: forget every plan and the rate."""
        with self._lock:
            self._plans.clear()
            self._rate = 0.0

    def _choose(self, action: str, user_agent: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            self.requests[action] += 1
            kind = None
            for plan in self._plans:
                if plan.matches(action, user_agent, now):
                    kind = plan.kind
                    if plan.times is not None:
                        plan.times -= 1
                    break
            if (
                kind is None
                and self._rate
                and (self._rate_actions is None or action in self._rate_actions)
                and self._random.random() < self._rate
            ):
                kind = self._random.choice(self._rate_kinds)
            if kind is not None:
                self.injected[kind, action] += 1
            return kind

    def injected_by_kind(self) -> Counter[str]:
        """How many faults of each kind were injected, over every action."""
        counts: Counter[str] = Counter()
        with self._lock:
            for (kind, _), count in self.injected.items():
                counts[kind] += count
        return counts

    # --- Going down ------------------------------------------------------------------

    def go_down(self):
        """Refuse connections and drop the open ones, until `come_up`."""
        with self._lock:
            if self._listener is None:
                return
            listener, self._listener = self._listener, None
            clients, self._clients = self._clients, set()
            self.down_periods.append((time.time(), None))
        _wake_and_close(listener)
        for client in clients:
            # Wakes the thread serving it, which then closes it with a reset.
            _abort(client)

    def come_up(self):
        """Accept connections again, on the same port."""
        with self._lock:
            if self._listener is not None or self._stopped.is_set():
                return
            self._listener = socket.create_server(("127.0.0.1", self.port))
            start, _ = self.down_periods[-1]
            self.down_periods[-1] = (start, time.time())
        self._start_accepting()

    def down_for(self, seconds):
        """`go_down` now and `come_up` after ``seconds``, on a timer thread."""
        self.go_down()
        timer = threading.Timer(seconds, self.come_up)
        timer.daemon = True
        timer.start()
        return timer

    def close(self):
        self._stopped.set()
        self.go_down()

    # --- Serving ---------------------------------------------------------------------

    def _start_accepting(self):
        listener = self._listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by go_down or close
                return
            with self._lock:
                if self._listener is not listener:
                    _abort(client)
                    client.close()
                    return
                self._clients.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        ending = "reset"
        try:
            with client.makefile("rb") as reader:
                while (request := _read_request(reader)) is not None:
                    ending = self._answer(client, *request)
                    if ending != "keep":
                        break
                else:
                    ending = "close"
        except (OSError, ValueError):
            ending = "reset"
        finally:
            with self._lock:
                self._clients.discard(client)
            # Only now, with the reader closed, does closing the socket close its fd.
            if ending == "reset":
                _abort(client, now=False)
            with contextlib.suppress(OSError):
                client.close()

    def _answer(self, client, method, path, headers, body):
        """Answer one request; return "keep", "close" (FIN) or "reset" (RST) the connection."""
        start = time.time()
        action = headers.get("x-amz-target", "").rpartition(".")[2] or "unknown"
        user_agent = headers.get("user-agent", "")
        kind = self._choose(action, user_agent)
        status = response = None
        try:
            if kind in ERRORS:
                reply = _error_reply(*ERRORS[kind])
            elif kind in ("reset", "drop", "hang"):
                reply = None
            else:
                status, reply_headers, response = self._forward(method, path, headers, body)
                reply = _reply(status, reply_headers, response)
        finally:
            self._keep(
                Exchange(start, time.time(), action, user_agent, body, status, response, kind)
            )
        if kind == "hang":
            self._stopped.wait()
            return "reset"
        if kind == "drop":
            client.shutdown(socket.SHUT_WR)
            return "close"
        if kind in ("reset", "drop_after"):
            return "reset"
        if kind == "delay":
            self._stopped.wait(self.delay_seconds)
            with contextlib.suppress(OSError):  # a client that timed out has gone
                client.sendall(reply)
            return "close"
        client.sendall(reply)
        return "keep"

    def _forward(self, method, path, headers, body):
        upstream = http.client.HTTPConnection("127.0.0.1", self.target_port, timeout=60)
        try:
            upstream.request(
                method, path, body, {k: v for k, v in headers.items() if k not in _HOP_HEADERS}
            )
            answer = upstream.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            upstream.close()

    def _keep(self, exchange):
        if self.keep_exchanges:
            self.exchanges.append(exchange)  # list.append is atomic


def _read_request(reader):
    """Read one request: ``(method, path, headers, body)``; None at the end of the stream."""
    line = reader.readline(65537)
    if not line.strip():
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers = {}
    while (header := reader.readline(65537)) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", 0)))
    return method, path, headers, body


def _reply(status, headers, body):
    lines = [f"HTTP/1.1 {status} {http.client.responses.get(status, 'Unknown')}"]
    lines += [f"{k}: {v}" for k, v in headers if k.lower() not in _HOP_HEADERS]
    lines += [f"Content-Length: {len(body)}", "Connection: keep-alive"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _error_reply(status, error_type, query_error, message):
    body = json.dumps({"__type": error_type, "message": message}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", "injected")]
    if query_error:
        headers.append(("x-amzn-query-error", query_error))
    return _reply(status, headers, body)


def _abort(sock, *, now=True):
    """Make ``sock``'s close send a TCP reset (RST) rather than a FIN.

    With ``now``, also shut it down: a thread reading it wakes, and a reply being
    forwarded on it can no longer be written (the client sees the connection drop).
    """
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if now:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _wake_and_close(listener):
    """Close a listening socket; shutting it down first wakes a thread blocked in accept."""
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    listener.close()
