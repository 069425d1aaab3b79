"""A bounded queue worker that keeps heavy per-frame work off the executor thread.

When frames arrive faster than they are processed, the oldest waiting frame is dropped
(stale data is worth less than fresh data) and counted, so a node can report its drop
rate instead of silently falling behind.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar('T')


class FrameWorker(Generic[T]):
    """Runs `handle(item)` on a thread for items put with `submit`, newest first kept."""

    def __init__(self, handle: Callable[[T], None], max_queue: int = 2,
                 name: str = 'frame-worker', on_error: Callable[[BaseException], None]
                 | None = None) -> None:
        if max_queue < 1:
            raise ValueError(f'max_queue must be >= 1, got {max_queue}')
        self._handle = handle
        self._on_error = on_error
        self._queue: collections.deque[T] = collections.deque()
        self._max = max_queue
        self._cv = threading.Condition()
        self._stop = False
        self.submitted = 0
        self.dropped = 0
        self.processed = 0
        self.failed = 0
        self.busy_s = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: T) -> bool:
        """Queue `item`; returns False when an older waiting item was dropped for it."""
        with self._cv:
            self.submitted += 1
            dropped = False
            while len(self._queue) >= self._max:
                self._queue.popleft()
                self.dropped += 1
                dropped = True
            self._queue.append(item)
            self._cv.notify()
        return not dropped

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                item = self._queue.popleft()
            t0 = time.perf_counter()
            try:
                self._handle(item)
                self.processed += 1
            except Exception as exc:  # noqa: BLE001 - a bad frame must not kill the worker
                self.failed += 1
                if self._on_error is not None:
                    self._on_error(exc)
            finally:
                self.busy_s += time.perf_counter() - t0

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until the queue is empty and the current item finished (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cv:
                idle = not self._queue
            if idle and self.processed + self.failed + self.dropped >= self.submitted:
                return True
            time.sleep(0.01)
        return False

    def stats(self) -> dict[str, float]:
        """Counters: submitted, processed, dropped, failed, drop_rate."""
        return {
            'submitted': self.submitted,
            'processed': self.processed,
            'dropped': self.dropped,
            'failed': self.failed,
            'drop_rate': self.dropped / self.submitted if self.submitted else 0.0,
            'busy_s': round(self.busy_s, 3),
        }

    def stop(self) -> None:
        """Stop the thread after the current item; waiting items are discarded."""
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=5.0)
