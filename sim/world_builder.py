"""PyBullet bodies for a `HomeSpec`: floors, walls, furniture (with doors), small objects.

Furniture is static: one body per box from `sim.furniture_geometry`, plus a separate
static door body moved kinematically when it opens (with a drawer's box, which slides
out). Small objects are dynamic bodies with a box collision shape (stable when they
settle) and a box, sphere or cylinder visual shape. All geometry is generated here; no
external meshes are needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pybullet as p

from sim.catalog import CATALOG
from sim.furniture_geometry import FurnitureGeometry, furniture_geometry
from sim.geometry import rotate
from sim.home import HomeSpec, PlacedThing
from sim.mesh import box_visual

FLOOR_COLOURS = {
    'kitchen': (0.82, 0.8, 0.74, 1.0), 'living_room': (0.7, 0.6, 0.48, 1.0),
    'bedroom': (0.62, 0.66, 0.72, 1.0), 'bathroom': (0.78, 0.86, 0.88, 1.0),
}
WALL_COLOUR = (0.93, 0.9, 0.84, 1.0)
ON_COLOUR = (1.0, 0.95, 0.55, 1.0)


@dataclass
class BuiltThing:
    """PyBullet handles of one furniture piece or object."""

    object_id: str
    object_type: str
    body: int
    geometry: FurnitureGeometry | None = None
    door_body: int | None = None
    indicator_links: list[tuple[int, tuple]] = field(default_factory=list)  # (body, colour)
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    yaw: float = 0.0
    part_bodies: list[int] = field(default_factory=list)
    is_open: bool = False  # the pose its door (and a drawer's box) is drawn in


@dataclass
class BuiltWorld:
    """All bodies of a home, and which object each body belongs to."""

    things: dict[str, BuiltThing]
    body_to_object: dict[int, str]
    static_bodies: list[int]


def quat(yaw: float) -> tuple[float, float, float, float]:
    """Quaternion (x, y, z, w) of a rotation by `yaw` about z."""
    return (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))


def _box_body(cid: int, centre, half, colour, mass: float = 0.0, yaw: float = 0.0,
              tile: float = 0.5) -> int:
    col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=cid)
    vis = box_visual(cid, half, colour, tile=tile)
    return p.createMultiBody(mass, col, vis, centre, quat(yaw), physicsClientId=cid)


def build_world(cid: int, home: HomeSpec) -> BuiltWorld:
    """Create every body of `home` in the PyBullet client `cid`."""
    static = []
    for room in home.rooms:
        x0, y0, x1, y1 = room.footprint
        colour = FLOOR_COLOURS.get(room.room_type, (0.7, 0.7, 0.7, 1.0))
        static.append(_box_body(cid, ((x0 + x1) / 2, (y0 + y1) / 2, -0.05),
                                ((x1 - x0) / 2, (y1 - y0) / 2, 0.05), colour, tile=1.0))
    for w in home.walls:
        (ax, ay), (bx, by) = w.start, w.end
        length = math.hypot(bx - ax, by - ay)
        if length < 1e-3:
            continue
        yaw = math.atan2(by - ay, bx - ax)
        static.append(_box_body(cid, ((ax + bx) / 2, (ay + by) / 2, w.height / 2),
                                (length / 2 + w.thickness / 2, w.thickness / 2, w.height / 2),
                                WALL_COLOUR, yaw=yaw))
    things: dict[str, BuiltThing] = {}
    body_to_object: dict[int, str] = {}
    for f in home.furniture:
        built = _build_furniture(cid, f)
        things[f.object_id] = built
        for body in built.part_bodies:
            body_to_object[body] = f.object_id
        if built.door_body is not None:
            body_to_object[built.door_body] = f.object_id
    for o in home.objects:
        built = _build_object(cid, o)
        things[o.object_id] = built
        body_to_object[built.body] = o.object_id
    return BuiltWorld(things, body_to_object, static)


def _build_furniture(cid: int, f: PlacedThing) -> BuiltThing:
    # One static body per box: multi-link static bodies lose their links' collision
    # shapes and boxes under maximal coordinates, and static bodies cost no physics time.
    geom = furniture_geometry(f.object_type, f.size)
    bodies, indicators = [], []
    for part in geom.parts:
        centre = _local_to_map(f.position, f.yaw, part.centre)
        body = _box_body(cid, centre, part.half, part.colour, yaw=f.yaw)
        bodies.append(body)
        if part.indicator:
            indicators.append((body, part.colour))
    built = BuiltThing(f.object_id, f.object_type, bodies[0], geom, None, indicators,
                       tuple(f.position), f.yaw, bodies)
    if geom.door is not None:
        d = geom.door
        built.door_body = _box_body(cid, f.position, d.half, d.colour)
        set_door(cid, built, bool(f.states.get('open', False)))
    if f.states.get('toggled'):
        set_indicator(cid, built, True)
    return built


def _local_to_map(position, yaw: float, local) -> tuple[float, float, float]:
    dx, dy = rotate(yaw, local[0], local[1])
    return (position[0] + dx, position[1] + dy, position[2] + local[2])


def slide_offset(built: BuiltThing) -> tuple[float, float, float]:
    """How far (in `map`) an open drawer's box and contents are moved out; zero otherwise."""
    slide = built.geometry.slide if built.geometry is not None else None
    if slide is None:
        return (0.0, 0.0, 0.0)
    dx, dy = rotate(built.yaw, slide[0], slide[1])
    return (dx, dy, slide[2])


def _build_object(cid: int, o: PlacedThing) -> BuiltThing:
    body = object_body(cid, o.object_type, o.size, o.position, o.yaw)
    return BuiltThing(o.object_id, o.object_type, body, position=tuple(o.position), yaw=o.yaw)


def object_body(cid: int, object_type: str, size: tuple[float, float, float], position,
                yaw: float, shape: str | None = None) -> int:
    """A small object's body, dynamic with the type's mass.

    A box collision shape of extents `size` and a box, sphere or cylinder visual (`shape`,
    else the type's).
    """
    spec = CATALOG[object_type]
    shape = shape or spec.shape
    half = [s / 2 for s in size]
    col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=cid)
    if shape == 'sphere':
        vis = p.createVisualShape(p.GEOM_SPHERE, radius=min(half), rgbaColor=spec.colour,
                                  physicsClientId=cid)
    elif shape == 'cylinder':
        vis = p.createVisualShape(p.GEOM_CYLINDER, radius=min(half[0], half[1]),
                                  length=size[2], rgbaColor=spec.colour, physicsClientId=cid)
    else:
        vis = p.createVisualShape(p.GEOM_BOX, halfExtents=half, rgbaColor=spec.colour,
                                  physicsClientId=cid)
    body = p.createMultiBody(spec.mass, col, vis, position, quat(yaw), physicsClientId=cid)
    p.changeDynamics(body, -1, lateralFriction=1.0, spinningFriction=0.01,
                     rollingFriction=0.01, restitution=0.0, linearDamping=0.5,
                     angularDamping=0.5, physicsClientId=cid)
    return body


def set_door(cid: int, built: BuiltThing, is_open: bool) -> None:
    """Move a furniture piece's door body (and a drawer's box) to its open or closed pose."""
    if built.door_body is None or built.geometry is None or built.geometry.door is None:
        return
    d = built.geometry.door
    local = d.open_centre if is_open else d.closed_centre
    yaw = built.yaw + (d.open_yaw if is_open else 0.0)
    p.resetBasePositionAndOrientation(built.door_body,
                                      _local_to_map(built.position, built.yaw, local),
                                      quat(yaw), physicsClientId=cid)
    slide = built.geometry.slide if is_open and built.geometry.slide else (0.0, 0.0, 0.0)
    for part, body in zip(built.geometry.parts, built.part_bodies):
        if part.slides:
            local = tuple(c + s for c, s in zip(part.centre, slide))
            p.resetBasePositionAndOrientation(
                body, _local_to_map(built.position, built.yaw, local), quat(built.yaw),
                physicsClientId=cid)
    built.is_open = is_open


def set_indicator(cid: int, built: BuiltThing, on: bool) -> None:
    """Light up (or darken) the parts that show a furniture piece is switched on."""
    for body, colour in built.indicator_links:
        p.changeVisualShape(body, -1, rgbaColor=ON_COLOUR if on else colour,
                            physicsClientId=cid)
