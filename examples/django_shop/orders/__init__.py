"""The orders app: a model, and the tasks that update it."""
