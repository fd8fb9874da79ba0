"""A worker process rides out an SQS endpoint outage (the proxy refusing connections).

While the endpoint is down, each failing receive has already been retried by
botocore (5 attempts); the worker then backs off (1 s doubling to 30 s, jittered),
logs the failure once per 30 s, and receives again on its own once the endpoint is
back. Tasks sent while it was down (straight to moto) and after it came back run.
"""

from __future__ import annotations

import re
import time

OUTAGE_SECONDS = 5.0


def test_a_worker_rides_out_an_outage_with_few_log_lines_backs_off_and_resumes(
    proxy,
    default_queue,
    start_worker,
    tmp_path,
    prefix,
    producer_for,
    moto_server,
    sqs_client,
    records,
    counts,
    waiter,
):
    queue_url = default_queue(VisibilityTimeout=5)
    record_file = tmp_path / "records.jsonl"
    worker = start_worker(proxy.url, record_file, threads=2, wait_seconds=2)
    straight_to_moto = producer_for(prefix, moto_server)
    through_proxy = producer_for(prefix, proxy.url)
    through_proxy.add_task("record", n=0)
    waiter(lambda: counts(sqs_client, queue_url) == (0, 0), 20, "task 0 to run and be deleted")

    proxy.go_down()
    down_at = time.monotonic()
    straight_to_moto.add_tasks("record", [{"n": n} for n in range(1, 11)])
    waiter(lambda: " ERROR " in worker.log(), 20, "the worker to log the failing receive")
    time.sleep(max(OUTAGE_SECONDS - (time.monotonic() - down_at), 0))  # the outage itself
    proxy.come_up()
    through_proxy.add_tasks("record", [{"n": n} for n in range(11, 21)])

    def ran():
        return {record["n"] for record in records(record_file, "end")}

    waiter(lambda: ran() == set(range(21)), 40, lambda: f"every task to run; ran {sorted(ran())}")
    waiter(lambda: counts(sqs_client, queue_url) == (0, 0), 20, "every message to be deleted")
    assert worker.running()
    assert worker.stop() == 0

    log = worker.log()
    after_start = log.split("Worker started", 1)[1]
    library_lines = [
        line
        for line in after_start.splitlines()
        if re.search(r" (WARNING|ERROR) simple_worker", line)
    ]
    assert len(library_lines) == 1, "one line for the whole outage:\n" + "\n".join(library_lines)
    assert "Receiving from " + prefix + "default failed (1 time(s) in a row)" in library_lines[0]
    assert "Traceback" not in log
    failures = int(re.search(r"works again after (\d+) failure\(s\)", log).group(1))
    # Backing off 1, 2, 4 s (times 0.5 to 1): a few failed calls in a 5-second outage,
    # where retrying without a pause would make hundreds.
    assert 2 <= failures <= 6, failures
    attempts = log.count(
        "Sending http request: <AWSPreparedRequest stream_output=False, method=POST"
    )
    calls = log.count("Making request for OperationModel(name=ReceiveMessage)")
    assert attempts < 5 * calls + 50, "botocore attempts stay bounded by 5 per call"
    assert sorted(r["n"] for r in records(record_file, "end")) == list(range(21)), "ran once each"
