"""Stable poses for small objects on support surfaces (pure geometry, no physics).

A receptacle offers one or more `WorldSurface`s; `sample_pose` picks a free spot on one of
them for an object of given half extents, avoiding what already rests there. Used by the
home generator (initial layout) and by the `put` skill (before physics settles it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sim.furniture_geometry import furniture_geometry
from sim.geometry import Rect, footprint, inflate, inside, overlaps, rotate
from sim.home import PlacedThing


@dataclass(frozen=True)
class WorldSurface:
    """A horizontal support area in `map`: height, rectangle, free height above it."""

    z: float
    rect: Rect
    clearance: float
    yaw: float = 0.0


def furniture_surfaces(thing: PlacedThing, is_open: bool | None = None) -> list[WorldSurface]:
    """The support surfaces of a furniture piece, in `map`.

    An open drawer's surfaces are slid out with its box; `is_open` defaults to the
    thing's own `open` state.
    """
    assert thing.position is not None
    px, py, pz = thing.position
    if is_open is None:
        is_open = bool(thing.states.get('open', False))
    out = []
    for s in furniture_geometry(thing.object_type, thing.size).surfaces_when(is_open):
        x0, y0, x1, y1 = s.rect
        cx, cy = rotate(thing.yaw, (x0 + x1) / 2, (y0 + y1) / 2)
        rect = footprint((px + cx, py + cy), thing.yaw, (x1 - x0) / 2, (y1 - y0) / 2)
        out.append(WorldSurface(pz + s.z, rect, s.clearance, thing.yaw))
    return out


def object_top_surface(aabb_min, aabb_max, yaw: float = 0.0) -> WorldSurface:
    """The top of a small receptacle object (a plate, a pan, a bowl) as a surface."""
    rect = inflate((aabb_min[0], aabb_min[1], aabb_max[0], aabb_max[1]), -0.01)
    return WorldSurface(aabb_max[2], rect, 0.4, yaw)


def object_half_extents(size: tuple[float, float, float], yaw: float) -> tuple[float, float]:
    """Half extents in `map` x/y of an object of `size` turned by `yaw`."""
    r = footprint((0.0, 0.0), yaw, size[0] / 2, size[1] / 2)
    return r[2], r[3]


def sample_pose(rng: random.Random, surfaces: list[WorldSurface],
                size: tuple[float, float, float],
                occupied: list[tuple[Rect, float, float]],
                tries: int = 40) -> tuple[tuple[float, float, float], float, int] | None:
    """A free resting pose ((x, y, z), yaw, surface index) for an object of extents `size`.

    `occupied` holds (footprint, bottom z, top z) of things already there. Returns None if
    no spot is found within `tries` samples (the receptacle is full or too small).
    """
    fitting = [i for i, s in enumerate(surfaces) if s.clearance >= size[2] + 0.005]
    if not fitting:
        return None
    for _ in range(tries):
        i = rng.choice(fitting)
        s = surfaces[i]
        yaw = s.yaw
        hx, hy = object_half_extents(size, yaw)
        if 2 * hx > s.rect[2] - s.rect[0] or 2 * hy > s.rect[3] - s.rect[1]:
            yaw = s.yaw + 1.5707963
            hx, hy = object_half_extents(size, yaw)
        lo_x, hi_x = s.rect[0] + hx, s.rect[2] - hx
        lo_y, hi_y = s.rect[1] + hy, s.rect[3] - hy
        if lo_x > hi_x or lo_y > hi_y:
            continue
        x, y = rng.uniform(lo_x, hi_x), rng.uniform(lo_y, hi_y)
        rect = (x - hx, y - hy, x + hx, y + hy)
        if not inside(rect, s.rect):
            continue
        z0, z1 = s.z, s.z + size[2]
        if any(overlaps(inflate(rect, 0.01), r) and b < z1 and t > z0 for r, b, t in occupied):
            continue
        return (x, y, s.z + size[2] / 2 + 0.002), yaw, i
    return None


def scan_pose(surfaces: list[WorldSurface], size: tuple[float, float, float],
              occupied: list[tuple[Rect, float, float]], step: float = 0.03
              ) -> tuple[tuple[float, float, float], float, int] | None:
    """The first free resting pose on a grid over `surfaces` (at both yaws), or None.

    What a careful placer finds when `sample_pose`'s random samples miss the one free spot
    on a cluttered counter: every grid point is tried, so None means there is no room.
    """
    for i, s in enumerate(surfaces):
        if s.clearance < size[2] + 0.005:
            continue
        for yaw in (s.yaw, s.yaw + 1.5707963):
            hx, hy = object_half_extents(size, yaw)
            lo_x, hi_x = s.rect[0] + hx, s.rect[2] - hx
            lo_y, hi_y = s.rect[1] + hy, s.rect[3] - hy
            if lo_x > hi_x or lo_y > hi_y:
                continue
            nx, ny = int((hi_x - lo_x) / step) + 1, int((hi_y - lo_y) / step) + 1
            for a in range(nx):
                for b in range(ny):
                    x, y = lo_x + a * step, lo_y + b * step
                    rect = (x - hx, y - hy, x + hx, y + hy)
                    z0, z1 = s.z, s.z + size[2]
                    if any(overlaps(inflate(rect, 0.01), r) and bottom < z1 and top > z0
                           for r, bottom, top in occupied):
                        continue
                    return (x, y, s.z + size[2] / 2 + 0.002), yaw, i
    return None
