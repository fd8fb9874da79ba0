"""bench/emulator.py and bench/proxy.py: every call goes through a proxy that counts it.

moto only (LocalStack needs a newer Python and a virtualenv of its own, which
CI does not make). bench/ is not a package, so its directory goes on sys.path.
The integration conftest's autouse fixture gives every client dummy credentials.
"""

from __future__ import annotations

import http.client
import sys
import time
import uuid
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).parents[3] / "bench"))
from emulator import emulator


def test_calls_go_through_the_proxy_which_counts_them_by_action():
    with emulator("moto") as server:
        sqs = boto3.client("sqs", endpoint_url=server.url, region_name="us-east-1")
        url = sqs.create_queue(QueueName=f"proxy-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        entries = [{"Id": str(n), "MessageBody": "x"} for n in range(10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]

        calls = server.calls()

    assert len(received) == 10
    # The queue's URL names the proxy, so clients that address queues by URL are counted too.
    assert url.startswith(server.url)
    assert calls == {"CreateQueue": 1, "SendMessageBatch": 1, "ReceiveMessage": 1}
    assert server.server.poll() is not None
    assert server.proxy.poll() is not None


def test_the_proxy_counts_query_protocol_calls_and_answers_expect_continue():
    with emulator("moto") as server:
        host, port = server.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        body = f"Action=CreateQueue&QueueName=proxy-{uuid.uuid4().hex[:8]}&Version=2012-11-05"
        connection.request(
            "POST",
            "/",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Expect": "100-continue",
                # As every client sends it: moto (5.2.6+) tells the service by its scope.
                "Authorization": "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/sqs/"
                "aws4_request, SignedHeaders=host, Signature=0",
            },
        )
        response = connection.getresponse()
        response.read()
        connection.close()

        calls = server.calls()

    assert response.status == 200
    assert calls == {"CreateQueue": 1}


def test_the_proxy_holds_every_call_its_delay():
    with emulator("moto", delay=0.2) as server:
        sqs = boto3.client("sqs", endpoint_url=server.url, region_name="us-east-1")
        started = time.monotonic()
        sqs.list_queues()
        sqs.list_queues()
        elapsed = time.monotonic() - started

    assert elapsed >= 0.4
