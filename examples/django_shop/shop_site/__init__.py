"""The example Django project: settings, and the worker's entry point."""
