"""Real AI2-THOR before/after dumps -> the world changes a scripted person makes.

The dumps hold every object's type, id and position before and after a task (written by
KARMA's controller). Objects that moved more than `MOVE_THRESHOLD` (physics jitter moves the
egg 2 mm) become `ObjectMove`s with their real displacement, and `WorldChange`s
(`move_object` into the receptacle that holds the object's box at its new place) that any
episode can carry, so the robot's memory must notice that the apple and the sponge are no
longer where it saw them. `apply_exact_moves` puts them at their exact new positions
instead, for a backend that can (PyBullet).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memory_nodes.domain.goals import parse_condition
from sim.ai2thor.frames import unity_to_rep103
from sim.ai2thor.scene_importer import ImportedScene, SceneObject, find_parent, objects_from_json
from sim.catalog import CATALOG
from sim.task_schema import Episode, HomeRef, Task, WorldChange

MOVE_THRESHOLD = 0.05  # metres

Vec3 = tuple[float, float, float]


@dataclass
class ObjectMove:
    """One object that moved between the dumps (map frame, metres)."""

    object_id: str
    object_type: str
    before: Vec3
    after: Vec3
    receptacle_before: str | None
    receptacle_after: str | None
    relation_after: str | None

    @property
    def distance_m(self) -> float:
        """How far it moved."""
        return math.dist(self.before, self.after)


def read_positions(path: str | Path) -> dict[str, tuple[str, Vec3]]:
    """Each object's (objectType, position in REP 103) by objectId, from a dump file."""
    return positions_from_json(json.loads(Path(path).read_text()))


def positions_from_json(doc: Any) -> dict[str, tuple[str, Vec3]]:
    """Each object's (objectType, position in REP 103) by objectId, from a parsed dump."""
    return {o['objectId']: (o['objectType'], unity_to_rep103(o['position']))
            for o in objects_from_json(doc)}


def _receptacles(scene: ImportedScene) -> list[SceneObject]:
    """Scene objects to look for a new parent among, with split counters as their arms."""
    split = set(scene.source_ids.values())
    out = [o for o in scene.objects if o.object_id not in split]
    for f in scene.home.furniture:
        if scene.source_id(f.object_id) in split:
            x0, y0, x1, y1 = f.footprint()
            z = f.position[2]
            base = scene.object(scene.source_id(f.object_id))
            out.append(SceneObject(f.object_id, base.ai2thor_type, base.object_type,
                                   base.role, (x0, y0, z), (x1, y1, z + f.size[2]),
                                   f.position))
    return out


def find_moves(scene: ImportedScene, before: dict[str, tuple[str, Vec3]],
               after: dict[str, tuple[str, Vec3]],
               threshold: float = MOVE_THRESHOLD) -> list[ObjectMove]:
    """Objects that moved more than `threshold`, with where they rest before and after."""
    receptacles = _receptacles(scene)
    moves = []
    for oid, (otype, p0) in before.items():
        if oid not in after:
            continue
        p1 = after[oid][1]
        if math.dist(p0, p1) <= threshold:
            continue
        try:
            obj = scene.object(oid)
        except KeyError:
            obj = SceneObject(oid, otype, otype, 'object', p0, p0, p0)
        shift = tuple(b - a for a, b in zip(obj.position, p1))
        moved = SceneObject(oid, obj.ai2thor_type, obj.object_type, obj.role,
                            tuple(v + d for v, d in zip(obj.aabb_min, shift)),  # type: ignore
                            tuple(v + d for v, d in zip(obj.aabb_max, shift)),  # type: ignore
                            p1)
        parent = find_parent(moved, [r for r in receptacles if r.object_id != oid])
        moves.append(ObjectMove(oid, otype, p0, p1, obj.parent,
                                parent.object_id if parent else None,
                                None if parent is None else _relation(parent)))
    return moves


def _relation(parent: SceneObject) -> str | None:
    return CATALOG[parent.object_type].receptacle if parent.object_type else None


def world_changes(moves: list[ObjectMove]) -> list[WorldChange]:
    """`move_object` changes for every move that ends in a known receptacle."""
    out = []
    for m in moves:
        if m.receptacle_after is None:
            continue
        out.append(WorldChange('move_object', m.object_id, m.receptacle_after,
                               m.relation_after, note=f'AI2-THOR dump: {m.object_type} moved '
                               f'{m.distance_m:.2f} m from {m.receptacle_before} to '
                               f'{m.receptacle_after}'))
    return out


Replay = tuple[list[ObjectMove], list[WorldChange]]


def replay_changes(scene: ImportedScene, before_path: str | Path, after_path: str | Path,
                   threshold: float = MOVE_THRESHOLD) -> Replay:
    """Read both dumps: the moves and the world changes that replay them."""
    moves = find_moves(scene, read_positions(before_path), read_positions(after_path),
                       threshold)
    return moves, world_changes(moves)


def apply_exact_moves(sim: Any, moves: list[ObjectMove]) -> None:
    """Put each moved object at its exact new position in a `PyBulletSimulator`."""
    for m in moves:
        sim.set_pose(m.object_id, m.after, sim.pose_of(m.object_id)[1])
        thing = sim.things[m.object_id]
        thing.parent, thing.relation = m.receptacle_after, m.relation_after


def stale_episode(changes: list[WorldChange], seed: int = 0) -> Episode:
    """A FloorPlan1 stale-memory episode built on the recorded changes.

    The robot works near the apple and the sponge, the changes happen behind its back, then
    it must fetch both from their new places.
    """
    def task(tid: str, text: str, goals: list[str], **kw: Any) -> Task:
        return Task(tid, text, [parse_condition(g) for g in goals], tags=['stale', 'ai2thor'],
                    **kw)

    tasks = [
        task('fp1-stale-1', 'Slice the bread on the island.', ['STATE(Bread, sliced): 1']),
        task('fp1-stale-2', 'Run the faucet.', ['TOGGLEON(Faucet): 1']),
        task('fp1-stale-3', 'Put the apple in the fridge.', ['INSIDE(Apple, Fridge): 1'],
             world_changes=list(changes)),
        task('fp1-stale-4', 'Put the sponge back in the sink.',
             ['INSIDE(DishSponge, SinkBasin): 1']),
    ]
    home = HomeRef(seed, start_room='kitchen', scene='ai2thor:FloorPlan1')
    return Episode('ai2thor-floorplan1-stale', home, tasks)


__all__ = ['MOVE_THRESHOLD', 'ObjectMove', 'apply_exact_moves', 'find_moves',
           'positions_from_json', 'read_positions', 'replay_changes', 'stale_episode',
           'world_changes']
