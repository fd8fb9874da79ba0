"""The producer: validates tasks and sends them through the queue port. Private."""
