"""What the SQS adapter says when the AWS configuration cannot make or sign a call."""

import http.server
import threading

import pytest
from botocore.exceptions import ClientError

from simple_worker import ConfigurationError, CredentialsNotFound, QueueServiceError
from simple_worker.adapters import SQSQueue
from simple_worker.adapters.sqs._errors import service_error


def test_no_region_names_the_variables_and_apps_own_option(monkeypatch):
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    with pytest.raises(ConfigurationError) as caught:
        SQSQueue()

    assert str(caught.value) == (
        "Cannot make an SQS client: no AWS region is configured. Set AWS_REGION (or "
        "AWS_DEFAULT_REGION, or region in ~/.aws/config), or pass App(sqs_region=...)."
    )


def test_an_endpoint_variable_without_a_scheme_is_named(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "127.0.0.1:5055")

    with pytest.raises(ConfigurationError) as caught:
        SQSQueue()

    assert "AWS_ENDPOINT_URL_SQS='127.0.0.1:5055' is not a valid endpoint URL" in str(caught.value)
    assert "http://127.0.0.1:4566" in str(caught.value)


def test_an_endpoint_option_without_a_scheme_is_named():
    with pytest.raises(ConfigurationError, match=r"App\(sqs_endpoint_url='localhost:9324'\)"):
        SQSQueue(endpoint_url="localhost:9324")


def test_no_credentials_says_how_to_set_them_and_is_a_configuration_error(monkeypatch, moto_server):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    queue = SQSQueue(endpoint_url=moto_server)

    with pytest.raises(CredentialsNotFound) as caught:
        queue.describe("some-queue")

    error = caught.value
    assert isinstance(error, QueueServiceError)
    assert isinstance(error, ConfigurationError)
    assert str(error).startswith(
        "No AWS credentials were found for SQS GetQueueUrl on queue some-queue. Set them"
    )
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in str(error)


class _WebPage(http.server.BaseHTTPRequestHandler):
    """Answers every call as a misconfigured proxy or an emulator's wrong path would."""

    PAGE = (
        b"<!DOCTYPE html>\n<html>\n<head><title>404 Not Found</title></head>\n"
        b"<body><h1>Not Found</h1><p>The requested URL was not found.</p></body>\n</html>\n"
    )

    def do_POST(self):
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.PAGE)))
        self.end_headers()
        self.wfile.write(self.PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture
def web_page_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_html_answer_is_summed_up_not_pasted(web_page_server):
    queue = SQSQueue(endpoint_url=web_page_server)

    with pytest.raises(QueueServiceError) as caught:
        queue.describe("some-queue")

    message = str(caught.value)
    assert "<" not in message
    assert "the endpoint answered with an HTML page (404 Not Found), not as SQS" in message
    assert "Check the endpoint (AWS_ENDPOINT_URL_SQS" in message


def test_a_reason_ending_in_a_full_stop_gets_no_second_one():
    refused = ClientError(
        {"Error": {"Code": "InvalidParameterValue", "Message": "Value is wrong."}}, "GetQueueUrl"
    )

    message = str(service_error(refused, operation="GetQueueUrl", queue="q"))

    assert "InvalidParameterValue: Value is wrong. SQS refused the call" in message
    assert ".." not in message
