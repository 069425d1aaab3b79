"""Micro-benchmark: "where was it a moment ago" (`past` vs `as_of`) while fusion runs.

A home of `objects` confirmed objects (`load.build_memory`, in a real SQLite file) is fed
frames every `frame_s` seconds of stamp time: `per_frame` objects re-seen as the load
test's camera does, and `moving` objects carried 0.4 m away or back (a state change with
a new position, so each is a new version in the timeline: the load test's few-cm drift
makes none). Between two frames `asks` past views
are asked for a stamp drawn uniformly from [now - `oldest_s`, now - `newest_s`], and the
time of each call is measured, for the cached view (`LongTermMemory.past`) and for the
independent copy (`LongTermMemory.as_of`).

`python -m memory_nodes.evaluation.reliability.past_bench [objects] [frames]` prints one
JSON line with the milliseconds per call of both and how many `past` calls rolled the
cached view instead of rebuilding it.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from memory_nodes.evaluation.reliability.load import _observation, build_memory, grid_side


def measure(objects: int = 1000, frames: int = 60, per_frame: int = 20, moving: int = 2,
            frame_s: float = 0.2, asks: int = 3, oldest_s: float = 5.0,
            newest_s: float = 0.5, seed: int = 0) -> dict[str, Any]:
    """Milliseconds per `past` and per `as_of` call (mean, p50, p99) and the roll count."""
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.long_term import LongTermMemory
    from memory_nodes.memory.state_change import StateChange

    rng = np.random.default_rng(seed)
    side = grid_side(objects)
    start = 1_000_000.0
    times: dict[str, list[float]] = {'past': [], 'as_of': []}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / 'home.db'
        build_memory(objects, db, start, seed)
        cfg = LongTermMemoryConfig()
        cfg.embedder.backend = 'hashing'
        mem = LongTermMemory(cfg, db_path=db)
        warm = int(oldest_s / frame_s) + 1
        ids = sorted(n.id for n in mem.graph.layer('object'))
        try:
            for f in range(warm + frames):
                now = start + f * frame_s
                seen = rng.choice(objects, per_frame, replace=False)
                mem.integrate([_observation(int(i), side, rng, now) for i in seen])
                for _ in range(moving):
                    node = mem.graph.get(ids[int(rng.integers(len(ids)))])  # merges
                    if node is None:
                        continue
                    away = 0.4 if node.position[2] < 1.0 else -0.4  # up a shelf or down
                    mem.record_state_change(StateChange(
                        node.label, now, object_id=node.id,
                        position=tuple(node.position + (0.0, 0.0, away))))
                if f < warm:
                    continue
                for _ in range(asks):
                    t = float(rng.uniform(now - oldest_s, now - newest_s))
                    for kind in ('past', 'as_of'):
                        fn = getattr(mem, kind, None)
                        if fn is None:
                            continue
                        t0 = time.perf_counter()
                        fn(t)
                        times[kind].append((time.perf_counter() - t0) * 1000.0)
            cache = getattr(mem, 'past_stats', lambda: {})()
        finally:
            mem.close()
    out: dict[str, Any] = {'objects': objects, 'calls': len(times['as_of'])}
    for kind, ms in times.items():
        if ms:
            arr = np.asarray(ms)
            out[kind] = {'mean_ms': round(float(arr.mean()), 3),
                         'p50_ms': round(float(np.percentile(arr, 50)), 3),
                         'p99_ms': round(float(np.percentile(arr, 99)), 3)}
    out['past_cache'] = cache
    return out


def main(argv: list[str] | None = None) -> int:
    """Print one measurement as a JSON line."""
    args = sys.argv[1:] if argv is None else argv
    objects = int(args[0]) if args else 1000
    frames = int(args[1]) if len(args) > 1 else 60
    print(json.dumps(measure(objects, frames)))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
