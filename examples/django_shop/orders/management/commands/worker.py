"""``python manage.py worker``: run the simple-worker worker inside Django.

The same as ``simple-worker worker 'shop_site.worker:create_app()'``, with Django's
own command line; it stops gracefully on SIGTERM/SIGINT.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from orders.tasks import tasks


class Command(BaseCommand):
    """Consume the app's task queues until SIGTERM or SIGINT."""

    help = "Consume the task queues until SIGTERM or SIGINT."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Add ``--threads``."""
        parser.add_argument("-t", "--threads", type=int, default=1, help="tasks run at once")

    def handle(self, *args: Any, **options: Any) -> None:  # noqa: ANN401 - Django's signature
        """Run the worker until it stops."""
        tasks.worker(threads=options["threads"]).start()
