"""The dashboard's HTTP checks, against a real server on 127.0.0.1 and a board of fakes."""

import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from simple_worker.cli._dashboard._command import check_token
from simple_worker.cli._dashboard._server import DashboardServer
from simple_worker.cli._dashboard._site import COOKIE, Site
from simple_worker.cli._dashboard._snapshot import (
    DeadLetters,
    Notice,
    QueueGroup,
    QueueView,
    Snapshot,
)
from simple_worker.domain._errors import ConfigurationError
from simple_worker.ports.queue import QueueStats

CSRF = "the-forms-csrf-token"
TOKEN = "a-token-of-enough-characters"


class FakeBoard:
    """Records the actions asked of it; shows one queue and its dead-letter queue."""

    def __init__(self):
        self.calls = []
        self.notices = []

    def snapshot(self):
        dlq = QueueView("p-default-dlq", QueueStats(1, 0, 0), dead_letters=DeadLetters())
        return Snapshot(
            app="app:app",
            endpoint="http://sqs",
            now=1.0,
            sampled_at=1.0,
            interval=10,
            groups=(QueueGroup(QueueView("p-default", QueueStats(4, 0, 0)), dlq),),
            notices=tuple(self.notices),
        )

    def queue_names(self):
        return {"p-default", "p-default-dlq"}

    def notify(self, ok, text):
        notice = Notice(1.0, ok, text)
        self.notices.append(notice)
        return notice

    def read_dead_letters(self, dlq):
        self.calls.append(("read", dlq))

    def redrive(self, dlq):
        self.calls.append(("redrive", dlq))

    def purge(self, queue):
        self.calls.append(("purge", queue))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def request(url, method="GET", data=None, headers=None):
    """Return (status, headers, body) of one request; errors are answers too."""
    body = None if data is None else urlencode(data).encode()
    sent = {"Content-Type": "application/x-www-form-urlencoded"} if data is not None else {}
    req = urllib.request.Request(  # noqa: S310 - http on loopback, our own server
        url, data=body, method=method, headers={**sent, **(headers or {})}
    )
    try:
        with OPENER.open(req, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


@pytest.fixture
def board():
    return FakeBoard()


@pytest.fixture
def serve(board):
    started = []

    def start(token=None, host="127.0.0.1"):
        server = DashboardServer(Site(board, host, token, csrf=CSRF), 0)
        server.start()
        started.append(server)
        return server.url

    yield start
    for server in started:
        server.close()


def purge_form(**changes):
    return {"csrf": CSRF, "queue": "p-default", "confirm": "p-default", **changes}


def test_the_page_is_served_with_security_headers(serve):
    url = serve()
    status, headers, body = request(url + "/")
    assert status == 200
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert f'value="{CSRF}"' in body
    status, headers, script = request(url + "/dashboard.js")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")
    assert "dataset.confirm" in script


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/purge", 405),
        ("GET", "/redrive", 405),
        ("POST", "/", 405),
        ("PUT", "/purge", 405),
        ("DELETE", "/", 405),
        ("GET", "/nothing", 404),
    ],
)
def test_state_changes_are_post_only(serve, board, method, path, status):
    url = serve()
    answer, _, _ = request(url + path, method, data=purge_form() if method != "GET" else None)
    assert answer == status
    assert board.calls == []


def test_a_post_needs_the_csrf_token(serve, board):
    url = serve()
    assert request(url + "/purge", "POST", purge_form(csrf=""))[0] == 403
    assert request(url + "/purge", "POST", purge_form(csrf="guess"))[0] == 403
    assert request(url + "/redrive", "POST", purge_form(csrf="guess"))[0] == 403
    assert request(url + "/dead-letters", "POST", {"queue": "p-default-dlq"})[0] == 403
    assert board.calls == []
    status, headers, _ = request(url + "/purge", "POST", purge_form())
    assert (status, headers["Location"]) == (303, "/")
    assert board.calls == [("purge", "p-default")]


def test_a_post_from_another_origin_is_refused(serve, board):
    url = serve()
    status, _, _ = request(
        url + "/purge", "POST", purge_form(), headers={"Origin": "http://evil.example"}
    )
    assert status == 403
    assert request(url + "/purge", "POST", purge_form(), headers={"Origin": url})[0] == 303
    assert board.calls == [("purge", "p-default")]


def test_a_wrong_name_typed_does_nothing_but_say_so(serve, board):
    url = serve()
    for action in ("/purge", "/redrive"):
        status, _, _ = request(url + action, "POST", purge_form(confirm="p-default-dlq"))
        assert status == 303
    assert request(url + "/purge", "POST", purge_form(confirm=""))[0] == 303
    assert board.calls == []
    assert board.notices[0].text == (
        "Not purged: the name typed, 'p-default-dlq', is not p-default. Nothing was done."
    )
    _, _, page = request(url + "/")
    assert "Not redriven" in page


def test_only_the_queues_shown_can_be_acted_on(serve, board):
    url = serve()
    form = purge_form(queue="someone-elses-queue", confirm="someone-elses-queue")
    assert request(url + "/purge", "POST", form)[0] == 400
    assert board.calls == []


def test_the_dashboard_answers_to_its_own_address_only(serve):
    url = serve()
    port = url.rsplit(":", 1)[1]
    assert request(url + "/", headers={"Host": f"localhost:{port}"})[0] == 200
    assert request(url + "/", headers={"Host": f"rebound.example:{port}"})[0] == 403
    assert request(url + "/", headers={"Host": "127.0.0.1:1"})[0] == 403


def test_a_large_body_is_refused(serve, board):
    url = serve()
    status, _, _ = request(url + "/purge", "POST", purge_form(pad="x" * 10_000))
    assert status == 413
    assert board.calls == []


def test_with_a_token_every_request_needs_it(serve, board):
    url = serve(token=TOKEN)
    for path in ("/", "/dashboard.js", "/dashboard.css"):
        assert request(url + path)[0] == 401
    assert request(url + "/purge", "POST", purge_form())[0] == 401
    assert request(url + "/", headers={"Authorization": "Bearer wrong"})[0] == 401
    assert request(url + "/?token=wrong")[0] == 401
    assert request(url + "/", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
    assert board.calls == []


def test_the_token_in_the_address_sets_a_cookie_once(serve, board):
    url = serve(token=TOKEN)
    status, headers, _ = request(url + f"/?token={TOKEN}")
    assert (status, headers["Location"]) == (303, "/")
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert TOKEN not in cookie
    value = cookie.split(";")[0]
    assert value.startswith(f"{COOKIE}=")
    assert request(url + "/", headers={"Cookie": value})[0] == 200
    assert request(url + "/", headers={"Cookie": f"{COOKIE}=forged"})[0] == 401
    # The cookie authenticates, the CSRF token still guards the actions.
    assert request(url + "/purge", "POST", purge_form(csrf="x"), {"Cookie": value})[0] == 403
    assert request(url + "/purge", "POST", purge_form(), {"Cookie": value})[0] == 303
    assert board.calls == [("purge", "p-default")]


def test_another_address_than_loopback_needs_a_token():
    check_token("127.0.0.1", None)
    check_token("localhost", None)
    check_token("::1", None)
    every_interface = "0.0.0.0"  # noqa: S104 - the address refused without a token
    check_token(every_interface, TOKEN)
    with pytest.raises(ConfigurationError, match="SIMPLE_WORKER_DASHBOARD_TOKEN"):
        check_token(every_interface, None)
    with pytest.raises(ConfigurationError, match="at least 16"):
        check_token("127.0.0.1", "short")


def test_a_port_taken_is_a_configuration_error(serve, board):
    url = serve()
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(ConfigurationError, match="--port"):
        DashboardServer(Site(board, "127.0.0.1", None), port)
