"""OpenTelemetry tracing: spans per task, linked from producer to consumer by message attributes.

Spans go to the SDK's in-memory exporter through a provider made per test, never
the global one, so no test sees another's spans (`exporter` and `provider`, in
tests/conftest.py).
"""

import ast
import asyncio
import importlib
import sys
import threading
from pathlib import Path

import pytest
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, StatusCode

from simple_worker import App, Middleware
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.opentelemetry import OpenTelemetryMiddleware
from simple_worker.ports.queue import OutgoingMessage

PACKAGE = Path(__file__).resolve().parents[4] / "simple_worker"


@pytest.fixture
def tracer(provider):
    return provider.get_tracer("tests")


@pytest.fixture
def tracing(provider):
    return OpenTelemetryMiddleware(tracer_provider=provider)


@pytest.fixture
def app(tracing):
    return App(testing_mode=True, middleware=[tracing])


def spans_named(exporter, name):
    return [span for span in exporter.get_finished_spans() if span.name == name]


def only_span(exporter, name):
    (span,) = spans_named(exporter, name)
    return span


def span_of_task(exporter, name, task_id):
    (span,) = [
        span
        for span in spans_named(exporter, name)
        if span.attributes.get("simple_worker.task.id") == task_id
    ]
    return span


def is_child(child, parent):
    return (
        child.parent is not None
        and child.parent.span_id == parent.context.span_id
        and child.context.trace_id == parent.context.trace_id
    )


class Tamper(Middleware):
    """Runs after the tracing middleware in ``before_send`` and spoils its traceparent."""

    def __init__(self, traceparent):
        self.traceparent = traceparent

    def before_send(self, task, attributes):
        if self.traceparent is None:
            del attributes["traceparent"]
        else:
            attributes["traceparent"] = self.traceparent


def test_the_consumer_span_is_a_child_of_the_producer_span_under_the_callers_span(
    app, exporter, tracer
):
    app.register_task_handler("greet")(lambda name: None)

    with tracer.start_as_current_span("request") as request:
        app.add_task("greet", name="Ada")
    app.testing_worker().run_all()

    create = only_span(exporter, "create greet")
    process = only_span(exporter, "process greet")
    assert create.kind is SpanKind.PRODUCER
    assert process.kind is SpanKind.CONSUMER
    assert is_child(create, only_span(exporter, "request"))
    assert create.parent.span_id == request.get_span_context().span_id
    assert is_child(process, create)
    assert process.parent.is_remote


def test_without_a_callers_span_the_producer_span_starts_the_trace(app, exporter):
    app.register_task_handler("greet")(lambda name: None)

    app.add_task("greet", name="Ada")
    app.testing_worker().run_all()

    create = only_span(exporter, "create greet")
    assert create.parent is None
    assert is_child(only_span(exporter, "process greet"), create)


def test_the_message_carries_the_producer_spans_w3c_trace_context(app, exporter):
    app.register_task_handler("greet")(lambda name: None)

    app.add_task("greet", name="Ada")
    (message,) = app.queue.receive_batch("default")

    context = only_span(exporter, "create greet").context
    ids = f"{context.trace_id:032x}-{context.span_id:016x}"
    assert context.trace_flags.sampled
    assert dict(message.attributes) == {"traceparent": f"00-{ids}-{context.trace_flags:02x}"}


def test_spans_carry_the_messaging_semantic_convention_attributes(app, exporter):
    app.register_task_handler("greet")(lambda name: None)

    task_id = app.add_task("greet", name="Ada")
    app.testing_worker().run_all()

    assert only_span(exporter, "create greet").attributes == {
        "messaging.system": "aws_sqs",
        "messaging.operation.type": "create",
        "messaging.operation.name": "create",
        "simple_worker.task.name": "greet",
        "simple_worker.task.id": task_id,
    }
    process = only_span(exporter, "process greet")
    assert dict(process.attributes) == {
        "messaging.system": "aws_sqs",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": "default",
        "messaging.message.id": process.attributes["messaging.message.id"],
        "simple_worker.message.receive_count": 1,
        "simple_worker.task.name": "greet",
        "simple_worker.task.id": task_id,
        "simple_worker.outcome": "succeeded",
    }
    assert process.attributes["messaging.message.id"]
    assert process.status.status_code is StatusCode.UNSET


def test_a_span_started_in_the_handler_is_a_child_of_the_consumer_span(app, exporter, tracer):
    @app.register_task_handler("resize")
    def resize(image_id):
        with tracer.start_as_current_span("load image"):
            pass

    app.add_task("resize", image_id=1)
    app.testing_worker().run_all()

    assert is_child(only_span(exporter, "load image"), only_span(exporter, "process resize"))


def test_the_callers_context_is_restored_after_each_task(app, tracer):
    seen = []
    app.register_task_handler("greet")(lambda name: seen.append(trace.get_current_span()))
    app.add_tasks("greet", [{"name": "Ada"}, {"name": "Grace"}])

    with tracer.start_as_current_span("test") as outer:
        app.testing_worker().run_all()
        assert trace.get_current_span() is outer

    assert outer not in seen
    assert seen[0] is not seen[1]


def test_a_failing_handler_ends_its_span_with_an_error_status_and_the_exception(app, exporter):
    @app.register_task_handler("charge")
    def charge(amount):
        raise ConnectionError("card service down")

    app.add_task("charge", amount=5)
    app.testing_worker().run_all(raise_errors=False)

    process = only_span(exporter, "process charge")
    assert process.status.status_code is StatusCode.ERROR
    assert process.status.description == "ConnectionError: card service down"
    assert process.attributes["error.type"] == "ConnectionError"
    assert process.attributes["simple_worker.outcome"] == "failed"
    (event,) = process.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ConnectionError"
    assert event.attributes["exception.message"] == "card service down"
    assert "raise ConnectionError" in event.attributes["exception.stacktrace"]


def test_a_later_middleware_failing_before_task_fails_the_span(tracing, exporter):
    class Refuse(Middleware):
        def before_task(self, task, message):
            raise PermissionError("tenant suspended")

    app = App(testing_mode=True, middleware=[tracing])
    app.register_task_handler("greet")(lambda name: None)
    app.add_task("greet", name="Ada")
    app.testing_worker(middleware=[Refuse()]).run_all(raise_errors=False)

    process = only_span(exporter, "process greet")
    assert process.status.status_code is StatusCode.ERROR
    assert process.attributes["error.type"] == "PermissionError"


def test_tasks_sent_from_two_traces_run_in_their_own_traces(app, exporter, tracer):
    app.register_task_handler("greet")(lambda name: None)

    with tracer.start_as_current_span("first request"):
        first = app.add_task("greet", name="Ada")
    with tracer.start_as_current_span("second request"):
        second = app.add_task("greet", name="Grace")
    app.testing_worker().run_all()

    for task_id, request_name in ((first, "first request"), (second, "second request")):
        request = only_span(exporter, request_name)
        create = span_of_task(exporter, "create greet", task_id)
        assert is_child(create, request)
        assert is_child(span_of_task(exporter, "process greet", task_id), create)
    assert (
        only_span(exporter, "first request").context.trace_id
        != only_span(exporter, "second request").context.trace_id
    )


def test_each_task_of_a_batch_gets_its_own_producer_span(app, exporter):
    app.register_task_handler("greet")(lambda name: None)

    task_ids = app.add_tasks("greet", [{"name": "Ada"}, {"name": "Grace"}, {"name": "Alan"}])
    app.testing_worker().run_all()

    for task_id in task_ids:
        create = span_of_task(exporter, "create greet", task_id)
        assert is_child(span_of_task(exporter, "process greet", task_id), create)


@pytest.mark.parametrize(
    "traceparent",
    [
        "garbage",
        "00-00000000000000000000000000000000-0000000000000000-01",  # all-zero ids are invalid
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",  # flags missing
        None,  # no traceparent at all, as from a producer without tracing
    ],
)
def test_a_message_without_a_valid_traceparent_starts_a_new_trace(tracing, exporter, traceparent):
    app = App(testing_mode=True, middleware=[tracing, Tamper(traceparent)])
    app.register_task_handler("greet")(lambda name: None)

    app.add_task("greet", name="Ada")
    app.testing_worker().run_all()

    process = only_span(exporter, "process greet")
    assert process.parent is None
    assert process.context.trace_id != only_span(exporter, "create greet").context.trace_id
    assert process.attributes["simple_worker.outcome"] == "succeeded"


def test_a_rejected_message_gets_an_error_span_in_the_senders_trace(provider, exporter):
    queue = InMemoryQueue(auto_create=True)
    producer = App(queue=queue, middleware=[OpenTelemetryMiddleware(tracer_provider=provider)])
    producer.register_task_handler("greet")(lambda name: None)
    consumer = App(queue=queue, middleware=[OpenTelemetryMiddleware(tracer_provider=provider)])
    consumer.register_task_handler("greet")(lambda name, title: None)

    producer.add_task("greet", name="Ada")
    report = consumer.testing_worker().run_all(raise_errors=False)

    assert len(report.rejected) == 1
    process = only_span(exporter, "process greet")
    assert is_child(process, only_span(exporter, "create greet"))
    assert process.status.status_code is StatusCode.ERROR
    assert process.attributes["simple_worker.outcome"] == "rejected"
    assert process.attributes["simple_worker.task.name"] == "greet"
    assert process.attributes["error.type"] == "simple_worker.domain._errors.PayloadMismatch"
    assert [event.name for event in process.events] == ["exception"]


def test_a_message_that_is_not_a_task_gets_a_span_named_after_its_queue(app, exporter, tracer):
    app.register_task_handler("greet")(lambda name: None)
    attributes = {}
    with tracer.start_as_current_span("request"):
        propagate.inject(attributes)
    app.queue.send_batch(
        "default", [OutgoingMessage(id="1", body="not JSON", attributes=attributes)]
    )

    report = app.testing_worker().run_all(raise_errors=False)

    assert len(report.rejected) == 1
    span = only_span(exporter, "process default")
    assert is_child(span, only_span(exporter, "request"))
    assert span.attributes["error.type"] == "simple_worker.domain._errors.MessageDecodeError"
    assert "simple_worker.task.name" not in span.attributes


class ContextProbe(Middleware):
    """Records, once the middleware after it are done, whether a span is still current."""

    def __init__(self):
        self.leftover = []

    def after_task(self, task, message, result):
        self.leftover.append(trace.get_current_span() is not trace.INVALID_SPAN)


def test_worker_threads_keep_every_tasks_spans_apart(
    tracing, exporter, tracer, caplog, wait_until, worker_running
):
    threads = 4
    # Every handler waits until `threads` of them run at once, so their spans
    # are open together on different threads when each starts its child span.
    together = threading.Barrier(threads, timeout=5)
    queue = InMemoryQueue(auto_create=True)
    producer = App(queue=queue, middleware=[tracing])
    consumer = App(queue=queue)
    for app in (producer, consumer):

        @app.register_task_handler("work")
        def work(n):
            together.wait()
            with tracer.start_as_current_span(f"step {n}"):
                if n % 2:
                    raise ValueError(f"task {n} fails")

    task_ids = {}
    for n in range(2 * threads):
        with tracer.start_as_current_span(f"request {n}"):
            task_ids[n] = producer.add_task("work", n=n)
    probe = ContextProbe()

    worker = consumer.worker(threads=threads, wait_seconds=1, middleware=[probe, tracing])
    with worker_running(worker):
        wait_until(lambda: worker.counts["succeeded"] + worker.counts["failed"] == 2 * threads)
    assert worker.counts["failed"] == threads

    for n, task_id in task_ids.items():
        create = span_of_task(exporter, "create work", task_id)
        process = span_of_task(exporter, "process work", task_id)
        assert is_child(create, only_span(exporter, f"request {n}"))
        assert is_child(process, create)
        assert is_child(only_span(exporter, f"step {n}"), process)
        assert process.attributes["simple_worker.outcome"] == ("failed" if n % 2 else "succeeded")
    assert probe.leftover == [False] * 2 * threads
    assert [r.getMessage() for r in caplog.records if r.name.startswith("opentelemetry")] == []


def test_importing_without_the_opentelemetry_api_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    for name in (
        "simple_worker.opentelemetry",
        "simple_worker.adapters.observability._opentelemetry",
    ):
        monkeypatch.delitem(sys.modules, name)

    with pytest.raises(ImportError, match=r"pip install 'simple-worker\[opentelemetry\]'"):
        importlib.import_module("simple_worker.opentelemetry")


def test_only_the_tracing_adapter_imports_opentelemetry():
    importers = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if any(name.split(".")[0] == "opentelemetry" for name in names):
                importers.add(path.relative_to(PACKAGE).as_posix())

    assert importers == {"adapters/observability/_opentelemetry.py"}


def test_concurrent_async_tasks_each_have_their_own_span_across_awaits(
    tracing, exporter, tracer, wait_until, worker_running
):
    memory = InMemoryQueue()
    memory.create_queue("default", visibility_timeout=30)
    app = App(queue=memory, middleware=[tracing])

    @app.register_task_handler("resize")
    async def resize(image_id):
        await asyncio.sleep(0.01)  # the other tasks' spans open and close meanwhile
        with tracer.start_as_current_span("load image") as span:
            span.set_attribute("image_id", image_id)

    ids = app.add_tasks("resize", [{"image_id": n} for n in range(10)])
    with worker_running(app.worker(async_concurrency=10, wait_seconds=1)) as worker:
        wait_until(lambda: worker.counts["succeeded"] == 10)

    loads = {span.attributes["image_id"]: span for span in spans_named(exporter, "load image")}
    for n, task_id in enumerate(ids):
        assert is_child(loads[n], span_of_task(exporter, "process resize", task_id))
