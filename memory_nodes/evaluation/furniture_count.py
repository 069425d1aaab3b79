"""How many furniture nodes the memory ends with for how many real pieces, per type.

Large furniture is seen in parts (only a piece of a bed fits in a 320x240 frame); parts
that do not overlap enough to associate become two nodes. This module measures that:
explore every room of a simulated home (the oracle `sim_segmentation` masks unless another
detector is given), then compare the memory's confirmed furniture nodes with the home's
real pieces, type by type. Each node is assigned to the real piece of its type whose box
(grown by `MATCH_MARGIN_M`) holds the node's centroid, else to none: a piece with k > 1
nodes counts k - 1 duplicates, a piece with none is missed, a node with none is spurious.

    python -m memory_nodes.evaluation.furniture_count --suite composite --episodes 0-4

prints one line per home and per type, and `RESULT furniture_nodes=.. furniture_real=..`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.memory.long_term import LongTermMemory

#: A node's centroid may lie this far outside its piece's box and still belong to it.
MATCH_MARGIN_M = 0.25


@dataclass
class TypeCount:
    """One furniture type in one or more homes."""

    real: int = 0
    nodes: int = 0
    duplicates: int = 0
    missed: int = 0
    spurious: int = 0

    def add(self, other: TypeCount) -> None:
        """Add `other`'s counts to these."""
        self.real += other.real
        self.nodes += other.nodes
        self.duplicates += other.duplicates
        self.missed += other.missed
        self.spurious += other.spurious


@dataclass
class FurnitureCount:
    """Furniture nodes vs real pieces, per type (catalog type names, e.g. 'Bed')."""

    per_type: dict[str, TypeCount] = field(default_factory=dict)

    def total(self) -> TypeCount:
        """All types together."""
        out = TypeCount()
        for count in self.per_type.values():
            out.add(count)
        return out

    def add(self, other: FurnitureCount) -> None:
        """Add another home's counts to these."""
        for name, count in other.per_type.items():
            self.per_type.setdefault(name, TypeCount()).add(count)

    def excess_fraction(self) -> float:
        """(nodes - real) / real: 0.10 means 10 % more nodes than pieces."""
        t = self.total()
        return (t.nodes - t.real) / t.real if t.real else 0.0

    def summary(self) -> str:
        """'43 nodes for 39 pieces (+10.3 %): 4 duplicates (Bed 1, ...), 0 missed, ...'."""
        t = self.total()
        dups = ', '.join(f'{k} {v.duplicates}' for k, v in sorted(self.per_type.items())
                         if v.duplicates)
        spur = ', '.join(f'{k} {v.spurious}' for k, v in sorted(self.per_type.items())
                         if v.spurious)
        return (f'{t.nodes} nodes for {t.real} pieces ({100 * self.excess_fraction():+.1f} %): '
                f'{t.duplicates} duplicates ({dups or "none"}), {t.missed} missed, '
                f'{t.spurious} spurious ({spur or "none"})')


def _inside(point: Sequence[float], lo: Sequence[float], hi: Sequence[float],
            margin: float) -> float:
    """Distance outside the box grown by `margin` (0 inside, -1 when farther than margin)."""
    out = sum(max(lo[k] - point[k], 0.0, point[k] - hi[k]) ** 2 for k in range(3)) ** 0.5
    return out if out <= margin else -1.0


def count_furniture(nodes: Iterable[tuple[str, Sequence[float]]],
                    pieces: Iterable[tuple[str, Sequence[float], Sequence[float]]],
                    margin: float = MATCH_MARGIN_M) -> FurnitureCount:
    """Compare memory nodes (type, centroid) with real pieces (type, box min, box max)."""
    result = FurnitureCount()
    pieces = list(pieces)
    hits = [0] * len(pieces)
    for name, _, _ in pieces:
        result.per_type.setdefault(name, TypeCount()).real += 1
    for name, centroid in nodes:
        count = result.per_type.setdefault(name, TypeCount())
        count.nodes += 1
        best, best_d = None, float('inf')
        for i, (pname, lo, hi) in enumerate(pieces):
            if pname != name:
                continue
            d = _inside(centroid, lo, hi, margin)
            if 0.0 <= d < best_d:
                best, best_d = i, d
        if best is None:
            count.spurious += 1
        else:
            hits[best] += 1
    for (name, _, _), k in zip(pieces, hits):
        count = result.per_type[name]
        count.duplicates += max(0, k - 1)
        count.missed += k == 0
    return result


def memory_furniture(ltm: LongTermMemory) -> list[tuple[str, tuple[float, ...]]]:
    """Confirmed, present furniture nodes as (type, centroid); labels resolved to types."""
    out = []
    for node in ltm.graph.nodes.values():
        if node.layer != 'furniture' or node.status != 'confirmed':
            continue
        out.append((HOUSEHOLD.canonical_type(node.label) or node.label,
                    tuple(float(v) for v in node.position)))
    return out


def explore_home(sim: Any, episode: Any, detector: Any = None,
                 memory_config: Any = None) -> LongTermMemory:
    """Reset `sim` to the episode's home, explore every room, return the long-term memory."""
    from memory_nodes.domain.skills import SkillCall
    from memory_nodes.evaluation.sim_frames import SimFramePerception
    from memory_nodes.evaluation.sim_robot import SimRobot
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.robot_memory import RobotMemory
    from memory_nodes.memory.short_term import ShortTermConfig
    from sim.suite_world import build_home

    cfg = memory_config or LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    sim.reset(build_home(episode.home), seed=episode.home.seed)
    memory = RobotMemory(cfg, ShortTermConfig())
    for name, footprint in sim.rooms().items():
        memory.ltm.define_room_footprint(name, footprint)
    perception = SimFramePerception() if detector is None else SimFramePerception(
        detector=detector)
    robot = SimRobot(sim, memory, None, perception)
    for room in sim.rooms():
        robot.execute(SkillCall('explore', area=room))
    return memory.ltm


def home_furniture_count(sim: Any, ltm: LongTermMemory) -> FurnitureCount:
    """The explored memory's furniture nodes vs the real pieces of `sim`'s home."""
    pieces = [(t.object_type, t.aabb_min, t.aabb_max) for t in sim.ground_truth().values()
              if t.kind == 'furniture']
    return count_furniture(memory_furniture(ltm), pieces)


def suite_furniture_count(suite: str = 'composite', episodes: Iterable[int] = range(5),
                          detector: Any = None, memory_config: Any = None,
                          progress: Any = None) -> list[tuple[str, FurnitureCount]]:
    """(home name, count) for each episode's home, exploring each with a fresh memory."""
    from sim.pybullet_sim import PyBulletSimulator
    from sim.task_schema import load_suite

    eps = load_suite(suite).episodes
    out = []
    sim = PyBulletSimulator()
    try:
        for i in episodes:
            episode = eps[i]
            ltm = explore_home(sim, episode, detector, memory_config)
            try:
                count = home_furniture_count(sim, ltm)
            finally:
                ltm.close()
            name = f'{suite}[{i}] {episode.episode_id} (home seed {episode.home.seed})'
            out.append((name, count))
            if progress is not None:
                progress(f'{name}: {count.summary()}')
    finally:
        sim.close()
    return out


def _episodes(text: str) -> list[int]:
    """'0-4' or '0,2,3' -> indices."""
    out: list[int] = []
    for part in text.split(','):
        if '-' in part:
            a, b = part.split('-', 1)
            out.extend(range(int(a), int(b) + 1))
        elif part.strip():
            out.append(int(part))
    return out


def main(argv: list[str] | None = None) -> int:
    """Explore the suite's homes with oracle masks; print furniture nodes vs real pieces."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--suite', default='composite')
    parser.add_argument('--episodes', default='0-4', help="e.g. '0-4' or '0,3'")
    parser.add_argument('--no-part-merge', action='store_true',
                        help='turn the furniture part merge rule off (for comparison)')
    args = parser.parse_args(argv)
    from memory_nodes.memory.config import LongTermMemoryConfig

    cfg = LongTermMemoryConfig()
    if args.no_part_merge:
        cfg.fusion.merge_furniture_parts = False
    total = FurnitureCount()
    for _, count in suite_furniture_count(args.suite, _episodes(args.episodes),
                                          memory_config=cfg,
                                          progress=lambda m: print(m, flush=True)):
        total.add(count)
    print('per type (real / nodes / duplicates / missed / spurious):')
    for name, c in sorted(total.per_type.items()):
        print(f'  {name:16s} {c.real:3d} {c.nodes:3d} {c.duplicates:3d} {c.missed:3d} '
              f'{c.spurious:3d}')
    t = total.total()
    print(f'all: {total.summary()}')
    print(f'RESULT furniture_nodes={t.nodes} furniture_real={t.real} '
          f'furniture_duplicates={t.duplicates} furniture_missed={t.missed} '
          f'furniture_spurious={t.spurious} excess={total.excess_fraction():.4f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
