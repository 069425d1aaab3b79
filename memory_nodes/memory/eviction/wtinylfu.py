"""Window TinyLFU: a recency window in front of a frequency-filtered segmented LRU."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from .base import EvictionPolicy, UseInfo
from .count_min_sketch import CountMinSketch


class WTinyLfuPolicy(EvictionPolicy):
    """W-TinyLFU (Einziger et al.), as KARMA compares it.

    Exact semantics:
    * the buffer is split into a window LRU of `window_size` keys and a main segmented
      LRU of `capacity - window_size` keys, itself split into `protected` (at most
      floor(`protected_fraction` x main) keys) and `probation` (the rest). With no
      explicit `window_size`, it is round(`window_fraction` x capacity) clamped to
      [1, capacity]; the default 0.9 gives KARMA's window 9 / main 1 at capacity 10;
    * every use of a key (read hit, merged write, admission, and lookup miss) is counted
      in a `CountMinSketch` (doorkeeper, 4-bit conservative counters, halving every
      `sample_factor` x capacity adds);
    * a hit in the window moves the key to the window's most recent end; a hit in
      probation promotes it to the most recent end of protected, and if protected is
      over its size its least recent key is demoted to the most recent end of
      probation; a hit in protected moves it to protected's most recent end;
    * a new key enters the window's most recent end. If the window is over size, its
      least recent key becomes the candidate. If main has room, the candidate enters
      probation. Otherwise the admission duel: the victim is probation's least recent key
      (protected's if probation is empty); the candidate is admitted to probation and
      the victim evicted only if the sketch estimates the candidate strictly more
      frequent, otherwise the candidate is evicted. With main size 0 the candidate is
      simply evicted.
    """

    name = 'wtinylfu'

    def __init__(
        self,
        capacity: int,
        window_size: int | None = None,
        window_fraction: float = 0.9,
        protected_fraction: float = 0.8,
        sample_factor: int = 10,
        sketch_width: int = 256,
    ) -> None:
        super().__init__(capacity)
        if window_size is None:
            if not 0.0 <= window_fraction <= 1.0:
                raise ValueError(f'window_fraction must be in [0, 1], got {window_fraction!r}')
            window_size = round(window_fraction * capacity)
        if isinstance(window_size, bool) or not isinstance(window_size, int):
            raise ValueError(f'window_size must be an integer, got {window_size!r}')
        if not 0.0 <= protected_fraction < 1.0:
            raise ValueError(
                f'protected_fraction must be in [0, 1), got {protected_fraction!r}')
        self.window_size = min(capacity, max(1, window_size))
        self.main_size = capacity - self.window_size
        self.protected_size = int(protected_fraction * self.main_size)
        self.sketch = CountMinSketch(
            sample_size=max(1, sample_factor) * capacity, width=sketch_width)
        self._window: OrderedDict[str, None] = OrderedDict()
        self._probation: OrderedDict[str, None] = OrderedDict()
        self._protected: OrderedDict[str, None] = OrderedDict()
        self.admitted = 0
        self.rejected = 0

    def __contains__(self, key: object) -> bool:
        return key in self._window or key in self._probation or key in self._protected

    def __len__(self) -> int:
        return len(self._window) + len(self._probation) + len(self._protected)

    def keys(self) -> Iterator[str]:
        """Resident keys: window, then probation, then protected, each least recent first."""
        return iter([*self._window, *self._probation, *self._protected])

    def segment(self, key: str) -> str | None:
        """'window', 'probation', 'protected' or None: where `key` lives."""
        for name, seg in (('window', self._window), ('probation', self._probation),
                          ('protected', self._protected)):
            if key in seg:
                return name
        return None

    def access(self, key: str, info: UseInfo) -> None:
        """Count the use and move `key` up its segment (probation hits get promoted)."""
        self.sketch.add(key)
        if key in self._window:
            self._window.move_to_end(key)
        elif key in self._protected:
            self._protected.move_to_end(key)
        elif key in self._probation:
            del self._probation[key]
            if self.protected_size == 0:
                self._probation[key] = None
                return
            self._protected[key] = None
            if len(self._protected) > self.protected_size:
                demoted, _ = self._protected.popitem(last=False)
                self._probation[demoted] = None

    def miss(self, key: str, info: UseInfo) -> None:
        """Count the lookup so a key asked for often wins its next admission duel."""
        self.sketch.add(key)

    def admit(self, key: str, info: UseInfo) -> list[str]:
        """Put `key` in the window; run the admission duel for the window's overflow."""
        self.sketch.add(key)
        self._window[key] = None
        if len(self._window) <= self.window_size:
            return []
        candidate, _ = self._window.popitem(last=False)
        if self.main_size == 0:
            return [candidate]
        if len(self._probation) + len(self._protected) < self.main_size:
            self._probation[candidate] = None
            return []
        victim_seg = self._probation if self._probation else self._protected
        victim = next(iter(victim_seg))
        if self.sketch.estimate(candidate) > self.sketch.estimate(victim):
            del victim_seg[victim]
            self._probation[candidate] = None
            self.admitted += 1
            return [victim]
        self.rejected += 1
        return [candidate]

    def discard(self, key: str) -> None:
        """Drop `key` from whichever segment holds it."""
        self._window.pop(key, None)
        self._probation.pop(key, None)
        self._protected.pop(key, None)
