"""A small count-min sketch with a doorkeeper and periodic halving (TinyLFU's estimator)."""

from __future__ import annotations

import zlib

from .base import check_capacity

_MAX_CACHED_KEYS = 4096


class CountMinSketch:
    """Approximate, aging use counts of keys in fixed memory.

    Exact semantics:
    * `depth` rows of `width` counters; a key maps to one counter per row through
      deterministic CRC32 double hashing (the same key lands on the same counters in
      every process, unlike Python's salted `hash`);
    * doorkeeper: a Bloom filter of `doorkeeper_bits` bits and 2 hashes sits in front.
      `add(key)` of a key the doorkeeper has not seen only sets its bits; later adds go
      to the counters. So one-off keys never occupy counters;
    * counter updates are conservative: only the key's counters equal to its current
      minimum are incremented, and counters saturate at `max_count` (15, 4-bit);
    * `estimate(key)` = min of the key's counters + 1 if the doorkeeper holds the key;
    * aging: every `sample_size` calls to `add` (doorkeeper-only adds included), all
      counters are halved (integer division), the doorkeeper is cleared and the add
      count starts again from 0. `resets` counts these halvings.
    """

    def __init__(
        self,
        sample_size: int,
        width: int = 256,
        depth: int = 4,
        max_count: int = 15,
        doorkeeper_bits: int | None = None,
    ) -> None:
        self.sample_size = check_capacity(sample_size, 'sample_size')
        self.width = check_capacity(width, 'width')
        self.depth = check_capacity(depth, 'depth')
        self.max_count = check_capacity(max_count, 'max_count')
        self.doorkeeper_bits = check_capacity(
            doorkeeper_bits if doorkeeper_bits is not None else 4 * width, 'doorkeeper_bits')
        self._rows = [[0] * self.width for _ in range(self.depth)]
        self._door = bytearray(self.doorkeeper_bits)
        self._index_cache: dict[str, tuple[tuple[int, ...], tuple[int, int]]] = {}
        self.additions = 0
        self.resets = 0

    def _indices(self, key: str) -> tuple[tuple[int, ...], tuple[int, int]]:
        cached = self._index_cache.get(key)
        if cached is not None:
            return cached
        data = key.encode('utf-8')
        h1 = zlib.crc32(data)
        h2 = zlib.crc32(data, 0x9E3779B9) | 1  # odd, so rows never collapse onto h1
        rows = tuple((h1 + i * h2) % self.width for i in range(self.depth))
        door = (h1 % self.doorkeeper_bits, (h2 >> 3) % self.doorkeeper_bits)
        if len(self._index_cache) >= _MAX_CACHED_KEYS:
            self._index_cache.clear()
        self._index_cache[key] = (rows, door)
        return rows, door

    def in_doorkeeper(self, key: str) -> bool:
        """Whether the doorkeeper has (probably) seen `key` since the last halving."""
        _, (a, b) = self._indices(key)
        return bool(self._door[a] and self._door[b])

    def add(self, key: str) -> None:
        """Count one use of `key`."""
        rows, (a, b) = self._indices(key)
        if not (self._door[a] and self._door[b]):
            self._door[a] = 1
            self._door[b] = 1
        else:
            current = min(self._rows[i][j] for i, j in enumerate(rows))
            if current < self.max_count:
                for i, j in enumerate(rows):
                    if self._rows[i][j] == current:
                        self._rows[i][j] = current + 1
        self.additions += 1
        if self.additions >= self.sample_size:
            self.halve()

    def estimate(self, key: str) -> int:
        """Estimated use count of `key` since aging (doorkeeper bit included)."""
        rows, (a, b) = self._indices(key)
        base = min(self._rows[i][j] for i, j in enumerate(rows))
        return base + (1 if (self._door[a] and self._door[b]) else 0)

    def halve(self) -> None:
        """Age the sketch now: halve every counter, clear the doorkeeper, restart the count."""
        for row in self._rows:
            for j, c in enumerate(row):
                if c:
                    row[j] = c >> 1
        self._door = bytearray(self.doorkeeper_bits)
        self.additions = 0
        self.resets += 1
