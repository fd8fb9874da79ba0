"""The record file the command tests' apps write to: ``CLI_TEST_RECORD``, one JSON line per event.

Each line is one short ``O_APPEND`` write, so several worker processes (and an
event loop: it does not hold the loop up) can share the file.
"""

import json
import os


def append_record(**fields):
    line = json.dumps({**fields, "pid": os.getpid()}) + "\n"
    fd = os.open(os.environ["CLI_TEST_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
