"""Trace context crosses a real SQS round trip: moto's server, over HTTP, through boto3."""

from simple_worker import App
from simple_worker.opentelemetry import OpenTelemetryMiddleware


def span_of_task(exporter, name, task_id):
    (span,) = [
        span
        for span in exporter.get_finished_spans()
        if span.name == name and span.attributes.get("simple_worker.task.id") == task_id
    ]
    return span


def test_the_consumer_span_is_a_child_of_the_producer_span_through_sqs(
    moto_server, make_queue, provider, exporter
):
    queue = make_queue("otel")
    app = App(
        sqs_endpoint_url=moto_server,
        middleware=[OpenTelemetryMiddleware(tracer_provider=provider)],
    )
    tracer = provider.get_tracer("tests")
    steps = {}

    @app.register_task_handler("greet", queue=queue)
    def greet(name):
        with tracer.start_as_current_span(f"greet {name}") as step:
            steps[name] = step

    with tracer.start_as_current_span("request") as request:
        single = app.add_task("greet", name="Ada")
    batch = app.add_tasks("greet", [{"name": "Grace"}, {"name": "Alan"}])
    report = app.testing_worker().run_all()

    assert len(report.succeeded) == 3
    for task_id, name in zip([single, *batch], ["Ada", "Grace", "Alan"], strict=True):
        create = span_of_task(exporter, "create greet", task_id)
        process = span_of_task(exporter, "process greet", task_id)
        assert process.parent.span_id == create.context.span_id
        assert process.context.trace_id == create.context.trace_id
        assert process.attributes["messaging.destination.name"] == queue
        assert steps[name].parent.span_id == process.context.span_id
    assert span_of_task(exporter, "create greet", single).parent.span_id == (
        request.get_span_context().span_id
    )
