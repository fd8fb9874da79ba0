"""Start LocalStack's runtime in this process (host mode, no Docker) on GATEWAY_LISTEN's address.

Run by ``emulator.py`` with the interpreter of the virtualenv it made for
LocalStack. LocalStack's gateway binds every IPv4 interface whatever host
``GATEWAY_LISTEN`` names; the benchmark's servers listen on 127.0.0.1 only, so
its TCP endpoints are given that host before the runtime starts.
"""

from __future__ import annotations

import functools
import os
import runpy

from twisted.internet import endpoints

host = os.environ["GATEWAY_LISTEN"].rpartition(":")[0]
endpoints.TCP4ServerEndpoint = functools.partial(  # type: ignore[misc]
    endpoints.TCP4ServerEndpoint, interface=host
)
runpy.run_module("localstack.runtime.main", run_name="__main__", alter_sys=True)
