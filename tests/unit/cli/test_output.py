"""What the commands print: the stats table and JSON, and JSON log lines."""

import json
import logging
import sys
from datetime import datetime, timezone

from simple_worker import JsonLogFormatter as JsonFormatter
from simple_worker.cli._stats import QueueCounts, render_json, render_table
from simple_worker.ports.queue import QueueStats

ROWS = [
    QueueCounts(
        "p-default",
        QueueStats(12, 3, 0),
        dead_letter=QueueCounts("p-default-dlq", QueueStats(2, 0, 1)),
    ),
    QueueCounts("p-missing", error="does not exist"),
    QueueCounts("p-bare", QueueStats(0, 0, 0)),
]


def test_the_table_shows_each_queue_then_its_dead_letter_queue():
    assert render_table(ROWS).splitlines() == [
        "QUEUE                            VISIBLE  IN FLIGHT    DELAYED",
        "p-default                             12          3          0",
        "  dead letters: p-default-dlq          2          0          1",
        "p-missing                      does not exist",
        "p-bare                                 0          0          0",
    ]


def test_the_json_nests_each_dead_letter_queue_under_its_queue():
    report = json.loads(render_json(ROWS, datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)))

    assert report == {
        "time": "2026-11-29T10:00:00Z",
        "queues": [
            {
                "queue": "p-default",
                "visible": 12,
                "in_flight": 3,
                "delayed": 0,
                "dead_letter_queue": {
                    "queue": "p-default-dlq",
                    "visible": 2,
                    "in_flight": 0,
                    "delayed": 1,
                },
            },
            {"queue": "p-missing", "error": "does not exist"},
            {
                "queue": "p-bare",
                "visible": 0,
                "in_flight": 0,
                "delayed": 0,
                "dead_letter_queue": None,
            },
        ],
    }


def boom():
    raise ValueError("boom")


def failure():
    try:
        boom()
    except ValueError:
        return sys.exc_info()


def record(message="Processed task %s", args=("t",), exc_info=None, **extra):
    entry = logging.LogRecord("simple_worker.x", logging.INFO, __file__, 1, message, args, exc_info)
    entry.created = 1_795_946_400.123
    for key, value in extra.items():
        setattr(entry, key, value)
    return entry


def test_a_json_log_line_has_the_standard_fields_and_every_extra_field():
    line = JsonFormatter().format(
        record(task_name="t", task_id="abc", queue="p-default", receive_count=2)
    )

    entry = json.loads(line)
    assert "\n" not in line
    assert entry.pop("process") > 0
    assert entry == {
        "timestamp": "2026-11-29T10:00:00.123Z",
        "level": "INFO",
        "logger": "simple_worker.x",
        "message": "Processed task t",
        "task_name": "t",
        "task_id": "abc",
        "queue": "p-default",
        "receive_count": 2,
    }


def test_an_exception_is_a_string_field_and_odd_values_become_strings():
    exc_info = failure()

    entry = json.loads(JsonFormatter().format(record(exc_info=exc_info, when={1, 2}.__class__)))

    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].endswith("ValueError: boom")
    assert entry["when"] == "<class 'set'>"
