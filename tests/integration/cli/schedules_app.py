"""An application with schedules, for the ``schedules`` command tests: ``schedules_app:app``.

Environment:

- ``CLI_TEST_PREFIX``: the queue prefix (each test uses its own).
- ``SCHEDULES_CRON``: the nightly report's cron (default ``0 2 * * ? *``).
- ``SCHEDULES_DROP``: when set, the ``every_5_minutes`` schedule is not declared.
- ``SCHEDULES_UNREGISTER``: when set, the ``cleanup`` task and its schedule are gone.
- ``SCHEDULES_BAD``: one bad declaration: ``unknown-task``, ``payload``, ``cron``,
  ``rate`` or ``timezone``.
"""

import os
from datetime import datetime, timezone

from simple_worker import App

app = App(queue_prefix=os.environ["CLI_TEST_PREFIX"])


@app.register_task_handler("nightly_report")
def nightly_report(kind):
    return kind


if not os.environ.get("SCHEDULES_UNREGISTER"):

    @app.register_task_handler("cleanup", queue="maintenance")
    def cleanup(older_than_days=30):
        return older_than_days


app.schedule(
    "nightly_report",
    cron=os.environ.get("SCHEDULES_CRON", "0 2 * * ? *"),
    timezone="Europe/Berlin",
    payload={"kind": "daily"},
)
if not os.environ.get("SCHEDULES_DROP"):
    app.schedule(
        "nightly_report",
        name="every_5_minutes",
        rate="5 minutes",
        payload={"kind": "frequent"},
        flexible_window=2,
    )
if not os.environ.get("SCHEDULES_UNREGISTER"):
    app.schedule(
        "cleanup", at=datetime(2030, 1, 1, 3, 0, tzinfo=timezone.utc), timezone="Europe/Berlin"
    )

bad = os.environ.get("SCHEDULES_BAD")
if bad == "unknown-task":
    app.schedule("no_such_task", rate="1 hour")
elif bad == "payload":
    app.schedule("nightly_report", name="bad", rate="1 hour", payload={"kynd": "typo"})
elif bad == "cron":
    app.schedule("nightly_report", name="bad", cron="0 2 * * * *", payload={"kind": "x"})
elif bad == "rate":
    app.schedule("nightly_report", name="bad", rate="1 minutes", payload={"kind": "x"})
elif bad == "timezone":
    app.schedule(
        "nightly_report",
        name="bad",
        cron="0 2 * * ? *",
        timezone="Mars/Olympus",
        payload={"kind": "x"},
    )
