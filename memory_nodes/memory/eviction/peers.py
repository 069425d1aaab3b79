"""Production cache libraries as short-term memory policies: the baselines we compare to.

Each class here lets a library's own cache decide which object ids stay, so the library's
eviction (and admission) runs unchanged while everything else is the same code our own
policies run in. A peer plugs into `ShortTermMemory` as its `EvictionPolicy`:

* the buffer keeps object id -> latest state and applies the same write filter to every
  policy (a write older than the resident entry, or a duplicate within
  `duplicate_window_s`, is dropped and never reaches the policy);
* a write of a resident object merges into its entry and is passed to the library as an
  update of that key (`cache[key] = value`, theine's `set`), a write of a new object as an
  insert; the library's evictions (the new key itself included, when its admission
  filter rejects it) leave the buffer;
* a query (`contains_for_query`, what `memory_nodes.memory.traces.replay` counts) is a hit
  exactly when the object is resident in the library's cache; a hit is passed to the
  library as a read (`cache[key]`, theine's `access`), a miss as what a library `get` of a
  missing key does: nothing, in both libraries.

The libraries are imported lazily, so the core never needs them unless a peer is built.

* `cachetools_lru`, `cachetools_lfu`, `cachetools_fifo`: `cachetools.LRUCache`,
  `LFUCache`, `FIFOCache` (items of size 1, `maxsize` = capacity);
* `theine`: theine 2's W-TinyLFU (`theine_core.TlfuCore`, the Rust policy behind
  `theine.Cache`; window starting at 1 % and adapted by hill climbing). theine 2 offers no
  other policy. Its `Cache` front end delays reads in per-thread striped buffers (a
  randomly chosen stripe of 16 is handed to the policy when full) for concurrency; here
  every read reaches the policy at once, as in a single-threaded cache, so a replay is
  deterministic on our side. Keys are hashed with BLAKE2b (64 bits) instead of Python's
  per-process salted `hash`, for the same reason. theine's frequency sketch still hashes
  with a random seed of its own per cache, so its hit rate varies a little from one replay
  of the same trace to the next (about +-0.01 at capacity 10 on household traces): report
  a mean over several replays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, ClassVar

from .base import EvictionPolicy, UseInfo


def _recording(cls: type) -> type:
    """A subclass of cachetools cache `cls` that records the keys it evicts."""

    class Recording(cls):  # type: ignore[misc,valid-type]
        evicted: list[Any]

        def popitem(self) -> tuple[Any, Any]:
            key, value = super().popitem()
            self.evicted.append(key)
            return key, value

    Recording.__name__ = f'Recording{cls.__name__}'
    return Recording


class CachetoolsPolicy(EvictionPolicy):
    """A `cachetools` cache (LRU, LFU or FIFO) of `capacity` items deciding residency.

    Reads of resident keys are `cache[key]`, writes `cache[key] = info`; a new key is
    always admitted and the library's `popitem` picks each victim (LRU: least recently
    read or written; LFU: fewest uses since insertion, least recent on ties; FIFO: oldest
    insertion, merges do not refresh it).
    """

    name: ClassVar[str] = 'cachetools'
    kinds: ClassVar[tuple[str, ...]] = ('lru', 'lfu', 'fifo')

    def __init__(self, capacity: int, kind: str = 'lru') -> None:
        super().__init__(capacity)
        import cachetools

        if kind not in self.kinds:
            raise ValueError(f'kind must be one of {self.kinds}, got {kind!r}')
        cls = {'lru': cachetools.LRUCache, 'lfu': cachetools.LFUCache,
               'fifo': cachetools.FIFOCache}[kind]
        self.kind = kind
        self.cache = _recording(cls)(maxsize=capacity)
        self.cache.evicted = []

    def __contains__(self, key: object) -> bool:
        return key in self.cache

    def __len__(self) -> int:
        return len(self.cache)

    def keys(self) -> Iterator[str]:
        """Resident keys in the library's storage order (insertion)."""
        return iter(list(self.cache))

    def access(self, key: str, info: UseInfo) -> None:
        """A read hit is a library get, a merged write a library set of the same key."""
        if key not in self.cache:
            return
        if info.kind == 'read':
            self.cache[key]  # noqa: B018 - a get is how the library learns of a use
        else:
            self.cache.evicted = []
            self.cache[key] = info
            if self.cache.evicted:  # never for items of size 1, but never silently either
                raise RuntimeError(f'{self.kind} evicted {self.cache.evicted} on an update')

    def admit(self, key: str, info: UseInfo) -> list[str]:
        """Insert `key`; return what the library evicted to make room."""
        self.cache.evicted = []
        self.cache[key] = info
        return list(self.cache.evicted)

    def discard(self, key: str) -> None:
        """Drop `key` from the library's cache."""
        self.cache.pop(key, None)


class CachetoolsLruPolicy(CachetoolsPolicy):
    """`cachetools.LRUCache` (name 'cachetools_lru')."""

    name = 'cachetools_lru'

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity, 'lru')


class CachetoolsLfuPolicy(CachetoolsPolicy):
    """`cachetools.LFUCache` (name 'cachetools_lfu')."""

    name = 'cachetools_lfu'

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity, 'lfu')


class CachetoolsFifoPolicy(CachetoolsPolicy):
    """`cachetools.FIFOCache` (name 'cachetools_fifo')."""

    name = 'cachetools_fifo'

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity, 'fifo')


def stable_hash(key: str) -> int:
    """A process-independent signed 64-bit hash of `key` (theine wants Python-like hashes)."""
    return int.from_bytes(hashlib.blake2b(key.encode('utf-8'), digest_size=8).digest(),
                          'little', signed=True)


class TheinePolicy(EvictionPolicy):
    """theine 2's W-TinyLFU (`theine_core.TlfuCore`) deciding residency (name 'theine').

    A new key is `set` (it enters the window; the library's admission duel may evict
    another key or reject the window's overflow), a merged write is `set` of the resident
    key, a read hit is `access`. `window_len()` is the library's current window size.
    """

    name = 'theine'

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        from theine_core import TlfuCore, spread

        self._spread = spread
        self.core = TlfuCore(capacity)
        self._keys: dict[int, str] = {}
        self._hash: dict[str, int] = {}

    def _kh(self, key: str) -> int:
        kh = self._hash.get(key)
        if kh is None:
            kh = self._spread(stable_hash(key))
            if len(self._hash) > 1 << 16:
                self._hash.clear()
            self._hash[key] = kh
        return kh

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._kh(key) in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def keys(self) -> Iterator[str]:
        """Resident keys (no particular order)."""
        return iter(list(self._keys.values()))

    def window_len(self) -> int:
        """Keys in the library's window segment now (it adapts the window's size)."""
        return int(self.core.debug_info().window_len)

    def _set(self, key: str) -> list[str]:
        kh = self._kh(key)
        other = self._keys.get(kh)
        if other is not None and other != key:
            raise RuntimeError(f'64-bit hash collision of {key!r} and {other!r}')
        self._keys[kh] = key
        evicted = []
        for gone in self.core.set([(kh, 0)]):
            name = self._keys.pop(gone, None)
            if name is not None:
                evicted.append(name)
        return evicted

    def access(self, key: str, info: UseInfo) -> None:
        """A read hit is the library's `access`, a merged write its `set` of the key."""
        kh = self._kh(key)
        if kh not in self._keys:
            return
        if info.kind == 'read':
            self.core.access([kh])
        elif self._set(key):
            raise RuntimeError(f'theine evicted on an update of {key!r}')

    def admit(self, key: str, info: UseInfo) -> list[str]:
        """`set` the new key; return what the library evicted (maybe `key` itself)."""
        return self._set(key)

    def discard(self, key: str) -> None:
        """Remove `key` from the library's policy."""
        kh = self._kh(key)
        if self._keys.pop(kh, None) is not None:
            self.core.remove(kh)


PEER_POLICIES: dict[str, type[EvictionPolicy]] = {
    cls.name: cls for cls in (TheinePolicy, CachetoolsLruPolicy, CachetoolsLfuPolicy,
                              CachetoolsFifoPolicy)
}
PEER_NAMES: tuple[str, ...] = tuple(PEER_POLICIES)

__all__ = ['PEER_NAMES', 'PEER_POLICIES', 'CachetoolsFifoPolicy', 'CachetoolsLfuPolicy',
           'CachetoolsLruPolicy', 'CachetoolsPolicy', 'TheinePolicy', 'stable_hash']
