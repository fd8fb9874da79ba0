import json
import logging
from contextlib import contextmanager

import pytest

import simple_worker
from simple_worker import (
    App,
    ConfigurationError,
    DuplicateTaskName,
    InvalidPayload,
    InvalidQueueName,
    MessageTooLarge,
    PayloadMismatch,
    PositionalPayload,
    QueueNotFound,
    TaskExecutor,
    UnknownTask,
    UnsupportedHandler,
)
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.testing.clock import FakeClock


@pytest.fixture
def app():
    return App(queue_prefix="test-", testing_mode=True)


def queued_bodies(app, queue="default"):
    return [json.loads(body) for body in app.queue.bodies(app.queue_prefix + queue)]


def test_register_task_handler_returns_the_function_unchanged(app):
    def handler(a, b):
        return a + b

    assert app.register_task_handler("add")(handler) is handler
    assert handler(1, 2) == 3


def test_add_task_sends_the_wire_format_to_the_prefixed_queue(app):
    clock = FakeClock()
    app = App(queue_prefix="shop-", testing_mode=True, clock=clock)
    app.register_task_handler("my_task")(lambda a, b: None)

    task_id = app.add_task("my_task", a=1, b="two")

    assert app.queue.bodies("shop-default") == [
        (
            '{"task_name":"my_task","task_payload":{"a":1,"b":"two"},'
            f'"task_id":"{task_id}","enqueued_at":"2026-01-01T00:00:00.000Z","v":1}}'
        )
    ]


def test_add_task_routes_to_the_queue_given_at_registration(app):
    app.register_task_handler("email", queue="emails")(lambda to: None)

    app.add_task("email", to="a@example.com")

    assert [b["task_name"] for b in queued_bodies(app, "emails")] == ["email"]
    assert app.queue.bodies("test-default") == []


def test_add_task_returns_a_new_id_each_time(app):
    app.register_task_handler("t")(lambda: None)

    ids = {app.add_task("t") for _ in range(50)}

    assert len(ids) == 50
    assert {b["task_id"] for b in queued_bodies(app)} == ids


def test_add_task_refuses_an_unregistered_name_and_sends_nothing(app):
    app.register_task_handler("known")(lambda: None)

    with pytest.raises(UnknownTask, match=r"'unknown'.*Registered tasks: known"):
        app.add_task("unknown")

    assert app.queue.queue_names() == []


def test_add_task_refuses_payload_with_unexpected_argument(app):
    app.register_task_handler("t")(lambda a: None)

    with pytest.raises(PayloadMismatch, match="unexpected b") as raised:
        app.add_task("t", a=1, b=2)

    assert raised.value.unexpected == ("b",)
    assert queued_bodies(app) == []


def test_add_task_refuses_payload_with_missing_argument(app):
    app.register_task_handler("t")(lambda a, b=2: None)

    with pytest.raises(PayloadMismatch, match="missing a"):
        app.add_task("t", b=3)


def test_add_task_refuses_payload_that_is_not_plain_json(app):
    app.register_task_handler("t")(lambda values: None)

    with pytest.raises(InvalidPayload, match=r"payload\['values'\]: tuple"):
        app.add_task("t", values=(1, 2))
    with pytest.raises(InvalidPayload, match="nan"):
        app.add_task("t", values=float("nan"))

    assert queued_bodies(app) == []


def test_add_task_refuses_a_message_over_the_configured_size_limit():
    app = App(testing_mode=True, max_message_size=2048)
    app.register_task_handler("t")(lambda text: None)

    with pytest.raises(MessageTooLarge) as raised:
        app.add_task("t", text="x" * 2048)

    assert raised.value.limit == 2048
    assert raised.value.size > 2048
    app.add_task("t", text="x" * 1500)


def test_add_task_honours_a_queue_limit_lower_than_the_configured_one():
    queue = InMemoryQueue()
    queue.create_queue("small", max_message_size=1024)
    app = App(queue=queue)
    app.register_task_handler("t", queue="small")(lambda text: None)

    with pytest.raises(MessageTooLarge, match="limit of 1024 bytes"):
        app.add_task("t", text="x" * 1000)


def test_add_task_raises_queue_not_found_for_a_missing_queue():
    app = App(queue_prefix="p-", queue=InMemoryQueue())
    app.register_task_handler("t")(lambda: None)

    with pytest.raises(QueueNotFound, match="p-default"):
        app.add_task("t")


def test_add_task_takes_no_positional_payload_and_says_payloads_are_keyword_only(app):
    app.register_task_handler("t")(lambda a: None)

    with pytest.raises(PositionalPayload) as caught:
        app.add_task("t", 1)  # type: ignore[arg-type]

    assert isinstance(caught.value, TypeError)
    assert str(caught.value) == (
        "add_task('t', ...) was given 1 positional value: payloads are keyword-only, so "
        "nothing says which parameter a value is for. Name each one, "
        "add_task('t', user_id=7), or pass a dict as add_task('t', **payload)."
    )
    assert queued_bodies(app) == []


def test_a_sender_with_options_takes_no_positional_payload_either(app):
    app.register_task_handler("t")(lambda a: None)

    with pytest.raises(PositionalPayload, match="2 positional values"):
        app.with_options(delay=1).add_task("t", 1, 2)  # type: ignore[arg-type]


def test_add_tasks_names_the_index_of_the_payload_it_refuses(app):
    app.register_task_handler("t")(lambda n: None)

    with pytest.raises(PayloadMismatch) as caught:
        app.add_tasks("t", [{"n": 1}, {"n": 2}, {"m": 3}])

    assert caught.value.payload_index == 2
    assert str(caught.value).startswith("Payload 2 (counting from 0) of add_tasks: ")
    assert "missing n; unexpected m" in str(caught.value)


def test_add_tasks_with_one_payload_does_not_number_it(app):
    app.register_task_handler("t")(lambda n: None)

    with pytest.raises(PayloadMismatch) as caught:
        app.add_tasks("t", [{"m": 3}])

    assert caught.value.payload_index is None
    assert str(caught.value).startswith("The payload for task 't'")


def test_add_tasks_returns_ids_in_order_and_sends_every_payload(app):
    app.register_task_handler("t")(lambda n: None)

    ids = app.add_tasks("t", ({"n": n} for n in range(25)))

    # Batches go out several at a time: the queue's order is theirs, not the payloads'.
    bodies = queued_bodies(app)
    sent = {b["task_id"]: b["task_payload"]["n"] for b in bodies}
    assert len(bodies) == 25
    assert [sent[task_id] for task_id in ids] == list(range(25))


def test_add_tasks_validates_every_payload_before_sending_any(app):
    app.register_task_handler("t")(lambda n: None)

    with pytest.raises(PayloadMismatch):
        app.add_tasks("t", [{"n": 1}, {"n": 2}, {"m": 3}])

    assert queued_bodies(app) == []


def test_add_tasks_with_no_payloads_sends_nothing(app):
    app.register_task_handler("t")(lambda n: None)

    assert app.add_tasks("t", []) == []


def test_registering_a_name_twice_is_refused(app):
    app.register_task_handler("t")(lambda: None)

    with pytest.raises(DuplicateTaskName, match="'t' is already registered"):
        app.register_task_handler("t")(lambda: None)


def test_registering_a_handler_with_star_args_is_refused(app):
    with pytest.raises(UnsupportedHandler, match=r"\*args"):
        app.register_task_handler("t")(lambda *args: None)


def test_registering_an_async_handler_returns_it_unchanged_and_takes_tasks(app):
    async def notify(user_id):
        pass

    assert app.register_task_handler("notify")(notify) is notify
    app.add_task("notify", user_id=1)


def test_registering_an_async_generator_handler_is_refused_and_leaves_the_name_unregistered(app):
    with pytest.raises(UnsupportedHandler, match="async generator"):

        @app.register_task_handler("notify")
        async def notify(user_id):
            yield user_id

    with pytest.raises(UnknownTask):
        app.add_task("notify", user_id=1)


def test_registering_with_a_prefix_that_makes_an_invalid_queue_name_is_refused():
    app = App(queue_prefix="bad prefix ", testing_mode=True)

    with pytest.raises(InvalidQueueName, match="'bad prefix default'"):
        app.register_task_handler("t")(lambda: None)


def test_max_message_size_outside_what_sqs_allows_is_refused():
    with pytest.raises(ConfigurationError, match="1024 to 1048576"):
        App(testing_mode=True, max_message_size=2_000_000)
    with pytest.raises(ValueError, match="got 100"):
        App(testing_mode=True, max_message_size=100)


def test_app_init_is_the_constructor():
    app = App.init(queue_prefix="p-", testing_mode=True)

    assert isinstance(app, App)
    assert app.queue_prefix == "p-"


def test_the_0_2_constructor_keywords_are_accepted_without_network_io():
    app = App("p-", sqs_endpoint_url="http://127.0.0.1:9", sqs_region="eu-west-1")

    assert app.queue_prefix == "p-"


def test_two_apps_share_nothing():
    first, second = App(testing_mode=True), App(testing_mode=True)
    first.register_task_handler("t")(lambda: None)

    second.register_task_handler("t")(lambda: None)
    first.add_task("t")

    assert second.queue.bodies("default") == []


def test_testing_worker_runs_queued_tasks_with_their_payload(app):
    seen = []
    app.register_task_handler("add")(lambda a, b: seen.append(a + b))
    app.add_task("add", a=1, b=2)
    app.add_task("add", b=10, a=20)

    report = app.testing_worker().run_all()

    assert seen == [3, 30]
    assert report.task_names() == ["add", "add"]
    assert app.queue.bodies("test-default") == []


def test_testing_worker_uses_a_task_executor_subclass(app):
    events = []

    class RecordingExecutor(TaskExecutor):
        @contextmanager
        def context(self):
            events.append("enter")
            yield
            events.append("exit")

    app.register_task_handler("t")(lambda: events.append("run"))
    app.add_task("t")

    app.testing_worker(task_executor_cls=RecordingExecutor).run_all()

    assert events == ["enter", "run", "exit"]


def test_the_apps_executor_runs_its_tasks_unless_a_worker_names_another():
    events = []

    class AppExecutor(TaskExecutor):
        def log_start(self, task):
            events.append("app")

    class WorkerExecutor(TaskExecutor):
        def log_start(self, task):
            events.append("worker")

    app = App(testing_mode=True, task_executor_cls=AppExecutor)
    app.register_task_handler("t")(lambda: None)

    app.add_task("t")
    app.testing_worker().run_all()
    app.add_task("t")
    app.testing_worker(task_executor_cls=WorkerExecutor).run_all()

    assert events == ["app", "worker"]


def test_an_app_factory_may_set_the_executor_after_construction(app):
    events = []

    class LateExecutor(TaskExecutor):
        def log_start(self, task):
            events.append(task.name)

    app.register_task_handler("t")(lambda: None)
    app.task_executor_cls = LateExecutor
    app.add_task("t")

    app.testing_worker().run_all()

    assert events == ["t"]


def test_testing_worker_drains_only_the_named_queues(app):
    ran = []
    app.register_task_handler("a", queue="one")(lambda: ran.append("a"))
    app.register_task_handler("b", queue="two")(lambda: ran.append("b"))
    app.add_task("a")
    app.add_task("b")

    app.testing_worker(queue_names=["two"]).run_all()

    assert ran == ["b"]
    assert len(app.queue.bodies("test-one")) == 1


def test_add_task_logs_nothing_of_the_payload(app, caplog):
    app.register_task_handler("t")(lambda secret: None)
    caplog.set_level(logging.DEBUG)

    app.add_task("t", secret="hunter2")
    app.testing_worker().run_all()

    assert "hunter2" not in caplog.text


def test_public_api_lists_exactly_the_public_names():
    public = {name for name in dir(simple_worker) if not name.startswith("_")}
    # Subpackages, and the optional extras' modules once a test has imported them.
    modules = {"adapters", "app", "cli", "consumer", "domain", "ports", "producer", "testing"}
    modules |= {"opentelemetry", "prometheus"}

    assert set(simple_worker.__all__) - {"__version__"} == public - modules
