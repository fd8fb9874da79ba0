"""``simple-worker check APP --lambda-function NAME``: a function's SQS event source mappings.

Read-only, like the rest of ``check`` (``GetFunctionConfiguration``,
``ListEventSourceMappings``, and ``GetQueueUrl``/``GetQueueAttributes`` for each
mapped queue). What it reports, per mapping: ``ReportBatchItemFailures``
missing (a problem: the mapping then deletes whole batches, failures included),
a queue the app registers no task on (a problem), a queue visibility timeout
under the function's timeout (a problem) or under six times it (a warning, as
AWS recommends), and a mapping that is not enabled (a warning).
"""

from __future__ import annotations

import os

from simple_worker.adapters.aws_lambda._functions import FunctionSetup, LambdaFunctions, SqsMapping
from simple_worker.adapters.sqs._admin import QueueDetails, SQSAdmin
from simple_worker.cli._findings import Finding
from simple_worker.domain._errors import CredentialsNotFound, QueueServiceError

VISIBILITY_FACTOR = 6
"""AWS recommends a queue visibility timeout of at least six times the function's timeout."""
LAMBDA_ACTIONS = "lambda:GetFunctionConfiguration and lambda:ListEventSourceMappings"


def lambda_functions(admin: SQSAdmin) -> LambdaFunctions:
    """Return the Lambda reader for the app's SQS endpoint and region.

    AWS's own SQS endpoint means Lambda's standard one; an emulator's (moto,
    LocalStack serve both) means that same endpoint, unless the standard AWS
    configuration names a Lambda endpoint (``AWS_ENDPOINT_URL_LAMBDA``).
    """
    configured = os.environ.get("AWS_ENDPOINT_URL_LAMBDA") or os.environ.get("AWS_ENDPOINT_URL")
    emulator = not admin.supports_move_tasks and not configured
    return LambdaFunctions(endpoint_url=admin.endpoint if emulator else None, region=admin.region)


def function_findings(
    name: str,
    function: FunctionSetup | None,
    app_queues: list[str],
    queues: dict[str, QueueDetails | None],
) -> list[tuple[str, str, list[Finding]]]:
    """Return a row per SQS mapping of ``function`` (or one for the function).

    Each row is a label, a summary of the settings, and the findings.

    Args:
        name: the function's name as given.
        function: its settings, None when it does not exist.
        app_queues: the full names of the queues the app registers tasks on.
        queues: the mapped queues' details by name, None for one that does not exist.
    """
    if function is None:
        return [
            (
                f"function {name}",
                "",
                [
                    Finding(
                        "problem",
                        "it does not exist (in this region and account)",
                        "check the name and AWS_REGION, or deploy it first",
                    )
                ],
            )
        ]
    if not function.mappings:
        return [
            (
                f"function {name}",
                "",
                [
                    Finding(
                        "problem",
                        "it has no SQS event source mapping: nothing invokes it with the "
                        "queue's messages",
                        f"aws lambda create-event-source-mapping --function-name {name} "
                        "--event-source-arn QUEUE_ARN --function-response-types "
                        "ReportBatchItemFailures",
                    )
                ],
            )
        ]
    return [
        (
            f"mapping {mapping.uuid} from {mapping.queue.name}",
            _summary(mapping),
            _mapping_findings(function, mapping, app_queues, queues),
        )
        for mapping in function.mappings
    ]


def _mapping_findings(
    function: FunctionSetup,
    mapping: SqsMapping,
    app_queues: list[str],
    queues: dict[str, QueueDetails | None],
) -> list[Finding]:
    found: list[Finding] = []
    queue_name = mapping.queue.name
    if not mapping.reports_batch_item_failures:
        found.append(
            Finding(
                "problem",
                "its FunctionResponseTypes lacks ReportBatchItemFailures, so the mapping ignores "
                "the handler's partial batch response: every batch counts as a success and is "
                "deleted whole, failed tasks and messages that cannot run included (never "
                "retried, never dead-lettered)",
                f"aws lambda update-event-source-mapping --uuid {mapping.uuid} "
                "--function-response-types ReportBatchItemFailures",
            )
        )
    if queue_name not in app_queues:
        found.append(
            Finding(
                "problem",
                f"it reads {queue_name}, on which the app registers no task: every message "
                "there is rejected as an unknown task and never runs",
                "register the queue's tasks in the app, or map one of the app's queues: "
                + ", ".join(app_queues),
            )
        )
    details = queues.get(queue_name)
    if details is None:
        found.append(Finding("problem", f"its queue {queue_name} does not exist"))
    else:
        found += _visibility_findings(function, details)
    if mapping.state != "Enabled":
        found.append(
            Finding(
                "warning",
                f"it is {mapping.state}: it invokes nothing until it is enabled",
                f"aws lambda update-event-source-mapping --uuid {mapping.uuid} --enabled",
            )
        )
    return found


def _visibility_findings(function: FunctionSetup, queue: QueueDetails) -> list[Finding]:
    timeout, visibility = function.timeout, queue.visibility_timeout
    recommended = VISIBILITY_FACTOR * timeout
    fix = f"set {queue.name}'s VisibilityTimeout to {recommended} s or more"
    if visibility < timeout:
        return [
            Finding(
                "problem",
                f"{queue.name}'s visibility timeout ({visibility} s) is shorter than the "
                f"function's timeout ({timeout} s): a message can be delivered again while "
                "the invocation that holds it still runs",
                fix,
            )
        ]
    if visibility < recommended:
        return [
            Finding(
                "warning",
                f"{queue.name}'s visibility timeout ({visibility} s) is under six times the "
                f"function's timeout ({recommended} s), as AWS recommends: a batch whose "
                "invocation was throttled and retried may come back before it is done",
                fix,
            )
        ]
    return []


def _summary(mapping: SqsMapping) -> str:
    parts = [
        f"batch size {mapping.batch_size}",
        f"batching window {mapping.batching_window} s",
        "maximum concurrency "
        + (str(mapping.maximum_concurrency) if mapping.maximum_concurrency else "not set"),
        mapping.state,
    ]
    return f"({', '.join(parts)})"


def read_function(
    functions: LambdaFunctions, admin: SQSAdmin, name: str
) -> tuple[FunctionSetup | None, dict[str, QueueDetails | None]]:
    """Read the function and each queue it maps.

    Raises:
        QueueServiceError: Lambda or SQS refused a call or did not answer.
    """
    function = functions.find(name)
    queues: dict[str, QueueDetails | None] = {}
    for mapping in function.mappings if function is not None else ():
        if mapping.queue.name not in queues:
            queues[mapping.queue.name] = admin.find(mapping.queue.name)
    return function, queues


def unreadable(name: str, error: QueueServiceError) -> list[tuple[str, str, list[Finding]]]:
    """Return the row for a function that could not be read."""
    if isinstance(error, CredentialsNotFound):
        raise error
    return [
        (
            f"function {name}",
            "",
            [
                Finding(
                    "problem",
                    f"it cannot be read: {' '.join(str(error).split())}",
                    f"grant these credentials {LAMBDA_ACTIONS} on the function",
                )
            ],
        )
    ]
