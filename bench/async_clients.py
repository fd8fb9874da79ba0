"""Async SQS clients compared: aiobotocore against boto3 on a thread pool.

100 coroutines on one event loop each send messages one at a time (SendMessage)
through the client under test; figures: latency per call, CPU per task, and the
longest the loop was blocked (a probe sleeping 1 ms at a time). Run it with a
Python that has aiobotocore (it pins its own botocore, so a separate virtualenv):

    python bench/async_clients.py --endpoint http://127.0.0.1:PORT --queue NAME

``producers.py --async-clients-python PATH`` starts it against its emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

Send = Callable[[str], Awaitable[object]]


async def _measure(send: Send, coroutines: int, each: int) -> dict[str, Any]:
    latencies: list[float] = []
    lags: list[float] = []
    done = asyncio.Event()

    async def one() -> None:
        for n in range(each):
            began = time.perf_counter()
            await send(str(n))
            latencies.append(time.perf_counter() - began)

    async def probe() -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - before - 0.001)

    watcher = asyncio.create_task(probe())
    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(coroutines)))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    done.set()
    await watcher
    tasks = coroutines * each
    return {
        "tasks": tasks,
        "tasks_per_second": round(tasks / seconds),
        "cpu_ms_per_task": round(cpu / tasks * 1000, 3),
        "latency_ms_p50": round(statistics.median(latencies) * 1000, 1),
        "latency_ms_p99": round(sorted(latencies)[len(latencies) * 99 // 100] * 1000, 1),
        "loop_lag_ms_max": round(max(lags) * 1000, 1),
    }


async def aiobotocore_client(endpoint: str, url: str, coroutines: int, each: int) -> dict[str, Any]:
    """Await aiobotocore's SendMessage from each coroutine."""
    from aiobotocore.config import AioConfig  # noqa: PLC0415 - only in its own venv
    from aiobotocore.session import get_session  # noqa: PLC0415

    config = AioConfig(max_pool_connections=coroutines)
    async with get_session().create_client(
        "sqs", endpoint_url=endpoint, region_name="us-east-1", config=config
    ) as client:
        await client.send_message(QueueUrl=url, MessageBody="warm-up")
        return await _measure(
            lambda body: client.send_message(QueueUrl=url, MessageBody=body), coroutines, each
        )


async def thread_pool_client(endpoint: str, url: str, coroutines: int, each: int) -> dict[str, Any]:
    """boto3's SendMessage on a pool of ``coroutines`` threads, awaited by each coroutine."""
    from botocore.config import Config  # noqa: PLC0415

    client = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(max_pool_connections=coroutines),
    )
    client.send_message(QueueUrl=url, MessageBody="warm-up")
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(coroutines) as pool:
        return await _measure(
            lambda body: loop.run_in_executor(
                pool, lambda: client.send_message(QueueUrl=url, MessageBody=body)
            ),
            coroutines,
            each,
        )


def main() -> None:
    """Measure both clients against one queue; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--coroutines", type=int, default=100)
    parser.add_argument("--each", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    url = boto3.client("sqs", endpoint_url=args.endpoint, region_name="us-east-1").create_queue(
        QueueName=args.queue
    )["QueueUrl"]
    results = {}
    for name, scenario in (
        ("aiobotocore", aiobotocore_client),
        ("boto3_thread_pool", thread_pool_client),
    ):
        results[name] = asyncio.run(scenario(args.endpoint, url, args.coroutines, args.each))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
