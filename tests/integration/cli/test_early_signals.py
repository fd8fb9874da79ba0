"""A stop signal in a worker's first moments stops it gracefully: status 0, never -15.

Before the interpreter runs any code, a SIGTERM ends a process by its default action,
whatever the program. A launcher closes that gap by starting the process with SIGTERM
and SIGINT blocked (the supervisor does so for its worker processes): a signal sent
meanwhile waits. ``simple-worker worker`` unblocks them at its first line, with its
handler in place, before it imports the app and boto3; so here a SIGTERM sent as soon
as the process exists arrives there, every time.
"""

import signal
from contextlib import contextmanager

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
REPEATS = 5


@contextmanager
def stop_signals_blocked():
    """Block SIGTERM and SIGINT in this thread, so that a process started here starts so."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def test_a_sigterm_as_soon_as_the_worker_exists_stops_it_before_it_consumes(
    create_queue, producer, start_cli, records, counts
):
    create_queue("default")
    producer.add_task("record", n=1)

    for _ in range(REPEATS):
        with stop_signals_blocked():
            worker = start_cli("worker", "cli_app:app", "--wait-seconds", "1")
        worker.send(signal.SIGTERM)  # no pause: the process has just been spawned

        assert worker.wait() == 0, worker.stderr()
        assert "before the worker started: not starting" in worker.stderr()

    assert records() == []
    assert counts("default") == (1, 0)  # never received


def test_a_sigterm_as_soon_as_the_supervisor_exists_stops_it_before_any_worker_process(
    create_queue, start_cli
):
    create_queue("default")

    for _ in range(REPEATS):
        with stop_signals_blocked():
            supervisor = start_cli("worker", "cli_app:app", "--processes", "2")
        supervisor.send(signal.SIGTERM)

        assert supervisor.wait() == 0, supervisor.stderr()
        assert "Started worker process" not in supervisor.stderr()


def test_a_sigterm_passed_on_to_worker_processes_still_starting_stops_them_with_status_0(
    create_queue, start_cli, wait_until
):
    create_queue("default")
    supervisor = start_cli("worker", "cli_app:app", "--processes", "2", "--wait-seconds", "1")
    wait_until(lambda: len(supervisor.children()) == 2, message="two worker processes to start")

    supervisor.send(signal.SIGTERM)  # passed on while they are still starting

    assert supervisor.wait() == 0
    log = supervisor.stderr()
    assert log.count("stopped: status 0") == 2, log
    assert "killed by SIGTERM" not in log
