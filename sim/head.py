"""Where the head camera looks: the tilt towards a point, into a container, at what a view misses.

The head tilts about a horizontal axis only (the base turns for yaw). Tilts are pitch
below horizontal in radians, within `sim.robot.TILT_MIN`..`TILT_MAX`. Exploring with the
default tilt misses furniture close to the floor (low drawers, cabinets, the bottom shelf)
and high on the wall (a wall-mounted microwave, upper cabinets): `extra_view_tilts` says
which further tilts a heading needs so that every piece of furniture near the robot is
seen once.
"""

from __future__ import annotations

import math

import numpy as np

from sim.catalog import CATALOG
from sim.robot import TILT_MAX, TILT_MIN

#: Furniture farther than this (m, horizontally) is left to the views from other places.
VIEW_RANGE = 3.0
#: A point this far (rad) above or below the optical axis is treated as out of the view.
VIEW_MARGIN = math.radians(5.0)


def clamp_tilt(tilt: float) -> float:
    """`tilt` limited to the head joint's range."""
    return min(max(tilt, TILT_MIN), TILT_MAX)


def tilt_towards(camera: np.ndarray, point: tuple[float, float, float]) -> float:
    """The tilt (rad below horizontal) that puts `point` on the optical axis of `camera`.

    `camera` is the optical frame's 4x4 pose in `map`; only its position counts.
    """
    cx, cy, cz = (float(v) for v in camera[:3, 3])
    return math.atan2(cz - point[2], math.hypot(point[0] - cx, point[1] - cy))


def look_point(sim, object_id: str) -> tuple[float, float, float]:
    """The point of a thing to look at: the middle of a container's inside, else its box centre.

    A container's inside is the mean of its support surfaces' centres (the floor of a
    drawer or cabinet, a fridge's shelves), a little above them; an open drawer's floor is
    where it slid out to.
    """
    lo, hi = sim.aabb(object_id)
    centre = tuple((a + b) / 2 for a, b in zip(lo, hi))
    spec = CATALOG.get(sim.things[object_id].object_type)
    if spec is None or spec.receptacle != 'in' or sim.things[object_id].kind != 'furniture':
        return centre
    surfaces = sim.surfaces(object_id)
    if not surfaces:
        return centre
    pts = [((s.rect[0] + s.rect[2]) / 2, (s.rect[1] + s.rect[3]) / 2, s.z + 0.05)
           for s in surfaces]
    return tuple(float(np.mean([p[k] for p in pts])) for k in range(3))


def extra_view_tilts(sim, camera: np.ndarray, yaw: float, tilt: float) -> list[float]:
    """Tilts of further views along heading `yaw` for furniture the view at `tilt` misses.

    Looks at the furniture of the robot's room within `VIEW_RANGE` and the camera's
    horizontal field of view; each piece whose look point is out of the view's vertical
    range asks for a lower or a higher view. Returns at most one lower and one higher
    tilt (the mean of what they ask for, within the joint limits), none when all is seen.
    """
    half_v = math.radians(sim.vfov_deg) / 2
    half_h = math.atan(math.tan(half_v) * sim.width / sim.height)
    cx, cy = float(camera[0, 3]), float(camera[1, 3])
    room = sim.home.room_at(sim.robot.x, sim.robot.y)
    below, above = [], []
    for oid, t in sim.things.items():
        if t.kind != 'furniture' or t.object_type not in CATALOG:
            continue
        point = look_point(sim, oid)
        dx, dy = point[0] - cx, point[1] - cy
        if math.hypot(dx, dy) > VIEW_RANGE or sim.home.room_at(point[0], point[1]) != room:
            continue
        if abs(math.remainder(math.atan2(dy, dx) - yaw, math.tau)) > half_h:
            continue
        wanted = clamp_tilt(tilt_towards(camera, point))
        if wanted > tilt + half_v - VIEW_MARGIN:
            below.append(wanted)
        elif wanted < tilt - half_v + VIEW_MARGIN:
            above.append(wanted)
    return [float(np.mean(side)) for side in (below, above) if side]
