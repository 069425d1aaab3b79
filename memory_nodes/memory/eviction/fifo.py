"""First-in-first-out with merge by object: KARMA's baseline."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from .base import EvictionPolicy, UseInfo


class FifoMergePolicy(EvictionPolicy):
    """FIFO over entries, where a newer fact about an object replaces its old entry.

    Exact semantics:
    * keys are kept in a queue ordered by the time their current entry was written;
    * a write to a resident key replaces the entry, so the key moves to the tail of the
      queue (as if the old entry were removed and the new one appended);
    * a read of a resident key changes nothing (FIFO ignores reads);
    * admitting a new key appends it at the tail; while the queue is longer than
      `capacity`, the head (oldest write) is evicted. A new key is always admitted.
    """

    name = 'fifo'

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        self._queue: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._queue

    def __len__(self) -> int:
        return len(self._queue)

    def keys(self) -> Iterator[str]:
        """Resident keys, oldest write first."""
        return iter(list(self._queue))

    def access(self, key: str, info: UseInfo) -> None:
        """Re-queue `key` at the tail on a write; ignore reads."""
        if info.kind == 'write' and key in self._queue:
            self._queue.move_to_end(key)

    def admit(self, key: str, info: UseInfo) -> list[str]:
        """Append `key` and evict from the head while over capacity."""
        self._queue[key] = None
        evicted = []
        while len(self._queue) > self.capacity:
            old, _ = self._queue.popitem(last=False)
            evicted.append(old)
        return evicted

    def discard(self, key: str) -> None:
        """Drop `key` from the queue."""
        self._queue.pop(key, None)
