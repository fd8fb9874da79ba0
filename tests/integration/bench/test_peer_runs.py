"""bench/peer_runs.py measures simple-worker through the peer scripts' workload.

Only simple-worker runs here: each peer library needs a virtualenv of its own,
which CI does not make. Figures are printed, never asserted; what is asserted
is that every task ran, and that the calls counted by the proxy add up.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[3] / "bench"))
from emulator import emulator
from peer_runs import compare_peers, print_peer_table


def test_simple_worker_runs_the_peer_workload_and_its_calls_are_counted(capsys):
    args = argparse.Namespace(peers=[], peer_tasks=30, single_sends=5, latency_ms=0.0, pin=False)
    with emulator("moto") as server:
        results = compare_peers(server, args)
    print_peer_table(results, args)

    ours = results["libraries"]["simple-worker"]
    assert len(ours["runs"]) == 3
    for run in ours["runs"]:
        assert run["left_on_queue"] == 0
        assert run["produce_calls"]["SendMessageBatch"] == 3
        assert run["batched_calls_per_task"] == 0.1
        assert run["single_calls_per_task"] == 1
        assert run["drain_calls"]["ReceiveMessage"] >= 3
        assert run["drain_calls"]["DeleteMessageBatch"] >= 3
    assert "drain, tasks/s" in capsys.readouterr().out
