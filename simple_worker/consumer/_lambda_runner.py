"""The AWS Lambda runner: an SQS event source mapping's batch, run and settled. Uses the ports only.

An event source mapping receives messages itself and invokes the function with a
batch of them; whatever the function reports in ``batchItemFailures`` stays in
the queue, the rest the mapping deletes. So this runner decides nothing new: each
record goes through the `Dispatcher` (same envelope, signature check, large
payloads, middleware, executor hooks and `current_task`) and the one settle
policy (`settle`, applied by `Settler`), exactly as in the threaded worker. A
record is reported as succeeded if and only if its settlement deleted it (a
success, or a task sent on to wait); the mapping then does that delete. Every
other settlement is applied here through the queue port before the function
returns (a retry policy's visibility, a rejected message released towards the
dead-letter queue, a FIFO group's successors released) and its record reported
failed, so that nothing that did not finish is ever deleted.

Two rules of its own, both about records that do not start:

- FIFO: once a group's record did not succeed, the group's later records in the
  batch do not run (order), and are released and reported failed, as AWS asks of
  FIFO partial batch responses.
- Time budget: before each record, if the invocation has less than
  ``time_margin`` seconds left, the rest are released and reported failed
  unrun, so that a timeout never kills the function with work done but unreported.
"""

from __future__ import annotations

import collections
import logging

from simple_worker._large_payloads import payload_cleanup
from simple_worker._log_fields import message_fields
from simple_worker.consumer._deleter import log_failed_delete
from simple_worker.consumer._dispatcher import Dispatcher
from simple_worker.consumer._event_loop import BlockingRunner
from simple_worker.consumer._held_visibility import HeldVisibilityChanges
from simple_worker.consumer._lambda_event import SqsRecord, sqs_records
from simple_worker.consumer._retry import RetryPolicy
from simple_worker.consumer._settler import Settler
from simple_worker.domain._errors import ConfigurationError, SimpleWorkerError
from simple_worker.domain._queue_arn import QueueArn
from simple_worker.ports.clock import ClockPort
from simple_worker.ports.queue import QueueByArn, QueueInfo, QueuePort, ReceivedMessage

logger = logging.getLogger(__name__)

MAX_LAMBDA_TIMEOUT = 900
"""Seconds: the longest timeout a Lambda function can have."""
DEFAULT_TIME_MARGIN = 2.0
"""Seconds of the invocation's time left below which no further record starts."""

BatchResponse = dict[str, list[dict[str, str]]]
"""``{"batchItemFailures": [{"itemIdentifier": message_id}, ...]}``"""


class LambdaRunner:
    """Runs SQS event source mapping batches; made by ``App.lambda_handler()``.

    Call it as the function's handler: ``runner(event, context)``. What it learns
    of the queues (their settings, one read per queue) lasts for the life of the
    execution environment, so create it once, at import, not per invocation.

    Args:
        queue: the queue port, for visibility changes and tasks sent on.
        dispatcher: runs each record's message.
        clock: the time a deferred task's wait is counted from.
        retry_policy: sets a failed task's visibility from its receive count.
        time_margin: seconds left in the invocation below which no record starts.
    """

    def __init__(
        self,
        queue: QueuePort,
        dispatcher: Dispatcher,
        clock: ClockPort,
        *,
        retry_policy: RetryPolicy | None = None,
        time_margin: float = DEFAULT_TIME_MARGIN,
    ) -> None:
        if not 0 <= time_margin < MAX_LAMBDA_TIMEOUT:
            raise ConfigurationError(
                f"time_margin must be 0 to 900 seconds (Lambda's longest timeout); "
                f"got {time_margin}."
            )
        self.time_margin = time_margin
        self.counts: collections.Counter[str] = collections.Counter()
        """Records settled so far by outcome (``succeeded``, ``failed``...), and ``unstarted``."""
        self._queue = queue
        self._dispatcher = dispatcher
        self._clock = clock
        self._retry_policy = retry_policy
        self._infos: dict[str, QueueInfo] = {}
        # One event loop for the life of the execution environment, as a worker has
        # one: what an async handler keeps between tasks (a client session) stays
        # usable from one invocation to the next. Records still run one at a time.
        self._loop = BlockingRunner()

    def close(self) -> None:
        """Close the event loop async handlers ran on, if one was made.

        Lambda never needs it (the environment ends with its process); a test or
        a script that calls the handler does, before it drops it.
        """
        self._loop.close()

    def __call__(self, event: object, context: object = None) -> BatchResponse:
        """Run a batch; return the records that did not succeed, for the mapping to keep.

        Args:
            event: the event source mapping's event, ``{"Records": [...]}``.
            context: Lambda's context object; None (a test, a local call) or one
                without ``get_remaining_time_in_millis`` means no time budget.

        Returns:
            The partial batch response: ``{"batchItemFailures": [{"itemIdentifier":
            message_id}, ...]}``, in the records' order. The event source mapping
            must have ``FunctionResponseTypes: ["ReportBatchItemFailures"]``:
            without it the mapping ignores this response and, since the function
            returned, deletes the whole batch, failed records included.

        Raises:
            ConfigurationError: the event is not an SQS batch (nothing ran).
            QueueNotFound: a record's queue does not exist (nothing ran).
            QueueServiceError: a queue's settings could not be read (nothing ran):
                the function fails and the whole batch comes back.
        """
        records = sqs_records(event)
        for record in records:
            self._describe(record.arn)
        middleware = self._dispatcher.middleware
        middleware.worker_started(self)
        try:
            failed = self._run(records, context)
        finally:
            middleware.worker_stopped(self)
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    def _describe(self, arn: QueueArn) -> QueueInfo:
        info = self._infos.get(arn.name)
        if info is None:
            if isinstance(self._queue, QueueByArn):
                info = self._queue.describe_arn(arn)
            else:
                info = self._queue.describe(arn.name)
            self._infos[arn.name] = info
        return info

    def _run(self, records: list[SqsRecord], context: object) -> list[str]:
        # Visibility changes go out together once the batch is done, in a call per queue
        # (per ten changes), rather than in a call per record that did not succeed.
        changes = HeldVisibilityChanges(self._queue)
        settler = Settler(changes, self._clock, self._infos, self._retry_policy)
        started = self._clock.monotonic()
        succeeded: set[str] = set()
        stopped_groups: set[tuple[str, str | None]] = set()
        unstarted: list[ReceivedMessage] = []
        out_of_time = False
        for index, record in enumerate(records):
            message = record.message
            if out_of_time or (message.queue, message.group_id) in stopped_groups:
                unstarted.append(message)
                continue
            left = _seconds_left(context)
            if left is not None and left < self.time_margin:
                out_of_time = True
                _log_out_of_time(left, self.time_margin, len(records) - index)
                unstarted.append(message)
                continue
            info = self._infos[message.queue]
            try:
                stop_group = self._run_one(message, info, settler, started, succeeded)
            except Exception:  # a bug around one record must not cost the batch's others
                logger.exception(
                    "Internal error around a record from %s: reported failed",
                    message.queue,
                    extra=message_fields(message),
                )
                succeeded.discard(message.message_id)
                stop_group = info.fifo and message.group_id is not None
            if stop_group:
                stopped_groups.add((message.queue, message.group_id))
        if unstarted:
            self.counts["unstarted"] += len(unstarted)
            settler.release(unstarted)  # back at once, rather than after the visibility timeout
        changes.flush(Settler(self._queue, self._clock, self._infos).change_visibility)
        failed = [r.message.message_id for r in records if r.message.message_id not in succeeded]
        logger.info(
            "Ran a batch of %d record(s): %d reported failed",
            len(records),
            len(failed),
            extra={"count": len(records), "failed": len(failed), "unstarted": len(unstarted)},
        )
        return failed

    def _run_one(
        self,
        message: ReceivedMessage,
        info: QueueInfo,
        settler: Settler,
        started: float,
        succeeded: set[str],
    ) -> bool:
        """Run one record and settle it; return whether its FIFO group stops here."""
        dispatched = self._dispatcher.dispatch(message, await_with=self._loop)
        settlement = settler.decide(
            dispatched,
            held_for=self._clock.monotonic() - started,
            keeps_group_order=info.fifo and message.group_id is not None,
        )

        def delete(message: ReceivedMessage, with_payload: bool) -> None:
            # The event source mapping deletes what is not reported failed. A large
            # task's object must go after its message, so that message is deleted here
            # first (the mapping's own delete then changes nothing).
            cleanup = (
                payload_cleanup(message, self._dispatcher.payload_store) if with_payload else None
            )
            if cleanup is not None and self._delete_now(message):
                cleanup()
            succeeded.add(message.message_id)

        settler.apply(dispatched, settlement, delete)
        self.counts[dispatched.outcome.value] += 1
        return settlement.stop_group

    def _delete_now(self, message: ReceivedMessage) -> bool:
        try:
            failed = self._queue.delete_batch(message.queue, [message.receipt])
        except SimpleWorkerError as exc:
            failed = {message.receipt: str(exc)}
        for reason in failed.values():
            log_failed_delete(message.queue, reason, message_fields(message))
        return not failed


def _seconds_left(context: object) -> float | None:
    """Seconds the invocation has left; None without a context that says (no budget)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    millis = remaining()
    return millis / 1000 if isinstance(millis, int | float) else None


def _log_out_of_time(left: float, margin: float, count: int) -> None:
    logger.warning(
        "%.1f s left in this invocation, under the %g s time margin: %d record(s) not "
        "started, released and reported failed (raise the function's timeout, lower the "
        "batch size, or lower time_margin if tasks are short)",
        left,
        margin,
        count,
        extra={"time_left": left, "time_margin": margin, "count": count},
    )
