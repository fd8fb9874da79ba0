import logging
import subprocess
import sys
import textwrap

from simple_worker import App
from simple_worker._logging import TextLogFormatter


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.setFormatter(TextLogFormatter())
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def test_every_text_line_of_a_task_carries_its_short_id(caplog):
    lines = Lines()
    for name in ("simple_worker", "shop"):
        logging.getLogger(name).addHandler(lines)
    caplog.set_level(logging.INFO)
    app = App(testing_mode=True)

    @app.register_task_handler("send_receipt")
    def send_receipt(order_id):
        logging.getLogger("shop").info("Sending the receipt of order %s", order_id)

    try:
        task_id = app.add_task("send_receipt", order_id=7)
        app.testing_worker().run_all()
        logging.getLogger("shop").info("After the task")
    finally:
        for name in ("simple_worker", "shop"):
            logging.getLogger(name).removeHandler(lines)

    tagged = [line for line in lines.lines if f"[task {task_id[:8]}] " in line]
    assert any(
        "shop: [task " in line and "Sending the receipt of order 7" in line for line in tagged
    )
    assert any(line.endswith("Processed task send_receipt successfully") for line in tagged)
    assert lines.lines[-1].endswith("shop: After the task")


def test_a_worker_made_from_code_logs_when_the_process_configured_no_logging():
    script = textwrap.dedent(
        """
        import threading
        from simple_worker import App

        app = App(testing_mode=True)
        app.register_task_handler("ping")(lambda: None)
        worker = app.worker(wait_seconds=0)
        threading.Timer(0.2, worker.stop).start()
        worker.start()
        """
    )

    result = subprocess.run(  # noqa: S603 - this interpreter, our script
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )

    assert " INFO [" in result.stderr
    assert "Worker started on default with 1 thread(s)" in result.stderr
    assert "Worker stopped" in result.stderr


def test_a_worker_made_from_code_keeps_the_logging_the_process_configured():
    script = textwrap.dedent(
        """
        import logging, threading
        from simple_worker import App

        logging.basicConfig(level="WARNING", format="custom %(message)s")
        app = App(testing_mode=True)
        app.register_task_handler("ping")(lambda: None)
        worker = app.worker(wait_seconds=0)
        threading.Timer(0.2, worker.stop).start()
        worker.start()
        """
    )

    result = subprocess.run(  # noqa: S603 - this interpreter, our script
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )

    assert "Worker started" not in result.stderr
