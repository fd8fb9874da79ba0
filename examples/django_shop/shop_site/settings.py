"""Settings of the example Django project: the parts simple-worker needs, and a database.

From the environment: ``SHOP_DATABASE`` (the SQLite file), ``SHOP_QUEUE_PREFIX``, and
``SHOP_TASKS_TESTING=1`` for in-memory queues in tests; AWS's own variables
(``AWS_REGION``, ``AWS_ENDPOINT_URL_SQS``, credentials) for SQS.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["orders.apps.OrdersConfig"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SHOP_DATABASE", str(BASE_DIR / "db.sqlite3")),
        # 0, Django's default: a connection lasts one request, or here one task.
        "CONN_MAX_AGE": 0,
    }
}

# The options of the simple-worker App (orders/tasks.py).
SIMPLE_WORKER = {
    "queue_prefix": os.environ.get("SHOP_QUEUE_PREFIX", "shop-"),
    "testing_mode": os.environ.get("SHOP_TASKS_TESTING") == "1",
}
