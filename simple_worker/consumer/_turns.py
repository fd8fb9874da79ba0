"""Whose buffered message a task thread takes next: weighted turns between queues. Pure.

Smooth weighted round robin, as nginx balances upstream servers: among the
queues that have a message ready, each gains its weight at every turn, the one
with the most takes the turn and pays back the sum of their weights. With
weights 3 and 1 and both queues ready, turns go A A B A, A A B A, ...: three in
four to A, spread out rather than in runs. A queue with nothing ready takes no
part, so weights never hold a thread back from work that is there; equal
weights (the default) take turns one by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class WeightedTurns:
    """Picks the next queue among those ready; not thread-safe (the caller holds a lock)."""

    def __init__(self, weights: Mapping[str, int]) -> None:
        self._weights = dict(weights)
        self._credit = dict.fromkeys(weights, 0)

    def next(self, ready: Sequence[str]) -> str:
        """Return which of ``ready`` (one or more queue names) takes this turn."""
        if len(ready) == 1:
            return ready[0]  # its credit would rise and fall by the same weight
        total = 0
        chosen = ready[0]
        for name in ready:
            weight = self._weights[name]
            self._credit[name] += weight
            total += weight
            if self._credit[name] > self._credit[chosen]:
                chosen = name
        self._credit[chosen] -= total
        return chosen
