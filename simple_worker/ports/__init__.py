"""Ports: the small interfaces the services use and the adapters implement.

Protocols with domain types only and no behaviour, so an adapter need not inherit
from anything of ours.
"""
