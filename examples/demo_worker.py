"""The demo's worker process: consumes until SIGTERM, then prints its SQS calls as JSON."""

from __future__ import annotations

import json
import logging
import sys

from demo_app import build_app

logging.basicConfig(level=logging.INFO, format="    worker | %(levelname)s %(message)s")
logging.getLogger("simple_worker.consumer._executor").setLevel(logging.WARNING)  # per task
logging.getLogger("botocore").setLevel(logging.WARNING)

app, calls = build_app()
app.worker(threads=4).start()
print(json.dumps(dict(calls)), file=sys.stdout, flush=True)
