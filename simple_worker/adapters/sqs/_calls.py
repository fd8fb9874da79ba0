"""Reporting an SQS client's calls as `QueueCall` values, from botocore's events.

botocore announces every call on the client's event system; this turns those
announcements into plain values, so that metrics need know nothing of botocore.
A listener is called once per call (botocore's retries within it are not seen).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from botocore.hooks import BaseEventHooks

from simple_worker.ports.queue import QueueCall

logger = logging.getLogger(__name__)

_QUEUE_KEY = "simple_worker_queue"  # where a call's queue name waits for its answer
_HTTP_ERROR = 300


class CallReporter:
    """Calls ``listener`` with a `QueueCall` after every call of a client. Never raises."""

    def __init__(self, listener: Callable[[QueueCall], None]) -> None:
        self._listener = listener

    def register(self, events: BaseEventHooks) -> None:
        """Register on a client's events (``client.meta.events``)."""
        hooks: dict[str, Callable[..., None]] = {
            "before-parameter-build.sqs": self._note_queue,
            "after-call.sqs": self._answered,
            "after-call-error.sqs": self._failed,
        }
        for event, handler in hooks.items():
            events.register(event, handler, unique_id=f"simple-worker-calls-{id(self)}-{event}")

    # botocore calls these with keyword arguments; they must never raise into the call.

    def _note_queue(
        self,
        params: Mapping[str, object] | None = None,
        context: MutableMapping[str, object] | None = None,
        **_: object,
    ) -> None:
        url = (params or {}).get("QueueUrl")
        if context is not None and isinstance(url, str):
            context[_QUEUE_KEY] = url.rstrip("/").rsplit("/", 1)[-1]

    def _answered(
        self,
        http_response: object = None,
        parsed: Mapping[str, Any] | None = None,
        context: Mapping[str, object] | None = None,
        event_name: str = "",
        **_: object,
    ) -> None:
        parsed, context = parsed or {}, context or {}
        action = event_name.rsplit(".", 1)[-1]
        queue = context.get(_QUEUE_KEY)
        call = QueueCall(action, queue if isinstance(queue, str) else None)
        status = getattr(http_response, "status_code", 200)
        if not isinstance(status, int) or status >= _HTTP_ERROR:
            code = context.get("error_code_override") or parsed.get("Error", {}).get("Code")
            call = QueueCall(call.action, call.queue, error=str(code or status))
        elif action == "ReceiveMessage":
            call = QueueCall(call.action, call.queue, received=len(parsed.get("Messages") or ()))
        self.report(call)

    def _failed(
        self,
        exception: BaseException | None = None,
        context: Mapping[str, object] | None = None,
        event_name: str = "",
        **_: object,
    ) -> None:
        queue = (context or {}).get(_QUEUE_KEY)
        error = type(exception).__name__ if exception is not None else "Unknown"
        action = event_name.rsplit(".", 1)[-1]
        self.report(QueueCall(action, queue if isinstance(queue, str) else None, error=error))

    def report(self, call: QueueCall) -> None:
        """Call the listener with ``call``; log what it raises."""
        try:
            self._listener(call)
        except Exception:  # an SQS call must not fail because of what observes it
            logger.exception("Internal error in a listener of SQS calls")
