"""The benchmark's quick run: it completes, and the SQS call budgets hold.

Call counts are deterministic where a budget applies (a full backlog, an idle
worker's long polls), so this is no timed test: throughput figures are printed,
never asserted. The receive-count measurement gets a small run too: its figures
depend on timing, so only their consistency is asserted.
"""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[3] / "bench" / "run.py"


def test_the_quick_benchmark_completes_within_its_call_budgets(tmp_path):
    out = tmp_path / "bench.json"

    result = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(BENCH), "--quick", "--check", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(out.read_text(encoding="utf-8"))
    # The floor is 0.2 (a receive and a delete per ten); the last receives come back short.
    assert figures["saturation"]["calls_per_task"] <= 0.2 + 10 / figures["saturation"]["tasks"]
    assert figures["enqueue"]["batched_calls_per_task"] <= 0.11
    assert figures["idle"]["receives_per_minute_per_queue"] <= 3.1
    # A worker stops at N and lets running tasks finish: a message delivered twice
    # (SQS delivers at least once) can make its count exceed N, never fall short.
    assert all(run["tasks"] >= figures["options"]["tasks"] for run in figures["drain"][:2])


def test_the_receive_counts_script_completes_and_counts_every_task(tmp_path):
    out = tmp_path / "receive_counts.json"
    script = BENCH.with_name("receive_counts.py")
    options = ["--workers", "2", "--threads", "2", "--task-seconds", "0.05", "--kills", "2"]
    options += ["--kill-every", "2", "--backlog", "20", "--visibility", "1", "--emulator", "moto"]

    result = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(script), *options, "--buffer-sizes", "4", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = json.loads(out.read_text(encoding="utf-8"))["runs"]
    assert (run["buffer_size"], run["kills"]) == (4, 2)
    assert sum(run["first_completion_receive_counts"].values()) == run["tasks"] > 0
    assert run["runs"] >= run["tasks"]
    assert "first completion on receive" in result.stdout
