"""A command whose stdout's reader goes away (``| head -1``) stops quietly, status 141."""

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
COMMAND = [sys.executable, "-m", "simple_worker"]


@pytest.mark.parametrize("command", [["check"], ["stats"]])
def test_a_closed_stdout_stops_the_command_quietly(cli_env, create_queue, command):
    create_queue("default")
    process = subprocess.Popen(  # noqa: S603 - our own command
        [*COMMAND, *command, "cli_app:app"],
        cwd=HERE,
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # as `| head -1` does once it has its line (here: before any)

    status = process.wait(timeout=60)
    stderr = process.stderr.read().decode()
    process.stderr.close()

    assert status == 141
    assert "Traceback" not in stderr
    assert "BrokenPipeError" not in stderr
