"""The supervisor of ``simple-worker worker --processes P``: P worker processes, kept running.

Each worker process is ``python -m simple_worker worker APP ... --processes 1``, a
fresh interpreter (no fork after import: no inherited threads, locks or boto3
clients). The supervisor:

- checks the app and its queues once, before starting anything (a configuration
  error is one line and exit status 2, not P crash loops);
- gives each process a hard time limit (``--hard-time-limit``; default
  `HARD_LIMIT_FACTOR` times the longest time limit of the app's tasks): a
  process whose task stays stuck past it stops gracefully by itself (its other
  tasks finish, its buffered messages are released) and exits with status 3,
  and is restarted like any process that exits;
- restarts a worker process that exits on its own, after a pause that doubles from
  1 s to 30 s while it keeps dying young, and is reset once one has lived 60 s;
- stops everything, with exit status 2, when a worker process exits with status 2
  (a configuration error: restarting cannot help);
- on SIGTERM/SIGINT, passes the signal to every worker process, which stops
  within its shutdown budget (``--shutdown-timeout``, passed on to each); SIGKILLs
  what is still running `KILL_MARGIN` seconds after that (their messages reappear
  after the visibility timeout: nothing is lost); a second signal kills them at once.

Worker processes start with SIGTERM and SIGINT blocked, and unblock them once
their handlers are in place (see `EarlyStop`): a signal passed on to a process
that is still starting waits for it, rather than killing it.

Worker processes run in their own session, so a Ctrl-C at a terminal reaches the
supervisor only, which passes it on once (a second SIGINT would force their stop).
Each gets ``SIMPLE_WORKER_PROCESS`` (0 to P-1) in its environment, and stops by
itself if the supervisor disappears.

With ``--metrics-port`` or ``--health-port`` the supervisor serves one endpoint for
all its processes (`SharedEndpoints`), from a private temporary directory removed
at exit: the processes write their metrics there (prometheus_client's
multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``) and each touches a heartbeat
file of its own, whose age says whether it consumes.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType

import attrs

from simple_worker.adapters.system._signals import EarlyStop
from simple_worker.cli._common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_SHUTDOWN_TIMEOUT,
    EXIT_TASK_STUCK,
    EXIT_USAGE,
    build_worker,
)
from simple_worker.cli._shared_endpoints import SharedEndpoints
from simple_worker.consumer._time_limits import HARD_LIMIT_FACTOR
from simple_worker.domain._errors import ConfigurationError, QueueNotFound

logger = logging.getLogger(__name__)

KILL_MARGIN = 5.0
"""Seconds past the shutdown budget before worker processes still running are killed.

A process at the end of its budget still logs what it gave up, and exits.
"""
PROCESS_INDEX_VARIABLE = "SIMPLE_WORKER_PROCESS"
EXIT_KILLED = 128 + signal.SIGKILL
"""The supervisor's status when worker processes overran their budget and it killed them."""
_TICK = 0.2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@attrs.define
class RestartBackoff:
    """The pause before restarting a worker process that exited: doubling while it dies young.

    The first restart waits ``initial`` seconds, each next one twice the last, up to
    ``maximum``; a process that had lived ``reset_after`` seconds or more starts the
    sequence over.
    """

    initial: float = 1.0
    maximum: float = 30.0
    reset_after: float = 60.0
    _next: float | None = attrs.field(default=None, init=False)

    def delay(self, lived: float) -> float:
        """Return the pause before restarting a process that exited after ``lived`` seconds."""
        if self._next is None or lived >= self.reset_after:
            self._next = self.initial
        delay = self._next
        self._next = min(delay * 2, self.maximum)
        return delay


def child_command(args: argparse.Namespace, parent_pid: int) -> list[str]:
    """Return the command line of one worker process: the same options, ``--processes 1``."""
    command = [sys.executable, "-m", "simple_worker", "worker", args.app]
    if args.queues:
        command += ["--queues", ",".join(args.queues)]
    command += [
        "--threads",
        str(args.threads),
        "--async-concurrency",
        str(args.async_concurrency),
        "--wait-seconds",
        str(args.wait_seconds),
        "--log-level",
        args.log_level,
        "--log-format",
        args.log_format,
        "--shutdown-timeout",
        f"{args.shutdown_timeout:g}",
    ]
    if args.retry_backoff is not None:
        command += ["--retry-backoff", f"{args.retry_backoff:g}"]
    if args.log_payloads:
        command.append("--log-payloads")
    if args.heartbeat_file is not None:
        # Shared by the processes: fresh while at least one of them consumes.
        command += ["--heartbeat-file", args.heartbeat_file]
    if args.retry_intervals is not None:
        command += ["--retry-intervals", ",".join(map(str, args.retry_intervals))]
    if args.time_limit is not None:
        command += ["--time-limit", f"{args.time_limit:g}"]
    if args.hard_time_limit is not None:
        command += ["--hard-time-limit", f"{args.hard_time_limit:g}"]
    return [*command, "--processes", "1", "--parent-pid", str(parent_pid)]


def default_hard_limit(own_limits: Sequence[float | None], default: float | None) -> float | None:
    """Return the hard limit of ``--processes`` without ``--hard-time-limit``; None: none.

    `HARD_LIMIT_FACTOR` times the longest time limit of the app's tasks (their
    own, else the worker's ``--time-limit``), so that it fires only for a task
    that overstayed its own limit for as long again, whichever task it is.
    """
    limits = [own if own is not None else default for own in own_limits]
    longest = max((limit for limit in limits if limit is not None), default=None)
    return None if longest is None else HARD_LIMIT_FACTOR * longest


def describe_exit(returncode: int) -> str:
    """Return ``"status 3"`` or ``"killed by SIGKILL"`` for a `Popen.returncode`."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"status {returncode}"


def shutdown_status(returncodes: Sequence[int], stop_signal: int) -> int:
    """Return the supervisor's exit status from its workers' exit statuses after a stop.

    0 when every one stopped cleanly: status 0, or killed by ``stop_signal`` itself
    (it arrived before the worker had installed its handlers, so it had not started
    receiving); 124 when, besides, some reached their shutdown budget (they left
    work to SQS); 2 when one reported a configuration error; 1 otherwise.
    """
    if any(code == EXIT_USAGE for code in returncodes):
        return EXIT_USAGE
    clean = (EXIT_OK, -stop_signal)
    if all(code in clean for code in returncodes):
        return EXIT_OK
    if all(code in (*clean, EXIT_SHUTDOWN_TIMEOUT) for code in returncodes):
        return EXIT_SHUTDOWN_TIMEOUT
    return EXIT_FAILURE


def supervise(args: argparse.Namespace) -> int:
    """Check the app and its queues, then run ``args.processes`` workers until stopped.

    Raises:
        SimpleWorkerError: the app does not load, an option is out of range, or a
            queue is missing (before any process starts).
    """
    early: EarlyStop = getattr(args, "early_stop", None) or EarlyStop()
    # Built for its checks only: the app loads, the options' ranges, the queue names.
    app, worker = build_worker(args)
    if not worker.queue_names:
        raise ConfigurationError("The worker has no queues: register a task handler first.")
    missing = []
    for name in worker.queue_names:
        try:
            app.queue.describe(name)
        except QueueNotFound:
            missing.append(name)
    if missing:
        raise QueueNotFound(missing)
    if early.signum is not None:
        logger.info("Received a stop signal before any worker process started: not starting")
        return EXIT_OK
    if args.hard_time_limit is None:
        args.hard_time_limit = default_hard_limit(
            [r.time_limit for r in app.registry.registrations()], args.time_limit
        )
    command = child_command(args, os.getpid())
    with SharedEndpoints(args) as shared:
        supervisor = Supervisor(
            lambda index: [*command, *shared.child_options(index)],
            args.processes,
            args.shutdown_timeout,
            env=shared.env(),
            on_exit=shared.process_exited,
        )
        early.forward_to(supervisor.request_stop)
        shared.serve(supervisor)
        return supervisor.run()


@attrs.define
class _Slot:
    index: int
    backoff: RestartBackoff = attrs.field(factory=RestartBackoff)
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restart_at: float | None = None


class Supervisor:
    """Runs ``processes`` worker processes until a stop signal; see the module docstring.

    Args:
        command: the command line of the worker process with the given index.
        processes: how many to run.
        shutdown_timeout: the worker processes' shutdown budget; those still running
            ``kill_margin`` seconds after it are killed with SIGKILL.
        env: environment variables for the worker processes, beside this one's.
        on_exit: called with a process's index and pid once it has exited and
            been reaped (not for those still running when the supervisor stops).
    """

    def __init__(
        self,
        command: Callable[[int], list[str]],
        processes: int,
        shutdown_timeout: float,
        *,
        env: Mapping[str, str] | None = None,
        on_exit: Callable[[int, int], None] | None = None,
        kill_margin: float = KILL_MARGIN,
    ) -> None:
        self._command = command
        self._slots = [_Slot(index) for index in range(processes)]
        self._shutdown_timeout = shutdown_timeout
        self._kill_after = shutdown_timeout + kill_margin
        self._env = dict(env or {})
        self._on_exit = on_exit
        self._signals: list[int] = []
        self._wake = threading.Event()
        self._config_error = False

    @property
    def stopping(self) -> bool:
        """Whether the supervisor is stopping its processes (a signal, or a configuration error)."""
        return bool(self._signals) or self._config_error

    def processes(self) -> list[tuple[int, int | None]]:
        """Return ``(index, pid)`` of each process slot; pid None while it has no process."""
        found = []
        for slot in self._slots:
            process = slot.process  # read once: the main thread may reset it meanwhile
            found.append((slot.index, None if process is None else process.pid))
        return found

    def run(self) -> int:
        """Start the workers and supervise them until a signal; return the exit status."""
        previous = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        try:
            if not self.stopping:  # a signal may have come already (`request_stop`)
                for slot in self._slots:
                    self._start(slot)
                logger.info(
                    "Supervisor started %d worker processes",
                    len(self._slots),
                    extra={"processes": len(self._slots)},
                )
            while not self._signals and not self._config_error:
                self._reap(time.monotonic())
                self._restart_due(time.monotonic())
                self._wake.wait(_TICK)
                self._wake.clear()
            return self._shutdown()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop the worker processes as the signal ``signum`` would. Signal-safe."""
        self._signals.append(signum)
        self._wake.set()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.request_stop(signum)

    def _start(self, slot: _Slot) -> None:
        # Blocked from fork to the worker's first line, which unblocks them (`EarlyStop`):
        # until then a stop signal passed on would kill the interpreter as it starts.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            slot.process = subprocess.Popen(  # noqa: S603 - our own command, no shell
                self._command(slot.index),
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self._env, PROCESS_INDEX_VARIABLE: str(slot.index)},
                start_new_session=True,  # a terminal's Ctrl-C reaches the supervisor only
            )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        slot.started = time.monotonic()
        slot.restart_at = None
        logger.info(
            "Started worker process %d (pid %d)",
            slot.index,
            slot.process.pid,
            extra={"process_index": slot.index, "pid": slot.process.pid},
        )

    def _reap(self, now: float) -> None:
        for slot in self._slots:
            if slot.process is None or slot.process.poll() is None:
                continue
            code, pid = slot.process.returncode, slot.process.pid
            slot.process = None
            if self._on_exit is not None:
                self._on_exit(slot.index, pid)
            fields = {"process_index": slot.index, "pid": pid, "exit_status": code}
            if code == EXIT_USAGE:
                logger.error(
                    "Worker process %d (pid %d) exited with status 2, a configuration error "
                    "(its message is above): stopping the others",
                    slot.index,
                    pid,
                    extra=fields,
                )
                self._config_error = True
                continue
            if code == EXIT_TASK_STUCK:
                logger.error(
                    "Worker process %d (pid %d) stopped: a task ran past the hard time limit "
                    "(its message is above); its messages return to the queue",
                    slot.index,
                    pid,
                    extra=fields,
                )
            delay = slot.backoff.delay(now - slot.started)
            slot.restart_at = now + delay
            logger.warning(
                "Worker process %d (pid %d) exited unexpectedly (%s) after %.1f s: "
                "restarting it in %g s",
                slot.index,
                pid,
                describe_exit(code),
                now - slot.started,
                delay,
                extra=fields,
            )

    def _restart_due(self, now: float) -> None:
        for slot in self._slots:
            if slot.process is None and slot.restart_at is not None and now >= slot.restart_at:
                self._start(slot)

    def _running(self) -> list[_Slot]:
        return [s for s in self._slots if s.process is not None and s.process.poll() is None]

    def _shutdown(self) -> int:
        stop_signal = self._signals[0] if self._signals else signal.SIGTERM
        running = self._running()
        logger.info(
            "%s: stopping %d worker process(es) within their %g s shutdown budget",
            signal.Signals(stop_signal).name if self._signals else "Configuration error",
            len(running),
            self._shutdown_timeout,
        )
        for slot in running:
            self._send(slot, stop_signal)
        deadline = time.monotonic() + self._kill_after
        while self._running():
            if len(self._signals) > 1:
                logger.warning("Second signal: killing the worker processes now")
                self._kill_all()
                return 128 + self._signals[1]
            if time.monotonic() >= deadline:
                logger.warning(
                    "%d worker process(es) still running after %g s: killing them; their "
                    "tasks' messages reappear after the visibility timeout",
                    len(self._running()),
                    self._kill_after,
                )
                self._kill_all()
                return EXIT_KILLED
            self._wake.wait(_TICK / 2)
            self._wake.clear()
        codes = [s.process.returncode for s in self._slots if s.process is not None]
        for slot in self._slots:
            if slot.process is not None:
                logger.info(
                    "Worker process %d (pid %d) stopped: %s",
                    slot.index,
                    slot.process.pid,
                    describe_exit(slot.process.returncode),
                )
        if self._config_error:
            return EXIT_USAGE
        status = shutdown_status(codes, stop_signal)
        if status == EXIT_OK:
            logger.info("Every worker process stopped cleanly")
        return status

    @staticmethod
    def _send(slot: _Slot, signum: int) -> None:
        if slot.process is not None:
            slot.process.send_signal(signum)  # does nothing if it has exited

    def _kill_all(self) -> None:
        for slot in self._running():
            self._send(slot, signal.SIGKILL)
        for slot in self._slots:
            if slot.process is not None:
                slot.process.wait()
