"""The benchmark's emulator: a moto server in its own process, optionally behind a delaying proxy.

The server runs in a separate process so that the worker's CPU figures are its
own; the proxy adds a fixed delay to every request, as the network to real SQS
does (10-30 ms from a host, against about 1 ms on loopback).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@contextlib.contextmanager
def emulator(kind: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run an SQS emulator on 127.0.0.1 in its own process; yield its endpoint URL and process.

    ``kind`` is ``fast`` (``fast_sqs.py``: flat cost per call, so the figures are
    ours) or ``moto`` (faithful, but its cost per call grows with queue depth).
    """
    port = free_port()
    if kind == "moto":
        executable = shutil.which("moto_server", path=str(Path(sys.executable).parent))
        if executable is None:
            raise RuntimeError("moto_server is not installed: pip install 'moto[server]'")
        command = [executable, "-H", "127.0.0.1", "-p", str(port)]
    else:
        command = [
            sys.executable,
            str(Path(__file__).with_name("fast_sqs.py")),
            "--port",
            str(port),
        ]
    process = subprocess.Popen(  # noqa: S603 - an emulator of ours or moto's
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_port(port)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(10)


class DelayingProxy:
    """A TCP proxy on 127.0.0.1 that holds every chunk from client to server ``delay`` seconds.

    An HTTP request fits one chunk, so each API call gains about ``delay`` of
    round-trip time, and calls on separate connections overlap as they would.
    """

    def __init__(self, target_port: int, delay: float) -> None:
        self.port = free_port()
        self._target_port = target_port
        self._delay = delay
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="delaying-proxy")

    def __enter__(self) -> DelayingProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shut_down(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shut_down(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def url(self) -> str:
        """The proxy's endpoint URL."""
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    async def _handle(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self._target_port)
        await asyncio.gather(
            self._pipe(client_in, server_out, self._delay),
            self._pipe(server_in, client_out, 0.0),
            return_exceptions=True,
        )

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float
    ) -> None:
        """Forward each chunk ``delay`` after it arrived (chunks queue up; delays do not add)."""
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def read() -> None:
            while chunk := await reader.read(65536):
                chunks.put_nowait((loop.time() + delay, chunk))
            chunks.put_nowait((0.0, b""))

        reading = asyncio.ensure_future(read())
        try:
            while True:
                due, chunk = await chunks.get()
                if not chunk:
                    return
                await asyncio.sleep(max(due - loop.time(), 0.0))
                writer.write(chunk)
                await writer.drain()
        finally:
            reading.cancel()
            writer.close()
