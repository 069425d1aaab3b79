"""Least frequently used, with periodic aging so old popularity fades."""

from __future__ import annotations

from collections.abc import Iterator

from .base import EvictionPolicy, UseInfo, check_capacity


class LfuPolicy(EvictionPolicy):
    """Evict the resident key with the fewest uses; ties go to the least recently used.

    Exact semantics:
    * each resident key has a use count; admission sets it to 1, every read hit or merged
      write adds 1. Counts are for resident keys only: an evicted key starts over at 1;
    * a new key is always admitted and kept: when the buffer is full, the victim is the
      other resident key with the smallest count, ties broken by the oldest last use;
    * aging: every `aging_period` uses (admissions + accesses; default 10 x capacity)
      every resident count is halved, rounding down but never below 1, so that objects
      that were popular long ago can be displaced by today's.
    """

    name = 'lfu'

    def __init__(self, capacity: int, aging_period: int | None = None) -> None:
        super().__init__(capacity)
        self.aging_period = check_capacity(
            aging_period if aging_period is not None else 10 * capacity, 'aging_period')
        self._count: dict[str, int] = {}
        self._last: dict[str, int] = {}
        self._clock = 0
        self._uses_since_aging = 0

    def __contains__(self, key: object) -> bool:
        return key in self._count

    def __len__(self) -> int:
        return len(self._count)

    def keys(self) -> Iterator[str]:
        """Resident keys, next victim first."""
        return iter(sorted(self._count, key=lambda k: (self._count[k], self._last[k])))

    def count(self, key: str) -> int:
        """Current (aged) use count of a resident key, 0 if not resident."""
        return self._count.get(key, 0)

    def _tick(self) -> None:
        self._clock += 1
        self._uses_since_aging += 1
        if self._uses_since_aging >= self.aging_period:
            self._uses_since_aging = 0
            for k, c in self._count.items():
                self._count[k] = max(1, c // 2)

    def access(self, key: str, info: UseInfo) -> None:
        """Add one use to `key`."""
        if key not in self._count:
            return
        self._count[key] += 1
        self._last[key] = self._clock
        self._tick()

    def admit(self, key: str, info: UseInfo) -> list[str]:
        """Insert `key` with count 1; evict the least used keys while over capacity."""
        evicted = []
        # Make room first so the newcomer (count 1) is never its own victim.
        while len(self._count) >= self.capacity:
            victim = min(self._count, key=lambda k: (self._count[k], self._last[k]))
            del self._count[victim]
            del self._last[victim]
            evicted.append(victim)
        self._count[key] = 1
        self._last[key] = self._clock
        self._tick()
        return evicted

    def discard(self, key: str) -> None:
        """Drop `key` and its count."""
        self._count.pop(key, None)
        self._last.pop(key, None)
