"""A navigable place graph on the free floor of an imported room.

Imported kitchens have counters along the walls and islands in the middle, so a coarse
room grid (as generated homes use) misses the aisles. Here waypoints are a fine grid
(`GRID` m) over the floor, kept where the robot's disc clears every floor obstacle and the
walls; edges join 8-neighbours whose segment stays clear. Every `ROOM_STRIDE`-th point is
kind 'room' (where `explore` stops to look around), the rest kind 'floor'. Small furniture
gets an approach waypoint (the nearest reachable point in front of it); long counters get
none, so the robot walks to the point nearest the object it wants on them.
"""

from __future__ import annotations

import logging
import math

from sim.geometry import Rect, contains, inflate, segment_hits_rect
from sim.home import HomeSpec, PlacedThing, Waypoint
from sim.place_graph import ROBOT_RADIUS, components
from sim.robot import REACH

log = logging.getLogger(__name__)

GRID = 0.25
ROOM_STRIDE = 4
WALL_CLEARANCE = ROBOT_RADIUS + 0.03
#: Furniture longer than this gets no single approach waypoint.
LONG_FURNITURE = 1.2


def _rect_distance(rect: Rect, x: float, y: float) -> float:
    dx = max(rect[0] - x, 0.0, x - rect[2])
    dy = max(rect[1] - y, 0.0, y - rect[3])
    return math.hypot(dx, dy)


def build_floor_graph(home: HomeSpec, obstacles: list[Rect]) -> None:
    """Fill `home.waypoints`, `home.edges`, approaches and the robot's start waypoint."""
    obs = [inflate(r, ROBOT_RADIUS) for r in obstacles]
    points: dict[tuple[int, int], Waypoint] = {}
    for room in home.rooms:
        x0, y0, x1, y1 = room.footprint
        nx = int((x1 - x0 - 2 * WALL_CLEARANCE) / GRID) + 1
        ny = int((y1 - y0 - 2 * WALL_CLEARANCE) / GRID) + 1
        ox = (x0 + x1) / 2 - (nx - 1) * GRID / 2
        oy = (y0 + y1) / 2 - (ny - 1) * GRID / 2
        for i in range(nx):
            for j in range(ny):
                px, py = round(ox + i * GRID, 3), round(oy + j * GRID, 3)
                if any(contains(r, px, py) for r in obs):
                    continue
                kind = 'room' if i % ROOM_STRIDE == 2 and j % ROOM_STRIDE == 2 else 'floor'
                points[(i, j)] = Waypoint(f'{room.name}/g{i}_{j}', px, py, room.name, kind)
    edges = []
    for (i, j), a in points.items():
        for di, dj in ((1, 0), (0, 1), (1, 1), (1, -1)):
            b = points.get((i + di, j + dj))
            if b is not None and not any(segment_hits_rect((a.x, a.y), (b.x, b.y), r)
                                         for r in obs):
                edges.append((a.name, b.name))
    home.waypoints = list(points.values())
    home.edges = edges
    comps = components(home)
    main = max(comps, key=len) if comps else set()
    if len(comps) > 1:
        dropped = sum(len(c) for c in comps) - len(main)
        log.info('%s: %d waypoint(s) cut off by furniture dropped', home.name, dropped)
        home.waypoints = [w for w in home.waypoints if w.name in main]
        home.edges = [(a, b) for a, b in home.edges if a in main]
    if not home.waypoints:
        raise ValueError(f'{home.name}: no free floor for the robot')
    for thing in home.furniture:
        thing.approach = approach_for(home, thing)
    cx = sum(sum(r.footprint[::2]) / 2 for r in home.rooms) / len(home.rooms)
    cy = sum(sum(r.footprint[1::2]) / 2 for r in home.rooms) / len(home.rooms)
    home.robot_start = min(home.waypoints, key=lambda w: math.hypot(w.x - cx, w.y - cy)).name


def approach_for(home: HomeSpec, thing: PlacedThing) -> str | None:
    """The nearest waypoint within reach of the thing's box, preferring its front."""
    if max(thing.size[:2]) > LONG_FURNITURE or thing.parent is not None:
        return None
    rect = thing.footprint()
    fx, fy = -math.sin(thing.yaw), math.cos(thing.yaw)
    x, y = thing.position[0], thing.position[1]
    best = None
    for w in home.waypoints:
        d = _rect_distance(rect, w.x, w.y)
        if d > REACH - 0.15:
            continue
        behind = (w.x - x) * fx + (w.y - y) * fy <= 0
        key = (behind, round(d, 3), w.name)
        if best is None or key < best[0]:
            best = (key, w.name)
    return None if best is None else best[1]
