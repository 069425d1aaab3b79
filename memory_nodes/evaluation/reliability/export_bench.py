"""In-process micro benchmark of the two GetSceneGraph answers at the load test's size.

Builds the load test's home (`load.build_memory`: `objects` confirmed objects in four
rooms) in a SQLite file, opens it as a `RobotMemory` and then, frame after frame, fuses
`per_frame` re-sighted objects (`moving` of them moved a few cm) and times one full
answer (`graph_json`) and the collapsed answers the load clients ask for (token budget
0 -> the node's default, 400 and 1200, with and without a one-label focus) in between,
each also built from scratch (no caches) for comparison::

    python -m memory_nodes.evaluation.reliability.export_bench --objects 1000

prints one line per answer kind: median and p95 milliseconds over the frames.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from memory_nodes.evaluation.reliability.load import _observation, build_memory, grid_side
from memory_nodes.evaluation.reliability.load_client import LABELS

#: The memory node's default token budget (a request's 0 means this one).
DEFAULT_BUDGET = 800


def frame(objects: int, per_frame: int, moving: int, rng: np.random.Generator,
          stamp: float) -> list:
    """One camera frame as the load test's publisher makes it (observations)."""
    side = grid_side(objects)
    seen = rng.choice(objects, min(per_frame, objects), replace=False)
    out = []
    for n, i in enumerate(seen):
        offset = (np.array([0.05 * math.sin(stamp + i), 0.05 * math.cos(stamp + i), 0.0])
                  if n < moving else None)
        out.append(_observation(int(i), side, rng, stamp, offset))
    return out


def run(objects: int = 1000, frames: int = 30, per_frame: int = 20, moving: int = 2,
        seed: int = 0) -> dict[str, list[float]]:
    """Milliseconds per answer kind, one sample per frame (see the module docstring).

    'full' and 'collapsed' are the memory's answers (cached fragments); 'full_scratch'
    and 'collapsed_scratch' the same texts built from nothing, timed in the same run.
    """
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.export import collapsed_export, graph_to_dict
    from memory_nodes.memory.robot_memory import RobotMemory

    stamp = 1000.0
    times: dict[str, list[float]] = {k: [] for k in (
        'full_scratch', 'full', 'collapsed_scratch', 'collapsed')}
    rng = np.random.default_rng(seed + 1)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / 'home.db'
        build_memory(objects, db, stamp, seed)
        cfg = LongTermMemoryConfig()
        cfg.embedder.backend = 'hashing'
        ec = cfg.export
        memory = RobotMemory(cfg, db_path=db)
        try:
            memory.graph_json()  # the first answer builds everything once
            for k in range(frames):
                memory.observe(frame(objects, per_frame, moving, rng, stamp + 1 + k))
                graph = memory.ltm.graph
                t0 = time.perf_counter()
                json.dumps(graph_to_dict(graph, include_points=False), separators=(',', ':'))
                t1 = time.perf_counter()
                memory.graph_json()
                t2 = time.perf_counter()
                times['full_scratch'].append((t1 - t0) * 1000.0)
                times['full'].append((t2 - t1) * 1000.0)
                asks = [(budget, focus) for budget in (DEFAULT_BUDGET, 400, 1200)
                        for focus in ((), (LABELS[k % len(LABELS)].lower(),))]
                t0 = time.perf_counter()
                for budget, focus in asks:
                    collapsed_export(graph, budget, focus, ec.chars_per_token,
                                     ec.max_expanded_per_room)
                t1 = time.perf_counter()
                for budget, focus in asks:
                    memory.ltm.collapsed_export(budget, focus)
                t2 = time.perf_counter()
                times['collapsed_scratch'].append((t1 - t0) * 1000.0 / len(asks))
                times['collapsed'].append((t2 - t1) * 1000.0 / len(asks))
        finally:
            memory.close()
    return times


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--objects', type=int, default=1000)
    ap.add_argument('--frames', type=int, default=30)
    ap.add_argument('--per-frame', type=int, default=20)
    ap.add_argument('--moving', type=int, default=2)
    args = ap.parse_args(argv)
    times = run(args.objects, args.frames, args.per_frame, args.moving)
    for kind, ms in times.items():
        ms = sorted(ms)
        p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
        print(f'{kind:17s} median {statistics.median(ms):7.2f} ms  p95 {p95:7.2f} ms  '
              f'({len(ms)} frames, {args.objects} objects)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
