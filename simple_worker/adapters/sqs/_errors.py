"""Translate botocore's errors into simple-worker's, at the SQS adapter's boundary.

Like httpx's ``map_httpcore_exceptions``: the SQS adapter wraps each call in
`translate_errors`, so nothing above it ever sees a botocore type. The original
error stays reachable as ``__cause__``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from simple_worker.adapters.sqs._clients import sentence
from simple_worker.domain._errors import CredentialsNotFound, QueueNotFound, QueueServiceError

# SQS answers a missing queue with either code, depending on the protocol (query or
# JSON) and on whether botocore maps the JSON error back to its query-era name.
# moto (JSON) reports both: Code "AWS.SimpleQueueService.NonExistentQueue" and
# QueryErrorCode "QueueDoesNotExist".
_MISSING_QUEUE_CODES = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})


def error_code(exc: ClientError | BotoCoreError) -> str:
    """Return the service's error code, or the botocore class name when there is none."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") or "UnknownError"
    return type(exc).__name__


def error_reason(exc: ClientError) -> str:
    """Return ``"Code: Message"`` for an error SQS answered with, without a web page in it."""
    message = str(exc.response.get("Error", {}).get("Message") or exc)
    if is_web_page(message):
        title = _TITLE.search(message)
        named = f" ({' '.join(title.group(1).split())})" if title else ""
        message = f"the endpoint answered with an HTML page{named}, not as SQS"
    return f"{error_code(exc)}: {sentence(message)}"


def is_web_page(text: str) -> bool:
    """Whether an error's message is an HTML page (an emulator's or a proxy's), not SQS's."""
    return _PAGE.match(text) is not None


_PAGE = re.compile(r"\s*<(!doctype\s+html|html|head|body)\b", re.IGNORECASE)
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def is_missing_queue(exc: ClientError) -> bool:
    """Return whether ``exc`` says the queue does not exist."""
    error = exc.response.get("Error", {})
    codes = {error.get("Code"), error.get("QueryErrorCode")}
    return not codes.isdisjoint(_MISSING_QUEUE_CODES)


def service_error(
    exc: ClientError | BotoCoreError, *, operation: str, queue: str
) -> QueueServiceError:
    """Return the `QueueServiceError` for ``exc``, naming the operation, queue and code."""
    if isinstance(exc, NoCredentialsError):
        return CredentialsNotFound(operation=operation, queue=queue)
    if isinstance(exc, ClientError):
        reason = error_reason(exc)
        if is_web_page(str(exc.response.get("Error", {}).get("Message") or "")):
            hint = (
                "Check the endpoint (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL or "
                "sqs_endpoint_url): it answered, but it is not an SQS service"
            )
        else:
            hint = "SQS refused the call: check the region, credentials, permissions and limits"
    else:
        reason = f"{error_code(exc)}: {sentence(str(exc))}"
        hint = (
            "SQS could not be reached or did not answer in time, even after botocore's "
            "retries: check the endpoint and the network"
        )
    return QueueServiceError(
        f"SQS {operation} on queue {queue} failed: {reason}. {hint}, then try again.",
        operation=operation,
        queue=queue,
    )


@contextmanager
def translate_errors(operation: str, queue: str) -> Iterator[None]:
    """Turn a botocore error raised inside the block into ours, chained with ``from``.

    Raises:
        QueueNotFound: SQS said the queue does not exist.
        QueueServiceError: any other error SQS answered with, or no answer at all
            (connection refused or dropped, timeouts).
    """
    try:
        yield
    except ClientError as exc:
        if is_missing_queue(exc):
            raise QueueNotFound([queue]) from exc
        raise service_error(exc, operation=operation, queue=queue) from exc
    except BotoCoreError as exc:
        raise service_error(exc, operation=operation, queue=queue) from exc
