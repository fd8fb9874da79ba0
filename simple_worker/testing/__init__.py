"""Support for testing code that uses simple-worker, and adapters of its ports."""
