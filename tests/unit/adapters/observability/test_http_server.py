import json
import socket
import urllib.error
import urllib.request

import pytest

from simple_worker import ConfigurationError
from simple_worker.adapters.observability._http_server import (
    Endpoint,
    HttpAnswer,
    HttpServer,
    http_servers,
)


def get(url, headers=None):
    """``(status, headers, body)`` of a real GET; an HTTP error status is an answer too."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - our own server
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - our own server
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def hello(headers):
    return HttpAnswer(200, json.dumps({"accept": headers.get("accept")}).encode())


@pytest.fixture
def server():
    server = HttpServer("127.0.0.1", 0, {"/hello": hello})
    yield server
    server.close()


def test_a_started_server_answers_its_routes_and_404_elsewhere(server):
    server.start()

    status, headers, body = get(f"{server.url}/hello?x=1", {"ACCEPT": "text/plain"})
    missing, _, _ = get(f"{server.url}/other")

    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert json.loads(body) == {"accept": "text/plain"}  # headers reach the route, names lower-case
    assert missing == 404


def test_a_route_that_raises_answers_500_and_the_server_keeps_serving(caplog):
    def broken(headers):
        raise RuntimeError("bug")

    server = HttpServer("127.0.0.1", 0, {"/broken": broken, "/hello": hello})
    server.start()
    try:
        assert get(f"{server.url}/broken")[0] == 500
        assert get(f"{server.url}/hello")[0] == 200
    finally:
        server.close()
    assert "Internal error answering GET /broken" in caplog.text


def test_connections_are_refused_before_start_and_after_close(server):
    with pytest.raises(urllib.error.URLError):
        get(f"{server.url}/hello")

    server.start()
    assert get(f"{server.url}/hello")[0] == 200
    server.close()

    with pytest.raises(urllib.error.URLError):
        get(f"{server.url}/hello")


def test_a_port_already_taken_is_a_configuration_error_naming_it():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(ConfigurationError, match=f"Cannot listen on 127.0.0.1:{port}"):
            HttpServer("127.0.0.1", port, {"/hello": hello})


def test_endpoints_on_one_port_share_one_server():
    [server] = http_servers(
        [Endpoint("127.0.0.1", 0, "/a", hello), Endpoint("127.0.0.1", 0, "/b", hello)]
    )
    server.start()
    try:
        assert (get(f"{server.url}/a")[0], get(f"{server.url}/b")[0]) == (200, 200)
    finally:
        server.close()


def test_endpoints_on_one_port_but_different_hosts_are_refused():
    endpoints = [Endpoint("127.0.0.1", 9999, "/a", hello), Endpoint("0.0.0.0", 9999, "/b", hello)]  # noqa: S104

    with pytest.raises(ConfigurationError, match="give them the same host"):
        http_servers(endpoints)
