"""``--metrics-port``, ``--health-port`` and their hosts; the supervisor's shared endpoints."""

import sys

import pytest

from simple_worker.cli import build_parser, main
from simple_worker.cli._shared_endpoints import SharedEndpoints
from simple_worker.cli._supervisor import Supervisor, child_command


def parse(*options):
    return build_parser().parse_args(["worker", "m:app", *options])


def test_the_endpoints_are_off_by_default_and_listen_on_this_host_only():
    args = parse()

    assert (args.metrics_port, args.health_port) == (None, None)
    assert (args.metrics_host, args.health_host) == ("127.0.0.1", "127.0.0.1")


def test_the_endpoint_options():
    args = parse(*("--metrics-port", "9100", "--metrics-host", "0.0.0.0"), "--health-port", "0")  # noqa: S104

    assert (args.metrics_port, args.metrics_host, args.health_port) == (9100, "0.0.0.0", 0)  # noqa: S104


def test_a_port_out_of_range_is_a_one_line_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        parse("--health-port", "65536")

    assert exit_.value.code == 2
    assert "expected a whole number from 0 to 65535, got '65536'" in capsys.readouterr().err


def test_metrics_without_prometheus_client_exit_2_saying_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # as if not installed

    status = main(["worker", "no_such_module:app", "--metrics-port", "9100"])

    err = capsys.readouterr().err
    assert status == 2
    [line] = err.splitlines()
    assert line == (
        "simple-worker: Metrics (--metrics-port, metrics_port=) need the prometheus_client "
        "package: pip install 'simple-worker[prometheus]'"
    )


def test_worker_processes_get_no_port_of_their_own():
    args = parse("--processes", "2", "--metrics-port", "9100", "--health-port", "9100")

    command = child_command(args, parent_pid=1)

    assert "--metrics-port" not in command
    assert "--health-port" not in command


def test_the_shared_directory_feeds_the_worker_processes_and_is_removed_at_exit():
    args = parse("--processes", "2", "--metrics-port", "0", "--health-port", "0")

    with SharedEndpoints(args) as shared:
        directory = shared.directory
        metrics = directory / "metrics"
        assert shared.env() == {"PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        assert shared.child_options(1) == [
            "--metrics-multiprocess",
            "--process-heartbeat-file",
            str(directory / "process-1.alive"),
        ]
        shared.beat_file(1).touch()
        (metrics / "gauge_livesum_4242.db").touch()  # a gauge file of process 4242
        (metrics / "counter_4242.db").touch()

        shared.process_exited(1, 4242)

        assert not shared.beat_file(1).exists()  # its successor starts without a beat
        assert sorted(p.name for p in metrics.iterdir()) == ["counter_4242.db"]

    assert not directory.exists()


def test_without_endpoints_the_supervisor_makes_no_directory():
    with SharedEndpoints(parse("--processes", "2")) as shared:
        assert shared.directory is None
        assert (shared.env(), shared.child_options(0)) == ({}, [])


def test_the_supervisor_lists_its_process_slots_and_whether_it_is_stopping():
    supervisor = Supervisor(lambda index: ["true"], 2, shutdown_timeout=1)

    assert supervisor.processes() == [(0, None), (1, None)]
    assert supervisor.stopping is False
