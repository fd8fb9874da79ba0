"""The state behind the dashboard page, and the operator's actions; all SQS I/O goes through here.

Counts are sampled on a thread every ``interval`` seconds (the `stats` command's
`collect`) and kept for the last hour, in memory only, for the sparklines. A page
view reads no queue: it renders the last `Snapshot`.

Dead letters are read as ``dlq show`` reads them (`show_dead_letters`): each is
received with a short visibility and released at once, and its receive count goes
up by one. So they are read when the board starts, when the operator asks, and
after a redrive, never on a page view or a timer: a page left open all day would
otherwise add a receive every few seconds.

The actions run one at a time: redrive is the ``redrive`` command itself, run in
this process (its own options and defaults, its output shown as the notice); purge
is `SQSAdmin.purge`. Each acts only on the queues the board shows.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from simple_worker.cli import _redrive
from simple_worker.cli._common import Parser, one_line
from simple_worker.cli._dashboard._snapshot import (
    HISTORY_SECONDS,
    DeadLetters,
    Notice,
    QueueGroup,
    QueueView,
    Sample,
    Snapshot,
)
from simple_worker.cli._dlq import show_dead_letters
from simple_worker.cli._stats import QueueCounts, collect
from simple_worker.domain._errors import CredentialsNotFound, SimpleWorkerError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from simple_worker.adapters.sqs._admin import SQSAdmin
    from simple_worker.app import App

logger = logging.getLogger(__name__)

NOTICES_KEPT = 8
_NOTICE_CHARACTERS = 1500


class Board:
    """The dashboard's model: sampled counts, dead letters read on demand, and the actions.

    Args:
        app: the loaded App.
        app_path: how it was named on the command line (``module:app``), for ``redrive``.
        admin: operator access to the app's SQS queues.
        queues: the app queues to show (full names).
        interval: seconds between samples of the counts.
        letters_limit: dead letters read per dead-letter queue.
        clock: seconds since the epoch (tests pass their own).
    """

    def __init__(
        self,
        app: App,
        app_path: str,
        admin: SQSAdmin,
        queues: Sequence[str],
        *,
        interval: float,
        letters_limit: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app = app
        self._app_path = app_path
        self._admin = admin
        self._queues = list(queues)
        self._interval = interval
        self._letters_limit = letters_limit
        self._clock = clock
        self._lock = threading.Lock()  # guards the state below
        self._rows: list[QueueCounts] = []
        self._sampled_at: float | None = None
        self._history: dict[str, deque[Sample]] = {}
        self._letters: dict[str, DeadLetters] = {}
        self._notices: deque[Notice] = deque(maxlen=NOTICES_KEPT)
        self._action = threading.Lock()  # one action at a time
        self._busy = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- reading -------------------------------------------------------------------

    def start(self) -> None:
        """Sample the counts now, then every ``interval`` seconds, on a daemon thread.

        The first sample is taken before this returns, and the dead letters are read
        once on the thread.

        Raises:
            CredentialsNotFound: no AWS credentials, so no queue can be read: a
                configuration error for the command to report, not a page of errors.
        """
        self.sample(strict=True)
        self._thread = threading.Thread(
            target=self._run, name="simple-worker-dashboard-sampler", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop sampling; waits for a sample being read (bounded by botocore's timeouts)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        for dlq in self._dead_letter_queues():
            if self._stop.is_set():
                return
            self._read_letters(dlq, announce=False)
        while not self._stop.wait(self._interval):
            self.sample()

    def sample(self, *, strict: bool = False) -> None:
        """Read every queue's counts (and its dead-letter queue's) now; keep the last hour.

        A failure shows on the page, in each queue's row; with ``strict``, missing
        credentials raise `CredentialsNotFound` instead.
        """
        now = self._clock()
        try:
            rows = collect(self._admin, self._queues)
        except CredentialsNotFound:
            if strict:
                raise
            rows = [QueueCounts(name, error="no AWS credentials found") for name in self._queues]
        except Exception as error:  # noqa: BLE001 - the sampler must outlive any failure
            logger.warning("Could not read the queues' counts: %s", one_line(error))
            rows = [QueueCounts(name, error=one_line(error)) for name in self._queues]
        keep = int(HISTORY_SECONDS / max(self._interval, 0.1)) + 2
        with self._lock:
            self._rows = rows
            self._sampled_at = now
            for counts in self._all_counts(rows):
                if counts.stats is None:
                    continue
                history = self._history.setdefault(counts.queue, deque(maxlen=keep))
                s = counts.stats
                history.append(Sample(now, s.visible, s.in_flight, s.delayed))

    @staticmethod
    def _all_counts(rows: Sequence[QueueCounts]) -> list[QueueCounts]:
        found = []
        for row in rows:
            found.append(row)
            if row.dead_letter is not None:
                found.append(row.dead_letter)
        return found

    def _dead_letter_queues(self) -> dict[str, str]:
        """Each dead-letter queue shown, with the first app queue that sends to it."""
        with self._lock:
            rows = list(self._rows)
        found: dict[str, str] = {}
        for row in rows:
            if row.dead_letter is not None:
                found.setdefault(row.dead_letter.queue, row.queue)
        return found

    def _read_letters(self, dlq: str, *, announce: bool = True) -> Notice | None:
        source = self._dead_letter_queues().get(dlq)
        if source is None:
            return self._notice(False, f"{dlq} is not a dead-letter queue of this dashboard.")
        try:
            _details, letters = show_dead_letters(
                self._app, self._admin, source, self._letters_limit
            )
        except Exception as error:  # noqa: BLE001 - shown on the page, whatever it is
            with self._lock:
                previous = self._letters.get(dlq, DeadLetters())
                self._letters[dlq] = DeadLetters(
                    previous.letters, previous.read_at, one_line(error)
                )
            return self._notice(
                False, f"Could not read the dead letters of {dlq}: {one_line(error)}"
            )
        with self._lock:
            self._letters[dlq] = DeadLetters(tuple(letters), self._clock())
        if not announce:
            return None
        return self._notice(
            True, f"Read {len(letters)} dead letter(s) of {dlq}; all left in place."
        )

    def snapshot(self) -> Snapshot:
        """Return what the page shows now."""
        with self._lock:
            rows = list(self._rows) or [QueueCounts(name) for name in self._queues]
            groups = tuple(
                QueueGroup(
                    self._view(row),
                    None
                    if row.dead_letter is None
                    else self._view(
                        row.dead_letter, self._letters.get(row.dead_letter.queue, DeadLetters())
                    ),
                )
                for row in rows
            )
            return Snapshot(
                app=self._app_path,
                endpoint=self._admin.endpoint,
                now=self._clock(),
                sampled_at=self._sampled_at,
                interval=self._interval,
                groups=groups,
                notices=tuple(self._notices),
                busy=self._busy,
            )

    def _view(self, counts: QueueCounts, letters: DeadLetters | None = None) -> QueueView:
        return QueueView(
            name=counts.queue,
            stats=counts.stats,
            error=counts.error,
            history=tuple(self._history.get(counts.queue, ())),
            dead_letters=letters,
        )

    def queue_names(self) -> set[str]:
        """Every queue shown: the app queues and their dead-letter queues."""
        with self._lock:
            return {c.queue for c in self._all_counts(self._rows)} | set(self._queues)

    # --- actions -------------------------------------------------------------------

    def notify(self, ok: bool, text: str) -> Notice:
        """Show ``text`` at the top of the page (``ok``: as a success)."""
        return self._notice(ok, text)

    def _notice(self, ok: bool, text: str) -> Notice:
        if len(text) > _NOTICE_CHARACTERS:
            text = text[:_NOTICE_CHARACTERS] + "..."
        notice = Notice(self._clock(), ok, text)
        with self._lock:
            self._notices.append(notice)
        (logger.info if ok else logger.warning)("%s", text)
        return notice

    @contextlib.contextmanager
    def _one_action(self, what: str) -> Iterator[bool]:
        if not self._action.acquire(blocking=False):
            self._notice(False, f"Not done ({what}): another action is running ({self._busy}).")
            yield False
            return
        self._busy = what
        try:
            yield True
        finally:
            self._busy = ""
            self._action.release()

    def read_dead_letters(self, dlq: str) -> Notice | None:
        """Read the dead letters of ``dlq`` again (one of the dead-letter queues shown)."""
        with self._one_action(f"reading the dead letters of {dlq}") as go:
            return self._read_letters(dlq) if go else None

    def redrive(self, dlq: str) -> Notice | None:
        """Move the messages of ``dlq`` back to its queue with the ``redrive`` command."""
        source = self._dead_letter_queues().get(dlq)
        if source is None:
            return self._notice(
                False, f"Not redriven: {dlq} is not a dead-letter queue shown here."
            )
        with self._one_action(f"redriving {dlq} to {source}") as go:
            if not go:
                return None
            status, output = self._run_redrive(source)
            notice = self._notice(status == 0, output or f"redrive exited with status {status}.")
            self.sample()
            self._read_letters(dlq, announce=False)
            return notice

    def _run_redrive(self, source: str) -> tuple[int, str]:
        """Run ``simple-worker redrive APP --queue SOURCE`` here; its status and output."""
        parser = Parser(prog="simple-worker")
        _redrive.register(parser.add_subparsers())
        args = parser.parse_args(["redrive", self._app_path, "--queue", source])
        output = io.StringIO()
        # The command prints its progress and outcome; nothing else in this process
        # writes to stdout or stderr while it runs (actions run one at a time, and the
        # server and the sampler log through logging's handlers, made before this).
        try:
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                status = int(args.run(args))
        except SimpleWorkerError as error:
            return 1, f"{output.getvalue().strip()} {one_line(error)}".strip()
        except Exception as error:  # noqa: BLE001 - shown on the page, whatever it is
            return 1, f"redrive failed: {type(error).__name__}: {one_line(error)}"
        return status, " ".join(output.getvalue().split())

    def purge(self, queue: str) -> Notice | None:
        """Purge ``queue`` (one of the queues shown) with SQS's PurgeQueue."""
        if queue not in self.queue_names():
            return self._notice(False, f"Not purged: {queue} is not a queue shown here.")
        with self._one_action(f"purging {queue}") as go:
            if not go:
                return None
            try:
                self._admin.purge(self._admin.details(queue))
            except Exception as error:  # noqa: BLE001 - shown on the page, whatever it is
                return self._notice(False, f"Not purged: {one_line(error)}")
            with self._lock:
                if queue in self._letters:
                    old = self._letters[queue]
                    self._letters[queue] = DeadLetters(
                        old.letters, old.read_at, note="Purged since: read them again."
                    )
            notice = self._notice(
                True, f"Purged {queue}: SQS deletes its messages within 60 seconds."
            )
            self.sample()
            return notice


__all__ = ["Board"]
