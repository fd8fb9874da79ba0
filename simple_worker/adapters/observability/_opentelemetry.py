"""OpenTelemetry tracing: a span per task, its parent the producer's, through SQS attributes.

An adapter: the only module that imports ``opentelemetry`` (the optional extra
``simple-worker[opentelemetry]``, which installs the API alone; the SDK and its
exporters are the application's choice). Spans follow the OpenTelemetry messaging
semantic conventions where they fit (see `OpenTelemetryMiddleware`).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from contextvars import ContextVar, Token
from importlib import metadata
from typing import TYPE_CHECKING

import attrs

from simple_worker.domain._task import Task
from simple_worker.ports.middleware import Middleware
from simple_worker.ports.queue import ReceivedMessage

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
    from opentelemetry.context import Context
    from opentelemetry.propagators.textmap import TextMapPropagator
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider
except ImportError as exc:
    raise ImportError(
        "simple_worker.opentelemetry needs the OpenTelemetry API: "
        "pip install 'simple-worker[opentelemetry]' (and an SDK, e.g. opentelemetry-sdk, "
        "to export the spans)."
    ) from exc

if TYPE_CHECKING:
    from simple_worker.ports.middleware import Dispatched

__all__ = ["OpenTelemetryMiddleware"]

MESSAGING_SYSTEM = "aws_sqs"
"""The semantic conventions' ``messaging.system`` value for Amazon SQS."""

_SCOPE = "simple_worker"


@attrs.frozen
class _Active:
    """A consumer span this thread has open, and how to restore the context it replaced."""

    owner: OpenTelemetryMiddleware
    message: ReceivedMessage
    span: Span
    token: Token[Context]


# One stack per thread (and per asyncio task): the worker runs each message's
# before_task and after_task on the same thread, so an entry never crosses
# threads. A tuple, replaced and never mutated, so no two contexts share a list.
_active: ContextVar[tuple[_Active, ...]] = ContextVar("simple_worker_otel_spans", default=())


class OpenTelemetryMiddleware(Middleware):
    """Traces tasks: a span where a task is sent, and a child span where it runs.

    Give it to ``App(middleware=[...])`` so that both the producer and every worker
    of the app use it. Producer side (``before_send``): a PRODUCER span
    ``create <task name>``, child of the current span, ended at once; its context
    goes into the message as W3C Trace Context attributes (``traceparent``, and
    ``tracestate`` if any; ``baggage`` too when there is baggage and the global
    propagator carries it, as it does by default). Worker side (``before_task``):
    a CONSUMER span ``process <task name>`` whose parent is that context, made
    the current span while the handler runs, so spans the handler starts are its
    children. A message without a valid ``traceparent`` starts a new trace.

    Args:
        tracer_provider: where spans go; default: the global one (one set
            after this middleware was made is used too).
        propagator: how context is written into and read from message
            attributes; default: the global propagator, looked up at each use.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        propagator: TextMapPropagator | None = None,
    ) -> None:
        self._tracer: Tracer = trace.get_tracer(_SCOPE, _version(), tracer_provider=tracer_provider)
        self._propagator = propagator

    def before_send(self, task: Task, attributes: MutableMapping[str, str]) -> None:
        """Start and end a ``create`` span for ``task``; put its context in ``attributes``."""
        span = self._tracer.start_span(
            f"create {task.name}",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": MESSAGING_SYSTEM,
                "messaging.operation.type": "create",
                "messaging.operation.name": "create",
                **_task_attributes(task),
            },
        )
        carrier: dict[str, str] = {}
        try:
            self._textmap().inject(carrier, context=trace.set_span_in_context(span))
        finally:
            # Ended at once: the hook runs before the (batched) send and no hook
            # follows it, so the span marks the message's creation, not the SQS call.
            span.end()
        # SQS refuses an empty attribute value, and with it the whole message.
        attributes.update({name: value for name, value in carrier.items() if value})

    def before_task(self, task: Task, message: ReceivedMessage) -> None:
        """Start the ``process`` span, child of the sender's context, and make it current."""
        parent = self._textmap().extract(message.attributes)
        span = self._tracer.start_span(
            f"process {task.name}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={**_consumer_attributes(message), **_task_attributes(task)},
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        _active.set((*_active.get(), _Active(self, message, span, token)))

    def after_task(self, task: Task, message: ReceivedMessage, result: Dispatched) -> None:
        """End the task's span, with an ERROR status and the exception if it failed."""
        stack = _active.get()
        for index in range(len(stack) - 1, -1, -1):
            entry = stack[index]
            if entry.owner is self and entry.message is message:
                break
        else:
            return
        _active.set(stack[:index] + stack[index + 1 :])
        span = entry.span
        try:
            span.set_attribute("simple_worker.outcome", result.outcome.value)
            if result.error is not None:
                _record_error(span, result.error)
        finally:
            span.end()
            otel_context.detach(entry.token)

    def on_rejected(self, message: ReceivedMessage, error: Exception) -> None:
        """Record a message that cannot run as a short ``process`` span with an ERROR status.

        A span, not an event: no span of this message is open to hold an event
        (the sender's ended, and may be in another process).
        """
        task_name = getattr(error, "task_name", None)
        if not isinstance(task_name, str):
            task_name = None
        span = self._tracer.start_span(
            f"process {task_name or message.queue}",
            context=self._textmap().extract(message.attributes),
            kind=SpanKind.CONSUMER,
            attributes=_consumer_attributes(message),
        )
        if task_name is not None:
            span.set_attribute("simple_worker.task.name", task_name)
        span.set_attribute("simple_worker.outcome", "rejected")
        _record_error(span, error)
        span.end()

    def _textmap(self) -> TextMapPropagator:
        return self._propagator or propagate.get_global_textmap()


def _task_attributes(task: Task) -> dict[str, str]:
    attributes = {"simple_worker.task.name": task.name}
    if task.id is not None:
        attributes["simple_worker.task.id"] = task.id
    return attributes


def _consumer_attributes(message: ReceivedMessage) -> dict[str, str | int]:
    return {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": message.queue,
        "messaging.message.id": message.message_id,
        "simple_worker.message.receive_count": message.receive_count,
    }


def _record_error(span: Span, error: BaseException) -> None:
    error_type = type(error)
    qualified = (
        error_type.__qualname__
        if error_type.__module__ == "builtins"
        else f"{error_type.__module__}.{error_type.__qualname__}"
    )
    span.set_attribute("error.type", qualified)
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, f"{error_type.__name__}: {error}"))


def _version() -> str | None:
    try:
        return metadata.version("simple-worker")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return None
