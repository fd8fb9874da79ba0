import json
import logging

from simple_worker import JsonLogFormatter


def test_the_json_formatter_is_usable_from_code_with_the_stable_fields():
    logger = logging.getLogger("test_json_log")
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonLogFormatter())
    logger.addHandler(handler)
    try:
        logger.warning(
            "Processed task %s successfully",
            "t",
            extra={"task_name": "t", "task_id": "1", "duration": 0.25, "outcome": "succeeded"},
        )
    finally:
        logger.removeHandler(handler)

    entry = json.loads(lines[0])
    assert entry["message"] == "Processed task t successfully"
    assert (entry["task_name"], entry["duration"], entry["outcome"]) == ("t", 0.25, "succeeded")
    assert entry["logger"] == "test_json_log"
