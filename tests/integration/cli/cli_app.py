"""An application for the command-line tests; its queue prefix comes from the environment."""

import os
from pathlib import Path

from simple_worker import App

app = App.init(queue_prefix=os.environ["CLI_TEST_PREFIX"])
not_an_app = "just a string"


@app.register_task_handler("touch")
def touch(path):
    Path(path).write_text("ran", encoding="utf-8")
