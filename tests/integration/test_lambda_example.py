"""examples/lambda_function: its handler runs a batch against moto; its template is sound."""

from __future__ import annotations

import json
import logging
import runpy
import uuid
from pathlib import Path

import yaml  # moto's dependency

EXAMPLE = Path(__file__).parents[2] / "examples" / "lambda_function"


def test_the_example_function_runs_a_batch_and_reports_what_cannot_run(
    moto_server, sqs_client, monkeypatch, caplog
):
    prefix = f"lambda-example-{uuid.uuid4().hex[:8]}-"
    dlq = sqs_client.create_queue(QueueName=f"{prefix}default-dlq")["QueueUrl"]
    dlq_arn = sqs_client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": 5}
    url = sqs_client.create_queue(
        QueueName=f"{prefix}default",
        Attributes={"VisibilityTimeout": "360", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_server)
    monkeypatch.setenv("QUEUE_PREFIX", prefix)
    try:
        example = runpy.run_path(str(EXAMPLE / "tasks.py"))
        app, handler = example["app"], example["handler"]
        app.add_task("resize_image", bucket="photos", key="cat.jpg", width=320)
        app.add_task("send_receipt", order_id=7, email="a@example.com")
        sqs_client.send_message(QueueUrl=url, MessageBody="not a task")
        messages = sqs_client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        )["Messages"]
        arn = f"arn:aws:sqs:us-east-1:123456789012:{prefix}default"
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m["Attributes"],
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
        }

        with caplog.at_level(logging.INFO):
            response = handler(event, None)

        poison = [m["MessageId"] for m in messages if m["Body"] == "not a task"]
        assert response == {"batchItemFailures": [{"itemIdentifier": poison[0]}]}
        assert "Resizing s3://photos/cat.jpg to 320 px" in caplog.text
        assert "Sending the receipt of order 7 to a@example.com" in caplog.text
    finally:
        for queue in (url, dlq):
            sqs_client.delete_queue(QueueUrl=queue)


class _SamLoader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Sub, !GetAtt, !Ref) as plain values."""


_SamLoader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node))


def test_the_examples_template_sets_what_docs_lambda_md_requires():
    template = yaml.load((EXAMPLE / "template.yaml").read_text(encoding="utf-8"), _SamLoader)  # noqa: S506 - a safe loader with tags read as text
    resources = template["Resources"]
    function = resources["TaskFunction"]["Properties"]
    mapping = function["Events"]["Tasks"]["Properties"]
    queue = resources["TaskQueue"]["Properties"]
    assert function["Handler"] == "tasks.handler"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    assert mapping["ScalingConfig"]["MaximumConcurrency"] >= 2
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 5
