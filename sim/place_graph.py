"""The place graph: navigable waypoints and traversable edges, and A* over it.

Waypoints are a grid over each room's free floor, one point on each side of every
doorway, and one in front of every floor-standing piece of furniture. Edges join
waypoints of the same room whose straight segment keeps the robot's radius clear of
furniture; the only edges between rooms go straight through a doorway, so a path over
the graph never crosses a wall.
"""

from __future__ import annotations

import heapq
import logging
import math

from sim.geometry import contains, inflate, segment_hits_rect, segments_cross
from sim.home import HomeSpec, PlacedThing, Waypoint

log = logging.getLogger(__name__)

ROBOT_RADIUS = 0.22
GRID_SPACING = 0.9
MAX_EDGE = 2.0
APPROACH_DIST = 0.55


def approach_point(thing: PlacedThing) -> tuple[float, float]:
    """Where the robot stands to reach a floor-standing thing: in front of it."""
    x, y, _ = thing.position
    d = thing.size[1] / 2 + APPROACH_DIST
    return x - math.sin(thing.yaw) * d, y + math.cos(thing.yaw) * d


def obstacles(home: HomeSpec) -> list[tuple[float, float, float, float]]:
    """Footprints of floor-standing furniture, inflated by the robot's radius."""
    return [inflate(f.footprint(), ROBOT_RADIUS) for f in home.furniture
            if f.parent is None and f.attached_to is None and f.position is not None]


def build_place_graph(home: HomeSpec) -> None:
    """Fill `home.waypoints` and `home.edges` (replacing what was there)."""
    obs = obstacles(home)
    points: list[Waypoint] = []
    for room in home.rooms:
        x0, y0, x1, y1 = room.footprint
        nx = max(1, int((x1 - x0 - 1.0) / GRID_SPACING) + 1)
        ny = max(1, int((y1 - y0 - 1.0) / GRID_SPACING) + 1)
        sx = (x1 - x0 - 1.0) / max(1, nx - 1) if nx > 1 else 0.0
        sy = (y1 - y0 - 1.0) / max(1, ny - 1) if ny > 1 else 0.0
        k = 0
        for i in range(nx):
            for j in range(ny):
                px = x0 + 0.5 + i * sx if nx > 1 else (x0 + x1) / 2
                py = y0 + 0.5 + j * sy if ny > 1 else (y0 + y1) / 2
                if any(contains(r, px, py) for r in obs):
                    continue
                points.append(Waypoint(f'{room.name}/g{k}', round(px, 3), round(py, 3),
                                       room.name, 'room'))
                k += 1
    door_edges = []
    for n, door in enumerate(home.doorways):
        cx, cy = door.center
        sides = ((cx, cy - 0.5), (cx, cy + 0.5)) if door.axis == 'x' else (
            (cx - 0.5, cy), (cx + 0.5, cy))
        names = []
        for px, py in sides:
            room = home.room_at(px, py)
            if room is None:
                continue
            names.append(f'door{n}/{room}')
            points.append(Waypoint(names[-1], round(px, 3), round(py, 3), room, 'door'))
        if len(names) == 2:
            door_edges.append((names[0], names[1]))
    for f in home.furniture:
        if f.parent is None and f.attached_to is None and f.position is not None:
            px, py = approach_point(f)
            room = home.room_at(px, py)
            if room is not None:
                points.append(Waypoint(f'{f.object_id}/front', round(px, 3), round(py, 3), room,
                                       'approach'))
    edges = list(door_edges)
    by_room: dict[str, list[Waypoint]] = {}
    for w in points:
        by_room.setdefault(w.room, []).append(w)
    for members in by_room.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if math.hypot(a.x - b.x, a.y - b.y) <= MAX_EDGE and _clear(
                        (a.x, a.y), (b.x, b.y), obs):
                    edges.append((a.name, b.name))
    home.waypoints = points
    home.edges = edges
    _connect_components(home, obs)


def _clear(p, q, obs) -> bool:
    # A waypoint squeezed into a neighbour's safety margin may still leave it.
    return not any(segment_hits_rect(p, q, r) for r in obs
                   if not contains(r, *p) and not contains(r, *q))


def _connect_components(home: HomeSpec, obs) -> None:
    """Join graph pieces left apart by furniture (same-room links only; logged)."""
    thin = [inflate(r, 0.03 - ROBOT_RADIUS) for r in obs]
    while True:
        comps = components(home)
        if len(comps) <= 1:
            return
        main = max(comps, key=len)
        best = None
        for comp in comps:
            if comp is main:
                continue
            for a in comp:
                wa = home.waypoint(a)
                for b in main:
                    wb = home.waypoint(b)
                    if wa.room != wb.room:
                        continue
                    d = math.hypot(wa.x - wb.x, wa.y - wb.y)
                    if not _clear((wa.x, wa.y), (wb.x, wb.y), obs):
                        # squeezing past furniture (a tight gap) beats driving through it
                        d += 10.0 if _clear((wa.x, wa.y), (wb.x, wb.y), thin) else 100.0
                    if best is None or d < best[0]:
                        best = (d, a, b)
        if best is None:
            log.warning('%s: place graph has unreachable pieces', home.name)
            return
        if best[0] >= 100.0:
            log.warning('%s: linking %s-%s through furniture', home.name, best[1], best[2])
        home.edges.append((best[1], best[2]))


def adjacency(home: HomeSpec) -> dict[str, list[tuple[str, float]]]:
    """Waypoint name -> [(neighbour, distance)]."""
    pos = {w.name: (w.x, w.y) for w in home.waypoints}
    adj: dict[str, list[tuple[str, float]]] = {name: [] for name in pos}
    for a, b in home.edges:
        d = math.dist(pos[a], pos[b])
        adj[a].append((b, d))
        adj[b].append((a, d))
    return adj


def components(home: HomeSpec) -> list[set[str]]:
    """Connected components of the place graph."""
    adj = adjacency(home)
    seen: set[str] = set()
    out = []
    for start in adj:
        if start in seen:
            continue
        comp, stack = set(), [start]
        while stack:
            n = stack.pop()
            if n in comp:
                continue
            comp.add(n)
            stack.extend(m for m, _ in adj[n] if m not in comp)
        seen |= comp
        out.append(comp)
    return out


def astar(home: HomeSpec, start: str, goal: str,
          adj: dict[str, list[tuple[str, float]]] | None = None,
          max_expansions: int = 20000) -> tuple[list[str], float] | None:
    """Shortest waypoint path and its length, or None if unreachable (bounded search)."""
    adj = adj if adj is not None else adjacency(home)
    pos = {w.name: (w.x, w.y) for w in home.waypoints}
    if start not in pos or goal not in pos:
        return None
    frontier = [(math.dist(pos[start], pos[goal]), 0.0, start)]
    came: dict[str, str | None] = {start: None}
    cost = {start: 0.0}
    expansions = 0
    while frontier and expansions < max_expansions:
        _, g, node = heapq.heappop(frontier)
        if node == goal:
            path = [node]
            while came[path[-1]] is not None:
                path.append(came[path[-1]])
            return path[::-1], g
        if g > cost.get(node, math.inf):
            continue
        expansions += 1
        for nxt, d in adj[node]:
            ng = g + d
            if ng < cost.get(nxt, math.inf) - 1e-9:
                cost[nxt] = ng
                came[nxt] = node
                heapq.heappush(frontier, (ng + math.dist(pos[nxt], pos[goal]), ng, nxt))
    return None


def nearest_waypoint(home: HomeSpec, x: float, y: float, room: str | None = None) -> Waypoint:
    """The waypoint closest to (x, y), optionally only among those of `room`."""
    cands = [w for w in home.waypoints if room is None or w.room == room] or home.waypoints
    return min(cands, key=lambda w: (w.x - x) ** 2 + (w.y - y) ** 2)


def crosses_wall(home: HomeSpec, p: tuple[float, float], q: tuple[float, float]) -> bool:
    """True if the segment p-q passes through a wall (doorways are gaps in walls)."""
    return any(segments_cross(p, q, w.start, w.end) for w in home.walls)
