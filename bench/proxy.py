"""The benchmark's HTTP proxy in front of the SQS emulator: it counts calls and can delay them.

Every request is read whole (HTTP/1.1, by Content-Length or chunked), counted by
its SQS action (the ``X-Amz-Target`` header of the JSON protocol, or the
``Action`` field of the query protocol), held ``--delay`` seconds from its
arrival as a network would, and forwarded; responses flow back untouched. Calls
on separate connections overlap as they would. ``GET /__bench/calls`` answers
the counts so far as JSON, without reaching the emulator.

    python bench/proxy.py --port 8001 --target 8000 --delay 0.02

Standard library only: it runs in the benchmark's own interpreter, in its own
process, so that neither the worker nor the producer pays for it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import signal
import urllib.parse

_CALLS_PATH = b"/__bench/calls"


class Proxy:
    """Counts and forwards the requests of every client connection."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self._target_port = target_port
        self._delay = delay

    async def handle(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        """Serve one client connection until either side closes it."""
        server_out: asyncio.StreamWriter | None = None
        back: asyncio.Future[None] | None = None
        loop = asyncio.get_running_loop()
        try:
            while (request := await _read_request(client_in, client_out)) is not None:
                arrived = loop.time()
                if request.path == _CALLS_PATH:
                    _answer_json(client_out, dict(self.calls))
                    await client_out.drain()
                    continue
                self.calls[request.action] += 1
                if server_out is None:
                    server_in, server_out = await asyncio.open_connection(
                        "127.0.0.1", self._target_port
                    )
                    back = asyncio.ensure_future(_pipe(server_in, client_out))
                if self._delay:
                    await asyncio.sleep(max(arrived + self._delay - loop.time(), 0.0))
                server_out.write(request.raw)
                await server_out.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            if server_out is not None:
                server_out.close()
            if back is not None:
                with contextlib.suppress(Exception):
                    await back
            client_out.close()


class _Request:
    def __init__(self, path: bytes, action: str, raw: bytes) -> None:
        self.path = path
        self.action = action
        self.raw = raw


async def _read_request(
    reader: asyncio.StreamReader, client_out: asyncio.StreamWriter
) -> _Request | None:
    """Read one whole request; None when the client closed the connection between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if error.partial.strip():
            raise
        return None
    request_line, *header_lines = head[:-4].split(b"\r\n")
    headers: dict[bytes, bytes] = {}
    kept = [request_line]
    for line in header_lines:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"expect" and value.strip().lower() == b"100-continue":
            # Answered here, so the body follows at once (the emulator then sees no Expect).
            client_out.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            continue
        headers[key] = value.strip()
        kept.append(line)
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
        body_raw = body
    elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body, body_raw = await _read_chunked(reader)
    else:
        body = body_raw = b""
    _, _, rest = request_line.partition(b" ")
    target = rest.rpartition(b" ")[0]
    path, _, query = target.partition(b"?")
    raw = b"\r\n".join(kept) + b"\r\n\r\n" + body_raw
    return _Request(path, _action(headers, body, query), raw)


async def _read_chunked(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    body, raw = [], []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        raw.append(size_line)
        size = int(size_line.split(b";")[0].strip(), 16)
        chunk = await reader.readexactly(size + 2)
        raw.append(chunk)
        body.append(chunk[:-2])
        if size == 0:
            # A trailer would end with an empty line of its own; SDKs send none.
            return b"".join(body), b"".join(raw)


def _action(headers: dict[bytes, bytes], body: bytes, query: bytes) -> str:
    target = headers.get(b"x-amz-target")
    if target:
        return target.decode("ascii", "replace").rpartition(".")[2]
    for fields in (body, query):
        with contextlib.suppress(UnicodeDecodeError):
            action = urllib.parse.parse_qs(fields.decode("ascii")).get("Action")
            if action:
                return action[0]
    return "unknown"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    finally:
        writer.close()


def _answer_json(writer: asyncio.StreamWriter, value: object) -> None:
    body = json.dumps(value).encode()
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


async def _serve(port: int, proxy: Proxy) -> None:
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", port)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    async with server:
        await stopping.wait()


def main() -> None:
    """Serve until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="listen on 127.0.0.1:PORT")
    parser.add_argument("--target", type=int, required=True, help="the emulator's port")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to each call")
    args = parser.parse_args()
    asyncio.run(_serve(args.port, Proxy(args.target, args.delay)))


if __name__ == "__main__":
    main()
