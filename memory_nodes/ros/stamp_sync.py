"""Approximate-time pairing of messages that belong to one camera frame.

`message_filters` is not installable from PyPI, so this keeps the last few messages of
each named stream keyed by stamp and hands out complete sets whose stamps agree within a
tolerance; sets that can no longer complete are dropped and counted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


class StampSynchronizer:
    """Calls `callback(dict name -> message)` when every stream has one for a stamp."""

    def __init__(self, streams: Sequence[str], callback: Callable[[dict[str, Any]], None],
                 tolerance: float = 0.02, depth: int = 10) -> None:
        self.streams = tuple(streams)
        self.callback = callback
        self.tolerance = tolerance
        self.depth = depth
        self._pending: dict[str, list[tuple[float, Any]]] = {s: [] for s in self.streams}
        self._lock = threading.Lock()
        self.matched = 0
        self.dropped = 0

    def add(self, stream: str, stamp: float, msg: Any) -> None:
        """Offer one message; completes and emits a set when possible."""
        ready = None
        with self._lock:
            queue = self._pending[stream]
            queue.append((stamp, msg))
            if len(queue) > self.depth:
                queue.pop(0)
                self.dropped += 1
            ready = self._match(stamp)
        if ready is not None:
            self.callback(ready)

    def _match(self, stamp: float) -> dict[str, Any] | None:
        picked = {}
        for name in self.streams:
            best = None
            for i, (t, m) in enumerate(self._pending[name]):
                if abs(t - stamp) <= self.tolerance and (best is None or
                                                         abs(t - stamp) < best[0]):
                    best = (abs(t - stamp), i, m)
            if best is None:
                return None
            picked[name] = best
        out = {}
        for name, (_, i, m) in picked.items():
            # Older unmatched messages of this stream will never complete: drop them.
            self.dropped += i
            out[name] = m
            del self._pending[name][:i + 1]
        self.matched += 1
        return out
