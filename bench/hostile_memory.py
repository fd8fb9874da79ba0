"""Memory of a worker fed hostile 1 MiB bodies: RSS per round, and what one body costs.

    python bench/hostile_memory.py --threads 8 --rounds 10
    MALLOC_ARENA_MAX=2 python bench/hostile_memory.py --threads 8 --rounds 10
    python bench/hostile_memory.py --peaks    # Python heap peak while checking each body
    python bench/hostile_memory.py --heap     # Python heap growth over the rounds (slow)

A real `Worker` on threads consumes the in-memory queue; each round sends ten
bodies of up to 1 MiB that cannot run and waits until all ten are rejected. A
received message is dropped from the queue at once (SQS keeps it elsewhere), so
the figures are the worker's own memory. Linux only (reads /proc/self/status).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import threading
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

from simple_worker import App, MessageDecodeError
from simple_worker.adapters.memory._queue import InMemoryQueue
from simple_worker.domain._envelope import decode_envelope
from simple_worker.ports.queue import OutgoingMessage

ONE_MIB = 1_048_576
START = '{"task_name": "record", "task_payload": {"n": '


def padded(prefix: str, suffix: str, pad: str = "x") -> str:
    """Return ``prefix + pad * k + suffix``, 1 MiB long."""
    return prefix + pad * (ONE_MIB - len(prefix) - len(suffix)) + suffix


HOSTILE = {
    "1 MiB string in a stray key": padded(START + '1, "pad": "', '"}}'),
    "1 MiB of nested lists": "[" * (ONE_MIB // 2) + "]" * (ONE_MIB // 2),
    "1 MiB of nested objects": START + '{"a": ' * 149_789 + "1" + "}" * 149_789 + "}}",
    "1 MiB of stray keys": START + "1" + "".join(f', "k{i:06d}": 0' for i in range(74_893)) + "}}",
    "1 MiB task_name": padded('{"task_payload": {"n": 1}, "task_name": "', '"}'),
    "1 MiB of digits": padded(START, "}}", pad="9"),
    "524k numbers, 1e999 last": START + "[" + "1," * (ONE_MIB // 2 - 60) + "1e999]}}",
    "210k strings and a stray key": START
    + '1, "m": ['
    + ",".join(['"ab"'] * (ONE_MIB // 5 - 20))
    + "]}}",
    "v of 4,300 digits": START + '1}, "v": ' + "9" * 4300 + "}",
    "40k emoji keys": START
    + "1, "
    + ", ".join(f'"{i:06d}\\ud83d\\ude00": 0' for i in range(ONE_MIB // 26))
    + "}}",
}
assert all(len(body) <= ONE_MIB for body in HOSTILE.values())


def rss() -> tuple[float, float]:
    """Return this process's resident set and its high-water mark, in MiB."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


class DroppingQueue:
    """The in-memory queue, minus each message as soon as it is received."""

    def __init__(self, inner: InMemoryQueue) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - delegates the rest of the port
        return getattr(self.inner, name)

    def receive_batch(self, queue: str, **options: Any) -> list[Any]:  # noqa: ANN401
        """Receive as the in-memory queue does, and forget what was received."""
        messages = self.inner.receive_batch(queue, **options)
        if messages:
            self.inner.delete_batch(queue, [message.receipt for message in messages])
        return messages

    def delete_batch(self, queue: str, receipts: object) -> dict[str, str]:
        """Report every delete done: the messages are gone already."""
        return {}

    def change_visibility_batch(self, queue: str, changes: object) -> dict[str, str]:
        """Report every change done: the messages are gone already."""
        return {}


def peaks() -> None:
    """Print the Python heap peak while each body is decoded and checked."""
    tracemalloc.start()
    for name, body in HOSTILE.items():
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        with contextlib.suppress(MessageDecodeError):
            decode_envelope(body)
        peak = (tracemalloc.get_traced_memory()[1] - base) / ONE_MIB
        print(f"{name:30} Python heap peak while decoding and checking: +{peak:5.1f} MiB")


def rounds(threads: int, buffer_size: int | None, count: int, *, heap: bool) -> None:
    """Run a worker; print its RSS after each round of hostile bodies."""
    memory = InMemoryQueue(visibility_timeout=30)
    memory.create_queue("h-default")
    app = App(queue_prefix="h-", queue=DroppingQueue(memory))  # type: ignore[arg-type]
    app.register_task_handler("record")(lambda n: None)
    worker = app.worker(threads=threads, wait_seconds=1, buffer_size=buffer_size)
    thread = threading.Thread(target=worker.start, daemon=True)
    thread.start()
    time.sleep(2)
    if heap:
        tracemalloc.start()
    gc.collect()
    heap_start = tracemalloc.get_traced_memory()[0] if heap else 0
    print(f"threads={threads} buffer_size={buffer_size or 'default'}: RSS {rss()[0]:.0f} MiB")
    for number in range(1, count + 1):
        handled = sum(worker.counts.values())
        bodies = [OutgoingMessage(uuid.uuid4().hex, body) for body in HOSTILE.values()]
        memory.send_batch("h-default", bodies)
        while sum(worker.counts.values()) < handled + len(bodies):
            time.sleep(0.05)
        gc.collect()
        now, high = rss()
        grown = (tracemalloc.get_traced_memory()[0] - heap_start) / 1024 if heap else None
        line = f"round {number}: RSS {now:.0f} MiB, high-water {high:.0f} MiB"
        print(line + (f", Python heap {grown:+.0f} KiB" if grown is not None else ""))
    worker.stop()
    thread.join(10)
    print(dict(worker.counts))


def main() -> None:
    """Parse the options and measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--buffer-size", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--heap", action="store_true", help="trace the Python heap (slow)")
    parser.add_argument("--peaks", action="store_true", help="only measure each body's peak")
    args = parser.parse_args()
    if args.peaks:
        peaks()
    else:
        rounds(args.threads, args.buffer_size, args.rounds, heap=args.heap)


if __name__ == "__main__":
    main()
