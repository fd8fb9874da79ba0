"""Which way ``redrive`` moves messages, and SQS's message move task path.

moto has no ``StartMessageMoveTask``, so the move task path is checked here against
botocore's `Stubber`, which validates each request against SQS's API model: a
stand-in for AWS, the one place these tests use one. The receive/send/delete path
runs against moto in tests/integration/cli.
"""

import boto3
import pytest
from botocore.stub import Stubber

from simple_worker import App, ConfigurationError
from simple_worker.adapters.sqs._admin import MoveTask, SQSAdmin
from simple_worker.cli import _redrive as redrive
from simple_worker.cli._redrive import choose_method

from .test_queue_rules import details, dlq_of


def client(endpoint):
    return boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.mark.parametrize(
    ("endpoint", "native"),
    [
        ("https://sqs.us-east-1.amazonaws.com", True),
        ("https://vpce-1a2b.sqs.eu-west-1.vpce.amazonaws.com", True),
        ("https://sqs.cn-north-1.amazonaws.com.cn", True),
        ("https://sqs.us-east-1.api.aws", True),
        ("http://127.0.0.1:5000", False),
        ("http://localhost:4566", False),
        ("https://amazonaws.com.example.org", False),
    ],
)
def test_move_tasks_are_used_on_aws_endpoints_only(endpoint, native):
    assert SQSAdmin(client(endpoint)).supports_move_tasks is native


@pytest.mark.parametrize(
    ("asked", "native", "limit", "method"),
    [
        ("auto", True, None, "move-task"),
        ("auto", False, None, "receive-send"),
        ("auto", True, 5, "receive-send"),
        ("receive-send", True, None, "receive-send"),
        ("move-task", False, None, "move-task"),
    ],
)
def test_the_method_is_chosen_from_the_endpoint_and_the_options(asked, native, limit, method):
    chosen, why = choose_method(asked, native, limit)

    assert chosen == method
    assert why


def test_a_move_task_cannot_honour_a_limit():
    with pytest.raises(ConfigurationError, match="--limit works with --method receive-send only"):
        choose_method("move-task", True, 10)


def test_queue_operations_need_the_sqs_adapter():
    with pytest.raises(ConfigurationError, match="This command works on SQS queues"):
        SQSAdmin.of(App(testing_mode=True).queue)


def test_the_move_task_requests_match_sqs_api_and_an_ended_task_is_found_without_its_handle():
    admin_client = client("https://sqs.us-east-1.amazonaws.com")
    admin = SQSAdmin(admin_client)
    source, dlq = details(), dlq_of()
    with Stubber(admin_client) as stub:
        stub.add_response(
            "start_message_move_task",
            {"TaskHandle": "handle-1"},
            {
                "SourceArn": dlq.arn,
                "DestinationArn": source.arn,
                "MaxNumberOfMessagesPerSecond": 50,
            },
        )
        listing = {"SourceArn": dlq.arn, "MaxResults": 10}
        running = {
            "TaskHandle": "handle-1",
            "Status": "RUNNING",
            "ApproximateNumberOfMessagesMoved": 4,
            "ApproximateNumberOfMessagesToMove": 9,
        }
        stub.add_response("list_message_move_tasks", {"Results": [running]}, listing)
        done = {"Status": "COMPLETED", "ApproximateNumberOfMessagesMoved": 9}
        older = {"Status": "CANCELLED", "ApproximateNumberOfMessagesMoved": 1}
        stub.add_response("list_message_move_tasks", {"Results": [done, older]}, listing)
        stub.add_response(
            "cancel_message_move_task",
            {"ApproximateNumberOfMessagesMoved": 9},
            {"TaskHandle": "handle-1"},
        )

        handle = admin.start_move_task(dlq, source, 50)
        first = admin.move_task(dlq, handle)
        second = admin.move_task(dlq, handle)
        cancelled = admin.cancel_move_task(dlq, handle)

    assert first == MoveTask("handle-1", "RUNNING", 4, 9)
    assert second == MoveTask("handle-1", "COMPLETED", 9, None)
    assert cancelled == 9


class FakeAdmin:
    """Plays SQS's move task: RUNNING, then the given final state."""

    def __init__(self, final):
        self.states = [MoveTask("h", "RUNNING", 3, 10), final]
        self.started = []

    def start_move_task(self, source, destination, rate):
        self.started.append((source.name, destination.name, rate))
        return "h"

    def move_task(self, source, handle):
        return self.states.pop(0)


def test_the_move_task_path_follows_the_task_to_its_end(monkeypatch, capsys):
    monkeypatch.setattr(redrive, "_POLL_INTERVAL", 0)
    admin = FakeAdmin(MoveTask("h", "COMPLETED", 10, 10))

    status = redrive._with_move_task(admin, dlq_of(), details(), 25)

    assert status == 0
    assert admin.started == [("p-default-dlq", "p-default", 25)]
    assert capsys.readouterr().out == (
        "Moved about 10 message(s) from p-default-dlq to p-default "
        "(SQS's message move task, completed).\n"
    )


def test_a_failed_move_task_exits_1_with_its_reason(monkeypatch, capsys):
    monkeypatch.setattr(redrive, "_POLL_INTERVAL", 0)
    admin = FakeAdmin(MoveTask("h", "FAILED", 5, 10, failure_reason="AccessDenied"))

    assert redrive._with_move_task(admin, dlq_of(), details(), None) == 1
    assert "failed after moving about 5 message(s): AccessDenied" in capsys.readouterr().out
