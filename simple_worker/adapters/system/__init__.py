"""The operating system: the system clock and signal handling. Private."""
