"""The orders app: its tasks are registered when Django loads it."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    """Registers the task handlers once Django's app registry is ready."""

    name = "orders"

    def ready(self) -> None:
        """Import the tasks module: its decorators register the handlers."""
        from orders import tasks  # noqa: F401, PLC0415 - imported for its registrations
