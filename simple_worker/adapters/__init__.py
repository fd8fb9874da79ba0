"""Adapters: everything that touches the outside world (SQS, memory, the clock, handlers)."""
