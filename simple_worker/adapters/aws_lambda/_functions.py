"""A Lambda function's settings and SQS event source mappings, read through boto3.

Read-only (``GetFunctionConfiguration``, ``ListEventSourceMappings``): what
``simple-worker check APP --lambda-function NAME`` compares with the app and its
queues. Like the SQS adapter, a module that may import boto3; botocore's errors
are translated here, so the command never sees them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import attrs
from botocore.exceptions import BotoCoreError, ClientError

from simple_worker.adapters.sqs._clients import (
    client_configuration,
    refuse_altered_client,
    sentence,
    session_and_region,
)
from simple_worker.domain._errors import QueueServiceError
from simple_worker.domain._queue_arn import QueueArn, parse_queue_arn

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_lambda.type_defs import EventSourceMappingConfigurationTypeDef

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


@attrs.frozen
class SqsMapping:
    """One SQS event source mapping of a function."""

    uuid: str
    queue: QueueArn
    state: str
    """``Enabled``, ``Disabled``, ``Creating``..."""
    batch_size: int
    batching_window: int
    """``MaximumBatchingWindowInSeconds``: how long the mapping gathers a batch."""
    reports_batch_item_failures: bool
    """``FunctionResponseTypes`` holds ``ReportBatchItemFailures``."""
    maximum_concurrency: int | None = None


@attrs.frozen
class FunctionSetup:
    """A function's timeout and its SQS event source mappings."""

    name: str
    timeout: int
    """Seconds an invocation may run."""
    mappings: tuple[SqsMapping, ...]


class LambdaFunctions:
    """Reads Lambda functions' settings.

    Args:
        client: a boto3 Lambda client, used as is; default: one built here from the
            standard AWS configuration (``AWS_ENDPOINT_URL_LAMBDA``, ``AWS_REGION``...).
        endpoint_url: the Lambda endpoint, e.g. a local emulator's.
        region: the AWS region.
    """

    def __init__(
        self,
        *,
        client: LambdaClient | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        if client is None:
            session, region = session_and_region(None, region)
            with client_configuration("Lambda", endpoint_url):
                client = session.client("lambda", endpoint_url=endpoint_url, region_name=region)
            refuse_altered_client("LambdaFunctions", client, given=False)
        self._client = client

    @property
    def endpoint(self) -> str:
        """The endpoint URL the client talks to."""
        return str(self._client.meta.endpoint_url)

    def find(self, name: str) -> FunctionSetup | None:
        """Return the function's timeout and SQS mappings; None if there is no such function.

        Mappings of other sources (Kinesis, DynamoDB, Kafka...) are left out.

        Raises:
            QueueServiceError: Lambda refused the calls (permissions) or did not answer.
        """
        try:
            with _translate_errors("GetFunctionConfiguration", name):
                timeout = self._client.get_function_configuration(FunctionName=name)["Timeout"]
        except _FunctionNotFound:
            return None
        mappings: list[SqsMapping] = []
        with _translate_errors("ListEventSourceMappings", name):
            pages = self._client.get_paginator("list_event_source_mappings").paginate(
                FunctionName=name
            )
            for page in pages:
                for mapping in page.get("EventSourceMappings", []):
                    sqs = _sqs_mapping(mapping)
                    if sqs is not None:
                        mappings.append(sqs)
        return FunctionSetup(name, timeout, tuple(mappings))


def _sqs_mapping(mapping: EventSourceMappingConfigurationTypeDef) -> SqsMapping | None:
    queue = parse_queue_arn(mapping.get("EventSourceArn"))
    if queue is None:
        return None
    return SqsMapping(
        uuid=mapping.get("UUID", "?"),
        queue=queue,
        state=mapping.get("State", "?"),
        batch_size=mapping.get("BatchSize", 10),
        batching_window=mapping.get("MaximumBatchingWindowInSeconds", 0),
        reports_batch_item_failures=REPORT_BATCH_ITEM_FAILURES
        in mapping.get("FunctionResponseTypes", []),
        maximum_concurrency=mapping.get("ScalingConfig", {}).get("MaximumConcurrency"),
    )


class _FunctionNotFound(Exception):
    pass


@contextmanager
def _translate_errors(operation: str, function: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code") or "UnknownError"
        if code == "ResourceNotFoundException":
            raise _FunctionNotFound from exc
        raise QueueServiceError(
            f"Lambda {operation} on function {function} failed: {code}: "
            f"{sentence(str(error.get('Message') or exc))}. Check the region and the "
            "credentials' permissions (lambda:GetFunctionConfiguration, "
            "lambda:ListEventSourceMappings), then try again.",
            operation=operation,
        ) from exc
    except BotoCoreError as exc:
        raise QueueServiceError(
            f"Lambda {operation} on function {function} failed: {type(exc).__name__}: "
            f"{sentence(str(exc))}. Check the endpoint, the network and the credentials, "
            "then try again.",
            operation=operation,
        ) from exc
