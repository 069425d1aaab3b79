"""Least recently used."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from .base import EvictionPolicy, UseInfo


class LruPolicy(EvictionPolicy):
    """Evict the key whose last use (read or write) is oldest.

    Exact semantics: every read hit and every merged write moves the key to the
    most-recent end; a new key is always admitted at the most-recent end, and while more
    than `capacity` keys are resident the least recently used one is evicted.
    """

    name = 'lru'

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        self._order: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._order

    def __len__(self) -> int:
        return len(self._order)

    def keys(self) -> Iterator[str]:
        """Resident keys, least recently used first."""
        return iter(list(self._order))

    def access(self, key: str, info: UseInfo) -> None:
        """Mark `key` most recently used."""
        if key in self._order:
            self._order.move_to_end(key)

    def admit(self, key: str, info: UseInfo) -> list[str]:
        """Insert `key` as most recent; evict least recent keys while over capacity."""
        self._order[key] = None
        evicted = []
        while len(self._order) > self.capacity:
            old, _ = self._order.popitem(last=False)
            evicted.append(old)
        return evicted

    def discard(self, key: str) -> None:
        """Drop `key`."""
        self._order.pop(key, None)
