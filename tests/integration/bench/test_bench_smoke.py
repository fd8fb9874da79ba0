"""The benchmark's quick run: it completes, and the SQS call budgets hold.

Call counts are deterministic where a budget applies (a full backlog, an idle
worker's long polls), so this is no timed test: throughput figures are printed,
never asserted.
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
    assert figures["saturation"]["calls_per_task"] <= 0.21
    assert figures["enqueue"]["batched_calls_per_task"] <= 0.11
    assert figures["idle"]["receives_per_minute_per_queue"] <= 3.1
    assert all(run["tasks"] == figures["options"]["tasks"] for run in figures["drain"][:2])
