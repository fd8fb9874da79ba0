"""The worker's entry point for the ``simple-worker`` command.

::

    simple-worker worker 'shop_site.worker:create_app()' --threads 4

The factory sets Django up (settings, apps, ``AppConfig.ready``) before it hands
over the App, as ``manage.py`` would. ``python manage.py worker`` does the same
from Django's side.
"""

import os

import django

from simple_worker import App


def create_app() -> App:
    """Set Django up and return the App whose tasks the worker runs."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_site.settings")
    django.setup()
    from orders.tasks import tasks  # noqa: PLC0415 - models import only after setup()

    return tasks
