"""The benchmark's SQS: LocalStack or moto in its own process, behind a counting proxy.

The server runs in a separate process so that the worker's CPU figures are its
own. Every call reaches it through a proxy of ours (``proxy.py``, a process too)
that counts calls by action, whoever makes them (simple-worker, a peer library,
the benchmark itself), and can hold each request a fixed delay, as the network
to real SQS does (10-30 ms from a host, against about 1 ms on loopback).

- ``localstack``: LocalStack's ``localstack-core`` in host mode (no Docker), in
  a virtualenv the benchmark makes for it (it needs a newer Python than ours).
  Its cost per call does not grow with the queue's depth.
- ``moto``: moto's server from this environment; faithful, but every send and
  receive re-filters every message, so it suits small N only (CI's smoke run).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from venvs import VenvError, ensure_venv, find_python

HERE = Path(__file__).parent
KINDS = ("localstack", "moto")
LOCALSTACK_VERSION = "2026.3.0"
LOCALSTACK_REQUIREMENTS = [
    f"localstack-core[base-runtime]=={LOCALSTACK_VERSION}",
    # Without these caps localstack-core 2026.3 does not import: later releases of
    # them changed APIs it uses.
    "cbor2<5.7",
    "pyopenssl<24.3",
    "cryptography<44",
    "service_identity<24.2",
]
# localstack-core 2026.3 imports warnings.deprecated, new in Python 3.13.
LOCALSTACK_PYTHON = (3, 13)
_START_TIMEOUT = 180.0
"""Seconds LocalStack may take to report SQS healthy (imports are slow on a busy machine)."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclasses.dataclass(frozen=True)
class Emulator:
    """A running emulator: the proxy's endpoint URL, and the processes the benchmark started."""

    url: str
    kind: str
    server: subprocess.Popen[bytes]
    proxy: subprocess.Popen[bytes]

    @property
    def pids(self) -> list[int]:
        """The server's and the proxy's process ids (to pin them to a CPU)."""
        return [self.server.pid, self.proxy.pid]

    def calls(self) -> collections.Counter[str]:
        """Every SQS call made through the proxy so far, by action."""
        with urllib.request.urlopen(f"{self.url}/__bench/calls", timeout=10) as response:  # noqa: S310
            return collections.Counter(json.loads(response.read()))


@contextlib.contextmanager
def emulator(kind: str, *, delay: float = 0.0) -> Iterator[Emulator]:
    """Run an SQS emulator and its proxy on 127.0.0.1; yield them, then stop both.

    ``delay`` (seconds) is added to every request by the proxy. Raises
    ``VenvError`` with what to install if LocalStack cannot be set up.
    """
    proxy_port = free_port()
    server_port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as directory:
        log = Path(directory) / "server.log"
        if kind == "localstack":
            command, env = _localstack(server_port, proxy_port, Path(directory))
        elif kind == "moto":
            executable = shutil.which("moto_server", path=str(Path(sys.executable).parent))
            if executable is None:
                raise VenvError("moto_server is not installed: pip install 'moto[server]'")
            command, env = [executable, "-H", "127.0.0.1", "-p", str(server_port)], None
        else:
            raise ValueError(f"unknown emulator {kind!r}: choose one of {', '.join(KINDS)}")
        with log.open("wb") as log_file:
            server = _start(command, env=env, cwd=directory, output=log_file)
        try:
            _wait_until_healthy(kind, server, server_port, log)
            proxy = _start(
                [
                    *(sys.executable, str(HERE / "proxy.py"), "--port", str(proxy_port)),
                    *("--target", str(server_port), "--delay", str(delay)),
                ],
                env=None,
                cwd=directory,
                output=None,
            )
            try:
                _wait_for_port(proxy_port, proxy)
                yield Emulator(f"http://127.0.0.1:{proxy_port}", kind, server, proxy)
            finally:
                _stop(proxy)
        finally:
            _stop(server)


def _localstack(
    server_port: int, proxy_port: int, directory: Path
) -> tuple[list[str], dict[str, str]]:
    python = find_python(LOCALSTACK_PYTHON)
    if python is None:
        raise VenvError(
            "LocalStack needs Python {}.{}+ and none was found (tried python3.13 or later "
            "on PATH and pyenv's versions): install one (e.g. `pyenv install 3.13`), or set "
            "BENCH_PYTHON to its path, or run with --emulator moto (small N only).".format(
                *LOCALSTACK_PYTHON
            )
        )
    venv_python = ensure_venv("localstack", python, LOCALSTACK_REQUIREMENTS)
    env = {
        **os.environ,
        "SERVICES": "sqs",
        "EAGER_SERVICE_LOADING": "1",
        "GATEWAY_LISTEN": f"127.0.0.1:{server_port}",
        # Queue URLs name the proxy, so clients that address a queue by its URL
        # (kombu does) still go through it.
        "LOCALSTACK_HOST": f"127.0.0.1:{proxy_port}",
        "SQS_ENDPOINT_STRATEGY": "path",
        "DNS_ADDRESS": "0",  # no DNS server of its own
        "DISABLE_EVENTS": "1",  # no usage analytics
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "LS_LOG": "warn",  # no log line per request
        "FILESYSTEM_ROOT": str(directory / "localstack"),
    }
    return [str(venv_python), str(HERE / "localstack_main.py")], env


def _start(
    command: list[str],
    *,
    env: dict[str, str] | None,
    cwd: str,
    output: IO[bytes] | None,
) -> subprocess.Popen[bytes]:
    # A session of its own: stopping it stops whatever it started, and nothing else.
    return subprocess.Popen(  # noqa: S603 - LocalStack's, moto's or our own proxy
        command,
        env=env,
        cwd=cwd,
        stdout=output if output is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if output is not None else subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group we started, then SIGKILL it if it lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _wait_until_healthy(kind: str, server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    if kind == "moto":
        _wait_for_port(port, server)
        return
    deadline = time.monotonic() + _START_TIMEOUT
    url = f"http://127.0.0.1:{port}/_localstack/health"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"LocalStack exited with {server.returncode}:\n{tail}")
        if _sqs_healthy(url):
            return
        time.sleep(0.25)
    raise RuntimeError(f"LocalStack's SQS was not healthy after {_START_TIMEOUT:.0f} s; see {log}")


def _sqs_healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - http, ours
            return json.loads(response.read())["services"].get("sqs") in ("running", "available")
    except (OSError, ValueError):
        return False
