"""A shorter way through botocore for the worker's hot calls: ReceiveMessage, DeleteMessageBatch.

A worker makes these two calls for every ten tasks, and botocore spends most of
a call's CPU on machinery they do not need each time: checking the parameters
against the API model, the model-driven serialiser and parser, and a dozen
events. For a client `SQSQueue` built itself, `DirectCalls` writes and reads
their JSON itself and keeps the rest botocore's own:

- the endpoint URL, signing name, region and headers botocore resolved for the
  operation, recorded from its ``before-sign`` event on the operation's first
  call (which botocore makes in full);
- the client's credentials (refreshed as they expire) and botocore's SigV4 signer;
- botocore's ``before-send`` event (where moto's ``mock_aws`` and HTTP-level stubs
  answer) and the client's HTTP session: its connection pool, timeouts, proxies.

Only a plain success is handled here. An answer other than 200, or none at all,
returns None, and the caller makes the call again through botocore, whose retry
rules and error parsing then apply in full; that call may make one attempt more
than botocore alone, which both calls tolerate. From then on the operation goes
through botocore alone until botocore has made it successfully, so during an
outage botocore's retries and retry quota govern every attempt but the first.
While a tracing library wraps botocore's calls (``BaseClient._make_api_call``, as
OpenTelemetry's and Datadog's do), every call goes through botocore, so that it
is traced.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.client import BaseClient
from botocore.credentials import Credentials
from botocore.hooks import first_non_none_response

logger = logging.getLogger(__name__)

HOT_CALLS = ("ReceiveMessage", "DeleteMessageBatch")

# The headers botocore sets on these calls besides the signature's, kept as it set them.
_KEPT_HEADERS = frozenset({"content-type", "x-amz-target", "x-amzn-query-mode", "user-agent"})
_OK = 200
_BOTOCORE = str(Path(botocore.__file__).parent)


class _Route:
    """Where and how botocore sent an operation: its URL, headers and signing scope."""

    def __init__(self, url: str, headers: dict[str, str], signing_name: str, region: str) -> None:
        self.url = url
        self.headers = headers
        self.signing_name = signing_name
        self.region = region


class DirectCalls:
    """Makes `HOT_CALLS` with botocore's endpoint, signer and HTTP session, without the rest.

    Args:
        client: a botocore SQS client speaking SQS's JSON protocol, built by the adapter
            (so no code of the user's hooks onto its events).
        credentials: the credentials the client signs with; None: never direct.
    """

    def __init__(self, client: BaseClient, credentials: Credentials | None) -> None:
        self._client = client
        self._credentials = credentials
        self._routes: dict[str, _Route] = {}
        self._failing: set[str] = set()
        """Operations whose last direct attempt failed: botocore makes them until one succeeds."""
        self._http = getattr(getattr(client, "_endpoint", None), "http_session", None)
        if (
            credentials is not None
            and self._http is not None
            and client.meta.service_model.protocol == "json"
        ):
            events = client.meta.events
            events.register("before-sign.sqs", self._learn, unique_id=f"sw-learn-{id(self)}")
            events.register("after-call.sqs", self._recover, unique_id=f"sw-recover-{id(self)}")

    def call(self, operation: str, params: Mapping[str, object]) -> dict[str, Any] | None:
        """Make the call; return SQS's answer, or None if the caller must make it through botocore.

        None before botocore made the operation once, while a tracing library wraps
        botocore's calls, and when the call did not plainly succeed (any answer but
        200, a connection error, a timeout).
        """
        route, http = self._routes.get(operation), self._http
        if route is None or http is None or self._credentials is None:
            return None
        if operation in self._failing or _traced():
            return None
        body = json.dumps(params).encode()
        logger.debug("Making request for %s directly: %r", operation, body)  # as botocore does
        request = AWSRequest(method="POST", url=route.url, data=body, headers=route.headers)
        frozen = self._credentials.get_frozen_credentials()
        SigV4Auth(frozen, route.signing_name, route.region).add_auth(request)
        # Plain headers: botocore's case-insensitive ones cost a fifth of the HTTP send.
        headers = {**request.headers, "Content-Length": str(len(body))}
        prepared = AWSPreparedRequest(
            "POST",
            route.url,
            headers,  # type: ignore[arg-type] # any mapping does for the HTTP session
            body,
            stream_output=False,
        )
        try:
            answers = self._client.meta.events.emit(
                f"before-send.sqs.{operation}", request=prepared
            )
            response = first_non_none_response(answers) or http.send(prepared)
            answer = json.loads(response.content) if response.status_code == _OK else None
        except Exception:  # noqa: BLE001 - no plain answer: botocore makes the call, by its rules
            answer = None
        if not isinstance(answer, dict):
            self._failing.add(operation)
            return None
        return answer

    def _learn(
        self,
        request: AWSRequest,
        operation_name: str = "",
        signing_name: str = "",
        region_name: str = "",
        signature_version: object = None,
        **_: object,
    ) -> None:
        """Record how botocore sends a hot call (botocore calls this before signing any call)."""
        if operation_name not in HOT_CALLS or operation_name in self._routes:
            return
        if signature_version != "v4" or not signing_name or not region_name:
            return  # another signer (or none): botocore keeps making the call
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            if name.lower() in _KEPT_HEADERS:
                headers[name] = str(value)
        if request.url is not None:
            self._routes[operation_name] = _Route(request.url, headers, signing_name, region_name)

    def _recover(self, http_response: object = None, event_name: str = "", **_: object) -> None:
        """Make an operation directly again once botocore made it successfully."""
        if getattr(http_response, "status_code", None) == _OK:
            self._failing.discard(event_name.rsplit(".", 1)[-1])


def _traced() -> bool:
    """Whether code other than botocore's wraps botocore's calls, as tracing libraries do."""
    make_api_call = vars(BaseClient).get("_make_api_call")
    code = getattr(make_api_call, "__code__", None)  # none on a wrapt wrapper
    return code is None or not code.co_filename.startswith(_BOTOCORE)
