"""simple-worker."""
