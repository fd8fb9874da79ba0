"""Application services: producing and consuming tasks through the ports only."""
