"""scripts/demo's program runs the simple-worker command end to end on its own emulator."""

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).parents[2] / "examples" / "demo.py"


def test_the_demo_shows_the_commands_a_newcomer_needs_and_ends_cleanly():
    result = subprocess.run(  # noqa: S603 - our own demo
        [sys.executable, str(DEMO), "--tasks", "5"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    for command in ("queues create", "enqueue", "stats", "worker"):
        assert f"$ simple-worker {command} demo_app:app" in result.stdout
    assert "0 waiting, 1 dead-lettered" in result.stdout
    assert "The worker exited with status 0." in result.stdout
