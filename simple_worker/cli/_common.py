"""What the commands share: exit statuses, argument types, output, and loading the app."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, NoReturn

from simple_worker._wiring import worker_observers
from simple_worker.adapters.observability._http_server import DEFAULT_HOST
from simple_worker.app import App
from simple_worker.cli._loading import load_app
from simple_worker.consumer._event_loop import DEFAULT_ASYNC_CONCURRENCY
from simple_worker.consumer._executor import TaskExecutor
from simple_worker.consumer._retry import ExponentialBackoff, RetryIntervals, RetryPolicy
from simple_worker.consumer._worker import Worker
from simple_worker.domain._errors import ConfigurationError
from simple_worker.domain._queue_rules import check_queue_name
from simple_worker.ports.executor import ExecutorFactory

EXIT_OK = 0
EXIT_FAILURE = 1
"""An unexpected error, a failed SQS call, or a problem found (``check``)."""
EXIT_USAGE = 2
"""A usage or configuration error: one line on stderr, no traceback."""
EXIT_TASK_STUCK = 3
"""A task ran past the hard time limit: the worker stopped so that its process is replaced."""
EXIT_SHUTDOWN_TIMEOUT = 124
"""The worker stopped at the end of its shutdown budget, leaving work to SQS (as timeout(1))."""
EXIT_INTERRUPTED = 130
"""128 + SIGINT: stopped by Ctrl-C before finishing."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: the message and where to find help."""

    def error(self, message: str) -> NoReturn:
        """Print ``message`` on one line and exit with status 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


if TYPE_CHECKING:
    from typing import TypeAlias

    Commands: TypeAlias = "argparse._SubParsersAction[Parser]"
    """What ``add_subparsers`` returns; each command module adds its parser to it."""


def out(text: str = "") -> None:
    """Write a line of the command's result on stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def confirmed_by_name(name: str, question: str, *, what: str) -> bool:
    """Ask on the terminal to type ``name`` after ``question``; return whether it was typed.

    Raises:
        ConfigurationError: there is no terminal to ask on (pass ``--yes`` instead).
    """
    if not sys.stdin.isatty():
        raise ConfigurationError(
            f"Refusing to {what} without confirmation: there is no terminal to ask on. "
            "Pass --yes to go ahead anyway."
        )
    sys.stderr.write(f"{question} Type the queue's name to confirm: ")
    sys.stderr.flush()
    try:
        answer = input()
    except EOFError:
        answer = ""
    return answer.strip() == name


def err(text: str) -> None:
    """Write a line for the person at the terminal (progress, prompts, errors) on stderr."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def one_line(error: BaseException) -> str:
    """Return the error's message on a single line (an SQS answer may carry HTML)."""
    return " ".join(str(error).split())


def comma_list(text: str) -> list[str]:
    """Parse ``a,b,c`` (spaces and empty items ignored); at least one name."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def weighted_queue_list(text: str) -> list[str]:
    """Parse ``high=3,default``: queue names, each with an optional weight of at least 1.

    Returns the items as written, without spaces (``["high=3", "default"]``), so that
    they pass on to other worker processes unchanged; `queue_weights` reads them.
    """
    items = [item.replace(" ", "") for item in comma_list(text)]
    for item in items:
        name, has_weight, weight = item.partition("=")
        if not name or (has_weight and not _is_weight(weight)):
            raise argparse.ArgumentTypeError(
                f"expected NAME or NAME=WEIGHT, the weight a whole number of at least 1; "
                f"got {item!r}"
            )
    return items


def _is_weight(text: str) -> bool:
    return text.isdecimal() and int(text) >= 1


def queue_weights(items: list[str]) -> tuple[list[str], dict[str, int]]:
    """Split `weighted_queue_list`'s items into the queue names and the weights given."""
    names: list[str] = []
    weights: dict[str, int] = {}
    for item in items:
        name, has_weight, weight = item.partition("=")
        names.append(name)
        if has_weight:
            weights[name] = int(weight)
    return names, weights


def _whole(text: str, minimum: int, maximum: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        limit = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
        raise argparse.ArgumentTypeError(f"expected a whole number {limit}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """Parse a whole number of at least 1 (an argument type)."""
    return _whole(text, 1)


def port_number(text: str) -> int:
    """Parse a TCP port, 0 to 65535; 0 picks a free one (an argument type)."""
    return _whole(text, 0, 65_535)


def wait_seconds(text: str) -> int:
    """Parse a long-poll time, 0 to 20 seconds (an argument type)."""
    return _whole(text, 0, 20)


def visibility_seconds(text: str) -> int:
    """Parse a visibility timeout, 0 to 43,200 seconds (an argument type)."""
    return _whole(text, 0, 43_200)


def seconds(text: str) -> float:
    """Parse a duration in seconds, 0 or more (an argument type)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds, 0 or more, got {text!r}")
    return value


def time_limit(text: str) -> float:
    """Parse a time limit: seconds, more than 0 (an argument type)."""
    value = seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def intervals(text: str) -> list[int]:
    """Parse comma-separated retry intervals in seconds, e.g. ``10,60,600``."""
    return [_whole(item, 0, 43_200) for item in comma_list(text)]


def add_app_argument(parser: argparse.ArgumentParser) -> None:
    """Add the APP positional argument."""
    parser.add_argument(
        "app",
        metavar="APP",
        help="the App, as module.path:attribute, or module.path:function() for a factory",
    )


def add_queues_argument(
    parser: argparse.ArgumentParser, what: str, *, weighted: bool = False
) -> None:
    """Add ``--queues a,b``: queue names without the prefix; ``weighted``: ``a=3,b`` too."""
    if weighted:
        parser.add_argument(
            "-Q",
            "--queues",
            type=weighted_queue_list,
            metavar="A,B=W",
            help=f"comma-separated queues to {what}, without the prefix, each with an "
            "optional weight: with high=3,default, while both have work, high gets three "
            "task-thread turns for each one of default; every queue is long-polled "
            "whatever its weight (default: every queue a task is registered on, weight 1)",
        )
        return
    parser.add_argument(
        "-Q",
        "--queues",
        type=comma_list,
        metavar="A,B",
        help=f"comma-separated queues to {what}, without the prefix "
        "(default: every queue a task is registered on)",
    )


def add_retry_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--retry-backoff`` and ``--retry-intervals``, which exclude each other."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--retry-backoff",
        type=seconds,
        metavar="BASE",
        help="retry a failed task after BASE * 2 ** (receives - 1) seconds, with jitter "
        "(ExponentialBackoff); default: the queue's visibility timeout",
    )
    group.add_argument(
        "--retry-intervals",
        type=intervals,
        metavar="S,S,...",
        help="retry a failed task after these seconds, the last one repeating (RetryIntervals)",
    )


def retry_policy(args: argparse.Namespace, *, jitter: bool = True) -> RetryPolicy | None:
    """Return the retry policy ``--retry-backoff`` or ``--retry-intervals`` asks for.

    Raises:
        ConfigurationError: the values are out of range.
    """
    if args.retry_backoff is not None:
        return ExponentialBackoff(base=args.retry_backoff, jitter=jitter)
    if args.retry_intervals is not None:
        return RetryIntervals(args.retry_intervals)
    return None


class PayloadLoggingExecutor(TaskExecutor):
    """The default executor, with payloads in its log lines (``--log-payloads``)."""

    log_payloads = True


def payload_logging(executor: ExecutorFactory | None) -> ExecutorFactory:
    """Return the app's executor (default `TaskExecutor`) with payloads in its log lines.

    Raises:
        ConfigurationError: the app's executor is not a `TaskExecutor` subclass, so
            it has no ``log_payloads`` switch.
    """
    if executor is None or executor is TaskExecutor:
        return PayloadLoggingExecutor
    if isinstance(executor, type) and issubclass(executor, TaskExecutor):
        return type(executor.__name__, (executor,), {"log_payloads": True})
    raise ConfigurationError(
        f"--log-payloads needs the app's task_executor_cls to be a TaskExecutor subclass, "
        f"not {executor!r}: log payloads in your executor instead."
    )


def build_worker(args: argparse.Namespace) -> tuple[App, Worker]:
    """Load ``args.app`` and make the worker the ``worker`` command's options ask for.

    A worker process under a supervisor (``--processes``) also counts metrics for
    the supervisor to serve, and beats a heartbeat file the supervisor reads.

    Raises:
        ConfigurationError: the app does not load, an option is out of range, a
            weight is given for a queue the worker does not consume, or a port
            cannot be bound.
    """
    app = load_app(args.app)
    process_beat = getattr(args, "process_heartbeat_file", None)
    middleware, liveness = worker_observers(
        app.clock,
        app.queue,
        count_metrics=getattr(args, "metrics_multiprocess", False),
        heartbeat_files=() if process_beat is None else (process_beat,),
    )
    names, weights = queue_weights(args.queues) if args.queues else (None, None)
    worker = app.worker(
        names,
        payload_logging(app.task_executor_cls) if getattr(args, "log_payloads", False) else None,
        threads=args.threads,
        async_concurrency=getattr(args, "async_concurrency", DEFAULT_ASYNC_CONCURRENCY),
        queue_weights=weights,
        wait_seconds=args.wait_seconds,
        retry_policy=retry_policy(args),
        middleware=middleware,
        heartbeat_file=args.heartbeat_file,
        health_port=getattr(args, "health_port", None),
        health_host=getattr(args, "health_host", DEFAULT_HOST),
        metrics_port=getattr(args, "metrics_port", None),
        metrics_host=getattr(args, "metrics_host", DEFAULT_HOST),
        liveness=liveness,
        shutdown_timeout=args.shutdown_timeout,
        time_limit=getattr(args, "time_limit", None),
        hard_time_limit=getattr(args, "hard_time_limit", None),
    )
    return app, worker


def app_and_queues(args: argparse.Namespace) -> tuple[App, list[str]]:
    """Load ``args.app`` and return it with its full queue names (``--queues`` or all).

    Raises:
        ConfigurationError: the app does not load, or has no queues.
        InvalidQueueName: prefix + a name is not a valid SQS queue name.
    """
    app = load_app(args.app)
    names: list[str] | None = getattr(args, "queues", None)
    queues = [app.queue_prefix + n for n in names] if names else app.registry.queues()
    if not queues:
        raise ConfigurationError(
            f"{args.app} registers no task handler, so it has no queues: register one, "
            "or name the queues with --queues."
        )
    for queue in queues:
        check_queue_name(queue)
    return app, list(dict.fromkeys(queues))


def app_queue(app: App, name: str) -> str:
    """Return the full name of the app's queue ``name``, given without the prefix or with it.

    ``default`` and ``shop-default`` (as ``stats`` prints it) both name ``shop-default``
    for the prefix ``shop-``, unless ``shop-shop-default`` is one of the app's queues.

    Raises:
        InvalidQueueName: the full name is not a valid SQS queue name.
    """
    prefix = app.queue_prefix
    if prefix and name.startswith(prefix) and prefix + name not in app.registry.queues():
        return check_queue_name(name)
    return check_queue_name(prefix + name)
