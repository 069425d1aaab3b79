"""Fill in what a home spec may leave out: object poses and the place graph.

The generator calls this, and so can an importer that only knows rooms, walls, furniture
and which receptacle each object is in: `complete_home` samples a resting pose for every
object without a `position`, builds waypoints and edges if there are none, assigns each
thing its approach waypoint and picks a start waypoint for the robot.
"""

from __future__ import annotations

import logging
import random

from sim.catalog import CATALOG
from sim.home import HomeSpec, PlacedThing
from sim.place_graph import approach_point, build_place_graph, nearest_waypoint
from sim.placement import WorldSurface, furniture_surfaces, object_top_surface, sample_pose

log = logging.getLogger(__name__)


def thing_surfaces(home: HomeSpec, thing: PlacedThing,
                   is_open: bool | None = None) -> list[WorldSurface]:
    """Support surfaces of a furniture piece or a small receptacle object, in `map`.

    `is_open` says where an open drawer's surfaces are (default: the thing's own state).
    """
    if CATALOG.get(thing.object_type) and CATALOG[thing.object_type].kind == 'object':
        x, y, z = thing.position
        hx, hy, hz = thing.size[0] / 2, thing.size[1] / 2, thing.size[2] / 2
        return [object_top_surface((x - hx, y - hy, z - hz), (x + hx, y + hy, z + hz),
                                   thing.yaw)]
    return furniture_surfaces(thing, is_open)


def occupied_on(home: HomeSpec, parent_id: str) -> list[tuple]:
    """(footprint, bottom, top) of every placed thing resting on `parent_id`."""
    out = []
    for t in home.things():
        if t.parent == parent_id and t.position is not None:
            fp = t.footprint()
            if CATALOG.get(t.object_type) and CATALOG[t.object_type].kind == 'furniture':
                bottom = t.position[2]
            else:
                bottom = t.position[2] - t.size[2] / 2
            out.append((fp, bottom, bottom + t.size[2]))
    for f in home.furniture:  # e.g. a faucet on a sink's rim
        if f.attached_to == parent_id and f.position is not None:
            out.append((f.footprint(), f.position[2], f.position[2] + f.size[2]))
    return out


def complete_home(home: HomeSpec, seed: int = 0) -> HomeSpec:
    """Sample missing object poses, build the place graph, set approaches and start."""
    rng = random.Random(seed * 7919 + 17)
    by_id = {t.object_id: t for t in home.things()}
    pending = [o for o in home.objects if o.position is None]
    dropped = []
    for _ in range(len(pending) + 1):  # parents before children
        rest = []
        for obj in pending:
            parent = by_id.get(obj.parent or '')
            if parent is None:
                raise ValueError(f'{home.name}: {obj.object_id} has no position and no '
                                 f'known parent receptacle ({obj.parent!r})')
            if parent.position is None:
                rest.append(obj)
                continue
            pose = sample_pose(rng, thing_surfaces(home, parent), obj.size,
                               occupied_on(home, parent.object_id))
            if pose is None:
                dropped.append(obj)
                continue
            (x, y, z), yaw, _ = pose
            obj.position = (round(x, 4), round(y, 4), round(z, 4))
            obj.yaw = round(yaw, 6)
        pending = rest
        if not pending:
            break
    for obj in dropped:
        log.warning('%s: no room for %s on %s, left out', home.name, obj.object_id, obj.parent)
        home.objects.remove(obj)
    if not home.waypoints:
        build_place_graph(home)
    for thing in home.things():
        if thing.approach is None:
            thing.approach = _approach_for(home, thing, by_id)
    if home.robot_start is None:
        first = home.rooms[0].name
        cands = [w for w in home.waypoints if w.room == first and w.kind == 'room']
        home.robot_start = (cands[len(cands) // 2] if cands else home.waypoints[0]).name
    return home


def _approach_for(home: HomeSpec, thing: PlacedThing, by_id: dict) -> str:
    base = thing
    while base.parent and base.parent in by_id:
        base = by_id[base.parent]
    if base.attached_to and base.attached_to in by_id:
        base = by_id[base.attached_to]
    name = f'{base.object_id}/front'
    if any(w.name == name for w in home.waypoints):
        return name
    x, y = approach_point(base)
    return nearest_waypoint(home, x, y, room=base.room).name
