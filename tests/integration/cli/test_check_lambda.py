"""``simple-worker check APP --lambda-function NAME`` against moto's Lambda and SQS.

moto stores functions and event source mappings without running them (no Docker
needed), which is all ``check`` reads. The Lambda endpoint is the SQS emulator's,
as the command derives it.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import boto3
import pytest

REGION = "us-east-1"


@pytest.fixture
def lambda_client(moto_server):
    return boto3.client("lambda", endpoint_url=moto_server, region_name=REGION)


@pytest.fixture
def make_function(moto_server, lambda_client):
    """``make_function(timeout=10)``: a stored function (never run); its name."""
    iam = boto3.client("iam", endpoint_url=moto_server, region_name=REGION)
    role = iam.create_role(
        RoleName=f"lambda-{uuid.uuid4().hex[:10]}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("tasks.py", "handler = None\n")
    made = []

    def make(timeout=10):
        name = f"fn-{uuid.uuid4().hex[:10]}"
        lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="tasks.handler",
            Code={"ZipFile": code.getvalue()},
            Timeout=timeout,
        )
        made.append(name)
        return name

    yield make
    for name in made:
        for mapping in lambda_client.list_event_source_mappings(FunctionName=name)[
            "EventSourceMappings"
        ]:
            lambda_client.delete_event_source_mapping(UUID=mapping["UUID"])
        lambda_client.delete_function(FunctionName=name)


@pytest.fixture
def queue_arn(sqs_client):
    def arn(name):
        url = sqs_client.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return attributes["Attributes"]["QueueArn"]

    return arn


def _map(lambda_client, function, arn, **options):
    options.setdefault("FunctionResponseTypes", ["ReportBatchItemFailures"])
    return lambda_client.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=function, BatchSize=10, **options
    )["UUID"]


def _lambda_part(stdout):
    return stdout[stdout.index("Checking Lambda function") :]


def test_a_well_set_up_mapping_passes(run_main, prefix, make_function, lambda_client, queue_arn):
    run_main("queues", "create", "cli_app:app")  # visibility timeout 60 s
    function = make_function(timeout=10)
    mapping = _map(
        lambda_client,
        function,
        queue_arn(f"{prefix}default"),
        ScalingConfig={"MaximumConcurrency": 5},
    )

    result = run_main("check", "cli_app:app", "--lambda-function", function)

    assert result.returncode == 0, result.stdout
    assert (
        f"mapping {mapping} from {prefix}default  ok       (batch size 10, batching window "
        "0 s, maximum concurrency 5, Enabled)"
    ) in _lambda_part(result.stdout)
    assert result.stdout.endswith(
        "1 queue(s) and 1 Lambda function(s) checked: 0 problem(s), 0 warning(s).\n"
    )


def test_a_mapping_without_report_batch_item_failures_is_a_problem_that_says_what_happens(
    run_main, prefix, make_function, lambda_client, queue_arn
):
    run_main("queues", "create", "cli_app:app")
    function = make_function()
    mapping = _map(lambda_client, function, queue_arn(f"{prefix}default"), FunctionResponseTypes=[])

    result = run_main("check", "cli_app:app", "--lambda-function", function)

    assert result.returncode == 1
    part = _lambda_part(result.stdout)
    assert f"mapping {mapping} from {prefix}default  PROBLEM" in part
    assert "lacks ReportBatchItemFailures" in part
    assert "deleted whole, failed tasks and messages that cannot run included" in part
    assert (
        f"fix: aws lambda update-event-source-mapping --uuid {mapping} "
        "--function-response-types ReportBatchItemFailures."
    ) in part


@pytest.mark.parametrize(
    ("timeout", "status", "says"),
    [
        (10, "ok", None),
        (30, "WARNING", "under six times the function's timeout (180 s)"),
        (90, "PROBLEM", "is shorter than the function's timeout (90 s)"),
    ],
)
def test_the_queues_visibility_timeout_is_compared_with_six_times_the_functions(
    run_main, prefix, make_function, lambda_client, queue_arn, timeout, status, says
):
    run_main("queues", "create", "cli_app:app")  # visibility timeout 60 s
    function = make_function(timeout=timeout)
    _map(lambda_client, function, queue_arn(f"{prefix}default"))

    result = run_main("check", "cli_app:app", "--lambda-function", function)

    part = _lambda_part(result.stdout)
    assert f"from {prefix}default  {status}" in part
    if says:
        assert says in part
        assert f"VisibilityTimeout to {6 * timeout} s or more" in part
    assert result.returncode == (1 if status == "PROBLEM" else 0)


def test_a_mapping_from_a_queue_the_app_does_not_use_and_a_disabled_one_are_reported(
    run_main, prefix, make_function, lambda_client, queue_arn, sqs_client
):
    run_main("queues", "create", "cli_app:app")
    other = f"{prefix}elsewhere"
    sqs_client.create_queue(QueueName=other, Attributes={"VisibilityTimeout": "60"})
    function = make_function()
    _map(lambda_client, function, queue_arn(other), Enabled=False)

    result = run_main("check", "cli_app:app", "--lambda-function", function)

    assert result.returncode == 1
    part = _lambda_part(result.stdout)
    assert f"it reads {other}, on which the app registers no task" in part
    assert f"map one of the app's queues: {prefix}default" in part
    assert "warning: it is Disabled: it invokes nothing until it is enabled." in part


def test_a_missing_function_and_one_without_mappings_are_problems(run_main, make_function):
    run_main("queues", "create", "cli_app:app")
    bare = make_function()

    result = run_main(
        "check", "cli_app:app", "--lambda-function", "no-such-fn", "--lambda-function", bare
    )

    assert result.returncode == 1
    part = _lambda_part(result.stdout)
    assert "function no-such-fn  PROBLEM" in part
    assert "it does not exist (in this region and account)" in part
    assert f"function {bare}  PROBLEM" in part
    assert "it has no SQS event source mapping" in part
    assert "2 Lambda function(s) checked: 2 problem(s)" in result.stdout
