"""Sending one call's batches with several SendMessageBatch calls in flight at once.

A round trip to SQS, not the work on either side, is what limits a producer: at
20 ms a call, one batch at a time caps ``add_tasks`` near 500 tasks a second.
Here up to ``concurrency`` batches are in flight, each on a thread of its own (the
caller's thread is one of them), and every task still ends up in exactly one of
sent, failed or unknown:

- On a FIFO queue, two batches holding one message group are never in flight at
  once, and a group's batches go in order; once a task of a group is not sent,
  the group's later tasks are held back (failed, not attempted), so that they
  cannot overtake it.
- A call that got no answer (unknown outcome) or was refused as a whole stops
  the send: batches not started are failed, not attempted; those in flight finish.
- A message the queue refused alone does not stop the others, as in one call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import attrs

from simple_worker.domain._errors import QueueNotFound
from simple_worker.ports.queue import OutgoingMessage, SendResult, split_batches
from simple_worker.producer._batches import ordered_groups

SendBatch = Callable[[list[OutgoingMessage]], SendResult]
"""Sends one batch (at most 10 messages, 1 MiB) with one call; raises as `QueuePort.send_batch`."""

NOT_ATTEMPTED = (
    "NotAttempted: an earlier SendMessageBatch call of this send failed, so no further "
    "call was made"
)
GROUP_HELD_BACK = (
    "NotAttempted: an earlier task of its message group was not sent, so this one was "
    "held back to keep the group's order"
)
_SENT, _UNKNOWN = "sent", "unknown"


@attrs.frozen
class SendOutcome:
    """What became of every message; ``error`` is the first exception a batch's call raised."""

    result: SendResult
    error: Exception | None = None


def send_in_flight(
    send: SendBatch,
    messages: Sequence[OutgoingMessage],
    *,
    ordered: bool,
    concurrency: int,
) -> SendOutcome:
    """Send ``messages`` in batches, up to ``concurrency`` calls in flight; return every fate.

    Args:
        send: makes one call for one batch.
        messages: what to send, with distinct ids, in order.
        ordered: a FIFO queue: keep each message group's order (see the module).
        concurrency: the most calls in flight at once (1: one after the other, on
            the caller's thread alone).
    """
    plan = _Plan(list(split_batches(messages)), ordered=ordered)
    helpers = [
        threading.Thread(target=plan.work, args=(send,), name="simple-worker-send", daemon=True)
        for _ in range(min(concurrency, plan.batch_count) - 1)
    ]
    for helper in helpers:
        helper.start()
    plan.work(send)
    for helper in helpers:
        helper.join()
    return plan.outcome(messages)


class _Plan:
    """The batches of one send and what became of them; shared by its sending threads."""

    def __init__(self, batches: list[list[OutgoingMessage]], *, ordered: bool) -> None:
        self.batch_count = len(batches)
        self._waiting = batches
        self._ordered = ordered
        self._lock = threading.Condition()
        self._in_flight = 0
        self._busy: set[str] = set()  # groups of the batches in flight
        self._held_back: set[str] = set()  # groups with a task not sent
        self._stopped = False
        self._fate: dict[str, str] = {}  # id -> "sent", "unknown" or why it failed
        self._error: Exception | None = None

    def work(self, send: SendBatch) -> None:
        """Send batches until none is left to start."""
        while True:
            with self._lock:
                taken = self._take()
                while taken is None and self._waiting and self._in_flight:
                    self._lock.wait()  # every batch left waits for a group in flight
                    taken = self._take()
                if taken is None:
                    return
                self._in_flight += 1
            batch, groups = taken
            try:
                result = send(batch)
            except Exception as exc:  # noqa: BLE001 - the port's errors, reported per task
                self._settle(batch, groups, None, exc)
            except BaseException:
                self._settle(batch, groups, None, None)
                raise
            else:
                self._settle(batch, groups, result, None)

    def _take(self) -> tuple[list[OutgoingMessage], set[str]] | None:
        """Take the first batch that may go now, without its held-back tasks; None if none."""
        if self._stopped:
            for batch in self._waiting:
                self._fate.update(dict.fromkeys((m.id for m in batch), NOT_ATTEMPTED))
            self._waiting.clear()
            return None
        blocked = set(self._busy)
        index = 0
        while index < len(self._waiting):
            groups = ordered_groups(self._waiting[index], ordered=self._ordered)
            if groups & blocked:
                blocked |= groups  # so no later batch of these groups overtakes this one
                index += 1
                continue
            batch = [m for m in self._waiting.pop(index) if not self._hold_back(m)]
            if batch:
                groups = ordered_groups(batch, ordered=self._ordered)
                self._busy |= groups
                return batch, groups
        return None

    def _hold_back(self, message: OutgoingMessage) -> bool:
        if self._ordered and message.group_id in self._held_back:
            self._fate[message.id] = GROUP_HELD_BACK
            return True
        return False

    def _settle(
        self,
        batch: list[OutgoingMessage],
        groups: set[str],
        result: SendResult | None,
        error: Exception | None,
    ) -> None:
        with self._lock:
            self._in_flight -= 1
            self._busy -= groups
            if result is None:
                # Raised: QueueNotFound means nothing was taken; anything else, unknown.
                self._stopped = True
                self._error = self._error or error
                fate = f"QueueNotFound: {error}" if isinstance(error, QueueNotFound) else _UNKNOWN
                self._fate.update(dict.fromkeys((m.id for m in batch), fate))
            else:
                self._fate.update(dict.fromkeys(result.sent, _SENT))
                self._fate.update(result.failed)
                self._fate.update(dict.fromkeys(result.unknown, _UNKNOWN))
                if result.unknown or (result.failed and not result.sent):
                    self._stopped = True  # no answer, or the call refused as a whole
            for message in batch:
                self._fate.setdefault(message.id, _UNKNOWN)  # an adapter that lost one
                if self._ordered and self._fate[message.id] != _SENT and message.group_id:
                    self._held_back.add(message.group_id)
            self._lock.notify_all()

    def outcome(self, messages: Sequence[OutgoingMessage]) -> SendOutcome:
        """Return every message's fate, in the order given."""
        with self._lock:
            fate = {m.id: self._fate.get(m.id, _UNKNOWN) for m in messages}
            return SendOutcome(
                SendResult(
                    sent=tuple(i for i, f in fate.items() if f == _SENT),
                    failed={i: f for i, f in fate.items() if f not in (_SENT, _UNKNOWN)},
                    unknown=tuple(i for i, f in fate.items() if f == _UNKNOWN),
                ),
                self._error,
            )
