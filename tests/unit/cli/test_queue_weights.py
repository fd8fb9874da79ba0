"""``worker --queues high=3,default``: queue names with optional weights."""

import sys
import types

import pytest

from simple_worker import App
from simple_worker.cli import build_parser, main
from simple_worker.cli._common import build_worker, queue_weights
from simple_worker.cli._supervisor import child_command


def test_queues_without_weights_keep_their_meaning():
    args = build_parser().parse_args(["worker", "m:app", "--queues", "high, default"])

    assert args.queues == ["high", "default"]
    assert queue_weights(args.queues) == (["high", "default"], {})


def test_a_queue_may_carry_a_weight_and_the_others_weigh_one():
    args = build_parser().parse_args(["worker", "m:app", "--queues", "high=3,default"])

    assert queue_weights(args.queues) == (["high", "default"], {"high": 3})


def test_weights_are_passed_on_to_the_worker_processes_as_written():
    args = build_parser().parse_args(["worker", "m:app", "--queues", "high = 3,default=1"])

    command = child_command(args, parent_pid=1)

    assert command[command.index("--queues") + 1] == "high=3,default=1"


@pytest.mark.parametrize("queues", ["high=0", "high=-1", "high=x", "high=1.5", "=3", "high="])
def test_a_weight_that_is_not_a_whole_number_of_at_least_one_is_a_usage_error(queues, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["worker", "m:app", "--queues", queues])

    assert exit_.value.code == 2
    assert "expected NAME or NAME=WEIGHT" in capsys.readouterr().err


def test_other_commands_take_no_weights(capsys):
    args = build_parser().parse_args(["stats", "m:app", "--queues", "high=3"])

    assert args.queues == ["high=3"]  # a name, which the queue name rules then refuse


def test_the_worker_command_builds_a_worker_with_the_weights(monkeypatch):
    app = App(queue_prefix="p-", testing_mode=True)
    app.register_task_handler("t", queue="high")(lambda: None)
    app.register_task_handler("u", queue="default")(lambda: None)
    module = types.ModuleType("weights_app")
    module.app = app
    monkeypatch.setitem(sys.modules, "weights_app", module)
    args = build_parser().parse_args(["worker", "weights_app:app", "--queues", "high=3,default"])

    _, worker = build_worker(args)

    assert worker.queue_names == ["p-high", "p-default"]
    assert worker.options.queue_weights == {"p-high": 3}
