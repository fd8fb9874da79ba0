"""Ports: the small interfaces the consumer and producer use and the adapters implement.

Protocols with domain types only and no behaviour, so an adapter need not inherit
from anything of ours. Public: a third-party adapter implements them (and proves
itself with the contract suites in `simple_worker.testing`).
"""
