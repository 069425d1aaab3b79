"""AI2-THOR object metadata -> an `ImportedScene`: every object converted, and a `HomeSpec`.

Input is the list `controller.last_event.metadata['objects']` gives (or a JSON file of it):
objectType, objectId, position, axisAlignedBoundingBox (cornerPoints, or center + size) and,
where present, rotation, isOpen, isToggled, isDirty, isCooked, isSliced, isFilledWithLiquid,
isUsedUp, temperature, receptacleObjectIds and parentReceptacles.

Every object becomes a `SceneObject` with its box in REP 103 (`sim.ai2thor.frames`), its
type mapped through the ALFRED-L importer's alias table and a role:
- `object`: a small pickupable thing, built as a box of its real size at its real place;
- `furniture`: built with the catalogue geometry of its type over its real box, facing away
  from the nearest wall (doors open into the room);
- `housing`: `Sink` and `ShelvingUnit` are shells around their receptacle parts (SinkBasin,
  Shelf boards), which are imported as their own objects. Their boxes are kept (they block
  the robot) but they are not bodies: a solid box would swallow the parts;
- `unmapped`: no catalogue type; reported by name, not built.
Parents come from parentReceptacles when present, else from geometry (the smallest
receptacle whose box holds the object). A corner counter whose box spans free floor is
built as the two arms that hold things (`sim.ai2thor.counter_shape`). The place graph is a
grid on the free floor (`sim.ai2thor.floor_graph`).
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory_nodes.domain.ontology import Ontology
from sim.ai2thor.counter_shape import split_corner_counter
from sim.ai2thor.floor_graph import build_floor_graph
from sim.ai2thor.frames import unity_box_to_rep103, unity_to_rep103, unity_yaw_to_rep103
from sim.catalog import CATALOG, WORLD_ONTOLOGY
from sim.furniture_geometry import furniture_geometry
from sim.geometry import inflate
from sim.home import HomeSpec, PlacedThing, RoomSpec, WallSpec
from sim.home_completion import thing_surfaces
from sim.placement import object_half_extents

log = logging.getLogger(__name__)

Vec3 = tuple[float, float, float]

#: Housing type -> the type of its receptacle parts (imported as separate objects).
HOUSINGS = {'Sink': 'SinkBasin', 'ShelvingUnit': 'Shelf'}

#: AI2-THOR state fields -> our state keys.
STATE_FIELDS = {'isOpen': 'open', 'isToggled': 'toggled', 'isDirty': 'dirty',
                'isCooked': 'cooked', 'isSliced': 'sliced', 'isFilledWithLiquid': 'filled',
                'isUsedUp': 'used_up'}

#: A SinkBasin's AI2-THOR box covers the rim; the basin is built at least this deep.
MIN_BASIN_HEIGHT = 0.22
WALL_THICKNESS = 0.1
#: An object's box may sink this far into its support (AI2-THOR's thin things) and be
#: raised onto it; a surface higher above its bottom is not what it rests on.
MAX_SINK = 0.1
#: How near the edge of a container's surface (to its walls) an imported object may lie.
CONTAINER_WALL_GAP = 0.015
WALL_HEIGHT = 2.5


class SceneImportError(ValueError):
    """The input is not AI2-THOR object metadata."""


@dataclass
class SceneObject:
    """One AI2-THOR object after conversion to REP 103."""

    object_id: str
    ai2thor_type: str
    object_type: str | None
    role: str  # 'object' | 'furniture' | 'housing' | 'unmapped'
    aabb_min: Vec3
    aabb_max: Vec3
    position: Vec3
    yaw: float = 0.0
    states: dict[str, bool] = field(default_factory=dict)
    parent: str | None = None
    relation: str | None = None
    alias_note: str = ''

    @property
    def size(self) -> Vec3:
        """Extents of the box along map x, y, z."""
        return tuple(b - a for a, b in zip(self.aabb_min, self.aabb_max))  # type: ignore

    @property
    def centre(self) -> Vec3:
        """Centre of the box."""
        return tuple((a + b) / 2 for a, b in zip(self.aabb_min, self.aabb_max))  # type: ignore


@dataclass
class ImportedScene:
    """An imported AI2-THOR scene: every object, the home built from it, what was assumed."""

    name: str
    objects: list[SceneObject]
    home: HomeSpec
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: HomeSpec thing id -> AI2-THOR objectId (differs only for split counter arms).
    source_ids: dict[str, str] = field(default_factory=dict)
    #: Object id -> (x, y, z) shift of a small object built on (in) the support its
    #: AI2-THOR box sinks into (`rest_on_supports`).
    moved: dict[str, Vec3] = field(default_factory=dict)

    def object(self, object_id: str) -> SceneObject:
        """The scene object with AI2-THOR id `object_id`."""
        for o in self.objects:
            if o.object_id == object_id:
                return o
        raise KeyError(f'no object {object_id!r} in scene {self.name!r}')

    def source_id(self, thing_id: str) -> str:
        """The AI2-THOR objectId a HomeSpec thing stands for."""
        return self.source_ids.get(thing_id, thing_id)

    def report(self) -> str:
        """What was built, for people: counts per type, roles, unmapped names, notes."""
        roles = Counter(o.role for o in self.objects)
        per_type = Counter(o.ai2thor_type for o in self.objects)
        lines = [f'{self.name}: {len(self.objects)} AI2-THOR objects imported '
                 f'({", ".join(f"{n} {r}" for r, n in sorted(roles.items()))})',
                 f'home: {len(self.home.furniture)} furniture + {len(self.home.objects)} '
                 f'object bodies, {len(self.home.waypoints)} waypoints, '
                 f'{len(self.home.edges)} edges, start {self.home.robot_start}',
                 'types: ' + ', '.join(f'{t} x{n}' if n > 1 else t
                                       for t, n in sorted(per_type.items()))]
        mapped = sorted({f'{o.ai2thor_type} -> {o.object_type} ({o.alias_note})'
                         for o in self.objects if o.alias_note and o.role != 'housing'})
        housings = sorted({f'{o.ai2thor_type} ({o.alias_note})' for o in self.objects
                           if o.role == 'housing'})
        if housings:
            lines.append('housings (boxes kept, not bodies): ' + '; '.join(housings))
        if mapped:
            lines.append('mapped by alias: ' + '; '.join(mapped))
        lines.append('unmapped: ' + (', '.join(self.unmapped) if self.unmapped else 'none'))
        lines += [f'note: {n}' for n in self.notes]
        return '\n'.join(lines)

    def box_lines(self) -> list[str]:
        """One line per object: id, role, mapped type, box in map (metres), parent."""
        out = []
        for o in self.objects:
            lo = ', '.join(f'{v:+.2f}' for v in o.aabb_min)
            hi = ', '.join(f'{v:+.2f}' for v in o.aabb_max)
            parent = f' {o.relation} {o.parent}' if o.parent else ''
            out.append(f'{o.object_id:45s} {o.role:9s} {o.object_type or "?":14s} '
                       f'[{lo}]..[{hi}]{parent}')
        return out


# ---------------------------------------------------------------------------- conversion
def _box(raw: dict[str, Any]) -> tuple[Vec3, Vec3]:
    box = raw.get('axisAlignedBoundingBox') or {}
    corners = box.get('cornerPoints')
    if corners:
        return unity_box_to_rep103(corners)
    centre, size = box.get('center'), box.get('size')
    if centre and size:
        c = unity_to_rep103(centre)
        s = unity_to_rep103(size)
        half = [abs(v) / 2 for v in s]
        return (tuple(c[k] - half[k] for k in range(3)),  # type: ignore[return-value]
                tuple(c[k] + half[k] for k in range(3)))
    p = unity_to_rep103(raw['position'])
    return p, p


def _states(raw: dict[str, Any], object_type: str | None) -> dict[str, bool]:
    spec = CATALOG.get(object_type or '')
    keys = set(spec.state_keys()) if spec else set()
    out = {k: False for k in keys}
    for name, key in STATE_FIELDS.items():
        if name in raw and key in keys and raw[name] is not None:
            out[key] = bool(raw[name])
    temperature = str(raw.get('temperature') or '').lower()
    if 'hot' in keys and temperature in ('hot', 'cold'):
        out['hot'], out['cold'] = temperature == 'hot', temperature == 'cold'
    return out


def convert_object(raw: dict[str, Any], ontology: Ontology) -> SceneObject:
    """One AI2-THOR metadata entry -> `SceneObject` (no parent yet)."""
    try:
        ai_type, object_id = str(raw['objectType']), str(raw['objectId'])
        position = unity_to_rep103(raw['position'])
    except (KeyError, TypeError) as err:
        raise SceneImportError(f'object entry lacks {err}: {str(raw)[:120]}') from None
    lo, hi = _box(raw)
    rotation = raw.get('rotation')
    yaw = unity_yaw_to_rep103(float(rotation['y'])) if isinstance(rotation, dict) else 0.0
    if ai_type in HOUSINGS:
        return SceneObject(object_id, ai_type, None, 'housing', lo, hi, position, yaw,
                           alias_note=f'housing of its {HOUSINGS[ai_type]} parts')
    alias = ontology.resolve(ai_type)
    if not alias.ok:
        return SceneObject(object_id, ai_type, None, 'unmapped', lo, hi, position, yaw,
                           alias_note=alias.note)
    object_type = alias.object_type
    role = CATALOG[object_type].kind
    note = '' if alias.how in ('exact', 'case') else f'{alias.how}'
    return SceneObject(object_id, ai_type, object_type, role, lo, hi, position, yaw,
                       _states(raw, object_type), alias_note=note)


# ---------------------------------------------------------------------------- parents
def _area(lo: Vec3, hi: Vec3) -> float:
    return max(0.0, hi[0] - lo[0]) * max(0.0, hi[1] - lo[1])


def _xy_overlap(a: SceneObject, b: SceneObject) -> float:
    """Fraction of a's footprint that lies over b's footprint."""
    w = min(a.aabb_max[0], b.aabb_max[0]) - max(a.aabb_min[0], b.aabb_min[0])
    h = min(a.aabb_max[1], b.aabb_max[1]) - max(a.aabb_min[1], b.aabb_min[1])
    own = _area(a.aabb_min, a.aabb_max)
    if w <= 0 or h <= 0:
        return 0.0
    return 1.0 if own <= 1e-9 else w * h / own


def _rests_in(o: SceneObject, r: SceneObject) -> bool:
    """Vertical test: o in (or on) receptacle r, allowing for AI2-THOR's thin boxes."""
    relation = CATALOG[r.object_type].receptacle
    bottom, centre = o.aabb_min[2], o.centre[2]
    if relation == 'in':
        # A basin's or bowl's box may stop at its rim: allow the centre a little below it.
        return r.aabb_min[2] - 0.12 <= centre <= r.aabb_max[2]
    return abs(bottom - r.aabb_max[2]) <= 0.04 or abs(bottom - r.aabb_min[2]) <= 0.04


def find_parent(o: SceneObject, things: list[SceneObject]) -> SceneObject | None:
    """The smallest receptacle whose box holds `o` (by footprint overlap and height).

    Furniture (a toaster, a coffee machine) only stands on furniture surfaces.
    """
    best = None
    for r in things:
        if r is o or r.object_type is None or r.role not in ('furniture', 'object'):
            continue
        relation = CATALOG[r.object_type].receptacle
        if relation is None or (o.role == 'furniture' and (relation != 'on'
                                                           or r.role != 'furniture')):
            continue
        if _xy_overlap(o, r) < 0.5 or not _rests_in(o, r):
            continue
        own = _area(o.aabb_min, o.aabb_max)
        if r.role == 'object' and _area(r.aabb_min, r.aabb_max) <= own:
            continue
        key = _area(r.aabb_min, r.aabb_max)
        if best is None or key < best[0]:
            best = (key, r)
    return None if best is None else best[1]


def _explicit_parent(raw: dict[str, Any], by_id: dict[str, SceneObject],
                     o: SceneObject) -> SceneObject | None:
    """The innermost receptacle AI2-THOR names in parentReceptacles, if any."""
    names = raw.get('parentReceptacles') or []
    cands = []
    for pid in names:
        p = by_id.get(pid)
        if p is not None and p.role == 'housing':
            parts = [t for t in by_id.values() if t.object_type == HOUSINGS[p.ai2thor_type]
                     and _xy_overlap(t, p) > 0.5]
            p = min(parts, key=lambda t: math.dist(t.centre, o.centre)) if parts else None
        if p is not None and p.object_type and CATALOG[p.object_type].receptacle:
            cands.append(p)
    return min(cands, key=lambda t: _area(t.aabb_min, t.aabb_max)) if cands else None


# ---------------------------------------------------------------------------- the home
def _facing_yaw(o: SceneObject, room: tuple[float, float, float, float]) -> float:
    """Yaw whose local +y (the front) points away from the wall nearest to `o`."""
    cx, cy, _ = o.centre
    gaps = [(cx - room[0], (1.0, 0.0)), (room[2] - cx, (-1.0, 0.0)),
            (cy - room[1], (0.0, 1.0)), (room[3] - cy, (0.0, -1.0))]
    _, (dx, dy) = min(gaps)
    return math.atan2(-dx, dy)


def _placed(o: SceneObject, thing_id: str, lo: Vec3, hi: Vec3, yaw: float) -> PlacedThing:
    ex, ey, ez = (hi[k] - lo[k] for k in range(3))
    quarter = round(yaw / (math.pi / 2)) % 2 == 1
    size = (ey, ex, ez) if quarter else (ex, ey, ez)
    cx, cy = (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2
    position = (cx, cy, (lo[2] + hi[2]) / 2) if o.role == 'object' else (cx, cy, lo[2])
    return PlacedThing(thing_id, o.object_type or o.ai2thor_type, 'kitchen',
                       tuple(round(v, 5) for v in size),  # type: ignore[arg-type]
                       tuple(round(v, 5) for v in position),  # type: ignore[arg-type]
                       round(yaw, 6), o.parent, o.relation,  # type: ignore[arg-type]
                       dict(o.states))


def _deepen_housed_parts(objects: list[SceneObject], notes: list[str]
                         ) -> dict[str, tuple[Vec3, Vec3]]:
    """Boxes to build Shelf boards with: their housing's depth (AI2-THOR's are shallower)."""
    out: dict[str, tuple[Vec3, Vec3]] = {}
    for housing in (o for o in objects if o.ai2thor_type == 'ShelvingUnit'):
        for part in objects:
            if part.object_type != HOUSINGS['ShelvingUnit'] or _xy_overlap(part, housing) < 0.5:
                continue
            lo, hi = list(part.aabb_min), list(part.aabb_max)
            axis = 0 if hi[0] - lo[0] < hi[1] - lo[1] else 1
            old = hi[axis] - lo[axis]
            lo[axis], hi[axis] = housing.aabb_min[axis], housing.aabb_max[axis]
            if hi[axis] - lo[axis] > old + 0.01:
                out[part.object_id] = (tuple(lo), tuple(hi))  # type: ignore[assignment]
                notes.append(f'{part.object_id}: {old:.2f} m deep in AI2-THOR, built as deep '
                             f'as its {housing.ai2thor_type} ({hi[axis] - lo[axis]:.2f} m)')
    return out


def _behind_door(object_type: str, lo: Vec3, hi: Vec3, yaw: float) -> tuple[Vec3, Vec3]:
    """AI2-THOR's box includes a closed door; ours stands in front of the body: make room."""
    size = (hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2])
    door = furniture_geometry(object_type, size).door if object_type in CATALOG else None
    if door is None:
        return lo, hi
    t = 2 * door.half[1]
    fx, fy = round(-math.sin(yaw)), round(math.cos(yaw))
    lo_l, hi_l = list(lo), list(hi)
    for axis, direction in ((0, fx), (1, fy)):
        if direction > 0:
            hi_l[axis] -= t
        elif direction < 0:
            lo_l[axis] += t
    return tuple(lo_l), tuple(hi_l)  # type: ignore[return-value]


def _room_footprint(objects: list[SceneObject]) -> tuple[float, float, float, float]:
    floors = [o for o in objects if o.ai2thor_type == 'Floor']
    boxes = floors or objects
    return (min(o.aabb_min[0] for o in boxes), min(o.aabb_min[1] for o in boxes),
            max(o.aabb_max[0] for o in boxes), max(o.aabb_max[1] for o in boxes))


def _walls(fp: tuple[float, float, float, float]) -> list[WallSpec]:
    # Centre lines half a thickness outside the floor, so the inner faces are its edges.
    h = WALL_THICKNESS / 2
    x0, y0, x1, y1 = fp[0] - h, fp[1] - h, fp[2] + h, fp[3] + h
    return [WallSpec((x0, y0), (x1, y0), WALL_THICKNESS, WALL_HEIGHT),
            WallSpec((x1, y0), (x1, y1), WALL_THICKNESS, WALL_HEIGHT),
            WallSpec((x1, y1), (x0, y1), WALL_THICKNESS, WALL_HEIGHT),
            WallSpec((x0, y1), (x0, y0), WALL_THICKNESS, WALL_HEIGHT)]


def import_objects(raw_objects: list[dict[str, Any]], name: str = 'ai2thor_scene'
                   ) -> ImportedScene:
    """Convert AI2-THOR object metadata into an `ImportedScene` with a buildable home."""
    if not isinstance(raw_objects, list) or not raw_objects:
        raise SceneImportError('expected a non-empty list of AI2-THOR objects')
    objects = [convert_object(raw, WORLD_ONTOLOGY) for raw in raw_objects]
    by_id = {o.object_id: o for o in objects}
    if len(by_id) != len(objects):
        raise SceneImportError('duplicate objectId in the input')
    room = _room_footprint(objects)
    notes: list[str] = []
    # Corner counters first: parents must be found against the arms, not the phantom box.
    arms: dict[str, list[tuple[str, Vec3, Vec3]]] = {}
    for o in objects:
        if o.object_type == 'CounterTop':
            parts = split_corner_counter(o, objects, room)
            if len(parts) > 1:
                arms[o.object_id] = parts
                notes.append(f'{o.object_id}: corner counter built as {len(parts)} arms '
                             f'({", ".join(p[0] for p in parts)}); their union is its box')
    receptacles = list(objects)
    arm_objects: dict[str, SceneObject] = {}
    for oid, parts in arms.items():
        base = by_id[oid]
        receptacles.remove(base)
        for pid, lo, hi in parts:
            arm_objects[pid] = SceneObject(pid, base.ai2thor_type, base.object_type,
                                           base.role, lo, hi, base.position, base.yaw,
                                           dict(base.states))
            receptacles.append(arm_objects[pid])
    for raw, o in zip(raw_objects, objects):
        if o.role not in ('object', 'furniture') or o.ai2thor_type in ('Floor', 'Window'):
            continue
        parent = _explicit_parent(raw, by_id, o)
        if parent is not None and parent.object_id in arms:
            parent = find_parent(o, [arm_objects[p[0]] for p in arms[parent.object_id]])
        if parent is None and (o.role == 'object' or o.aabb_min[2] > 0.3):
            parent = find_parent(o, receptacles)
        if parent is not None:
            o.parent = parent.object_id
            o.relation = CATALOG[parent.object_type].receptacle
        elif o.role == 'object':
            notes.append(f'{o.object_id}: rests on no known receptacle')
    build_boxes = _deepen_housed_parts(objects, notes)
    home = _build_home(name, objects, arms, room, notes, build_boxes)
    moved = rest_on_supports(home)
    for oid, shift in moved.items():
        notes.append(f'{oid}: its AI2-THOR box sinks into its support; built resting on '
                     f'(in) it, moved ' + ', '.join(f'{axis} {100 * v:+.1f} cm' for axis, v
                                                    in zip('xyz', shift) if abs(v) > 1e-4))
    unmapped = sorted({o.ai2thor_type for o in objects if o.role == 'unmapped'})
    source_ids = {pid: oid for oid, parts in arms.items() for pid, _, _ in parts}
    scene = ImportedScene(name, objects, home, unmapped, notes, source_ids, moved)
    log.info('%s: imported %d objects, %d unmapped', name, len(objects), len(unmapped))
    return scene


def _build_home(name: str, objects: list[SceneObject],
                arms: dict[str, list[tuple[str, Vec3, Vec3]]],
                room: tuple[float, float, float, float], notes: list[str],
                build_boxes: dict[str, tuple[Vec3, Vec3]]) -> HomeSpec:
    home = HomeSpec(name, [RoomSpec('kitchen', 'kitchen', room)], walls=_walls(room))
    for o in objects:
        if o.role not in ('object', 'furniture'):
            continue
        if o.role == 'object':
            home.objects.append(_placed(o, o.object_id, o.aabb_min, o.aabb_max, 0.0))
            continue
        yaw = _facing_yaw(o, room)
        box = build_boxes.get(o.object_id, (o.aabb_min, o.aabb_max))
        for pid, lo, hi in arms.get(o.object_id, [(o.object_id, *box)]):
            lo, hi = _behind_door(o.object_type or '', lo, hi, yaw)
            if o.object_type == 'SinkBasin' and hi[2] - lo[2] < MIN_BASIN_HEIGHT:
                deeper = hi[2] - MIN_BASIN_HEIGHT
                notes.append(f'{o.object_id}: AI2-THOR box covers the rim only '
                             f'({hi[2] - lo[2]:.2f} m); basin built {MIN_BASIN_HEIGHT} m deep '
                             f'(bottom {lo[2] - deeper:.2f} m lower)')
                lo = (lo[0], lo[1], deeper)
            home.furniture.append(_placed(o, pid, lo, hi, yaw))
    for f in home.furniture:
        if f.object_type == 'Faucet':
            basins = [b for b in home.furniture if b.object_type == 'SinkBasin']
            if basins:
                here = f.position[:2]
                nearest = min(basins, key=lambda b: math.dist(b.position[:2], here))
                f.attached_to = nearest.object_id
    link_stove_knobs(home.furniture)
    # What stands on the floor blocks the robot; so do counters, whose bases AI2-THOR
    # does not list as objects (an island is a slab at 1.1 m in the metadata).
    obstacles = [(o.aabb_min[0], o.aabb_min[1], o.aabb_max[0], o.aabb_max[1])
                 for o in objects if o.ai2thor_type not in ('Floor', 'CounterTop')
                 and o.aabb_min[2] < 0.45 and o.aabb_max[2] > 0.05]
    obstacles += [f.footprint() for f in home.furniture if f.object_type == 'CounterTop']
    build_floor_graph(home, obstacles)
    return home


def rest_on_supports(home: HomeSpec, tolerance: float = 0.002
                     ) -> dict[str, tuple[float, float, float]]:
    """Move each small object whose box sinks into its parent's support onto (into) it.

    AI2-THOR's boxes of thin things overlap what they lie on (a butter knife inside a
    2 cm counter slab, cutlery in a drawer's floor and walls), so no camera could see them.
    The support is the parent's surface (as `thing_surfaces` gives it) under the object's
    centre, or the nearest one, that is neither above the object's top nor more than
    `MAX_SINK` above its bottom, and of those (shelves) the one nearest its bottom; a small
    receptacle object's is its top. An object below its support is raised onto it; in a
    container with walls (a drawer, a cabinet, a fridge) one that sticks into a wall is
    also moved inside (`CONTAINER_WALL_GAP` from the surface's edge). Parents are settled
    before their children, so a thing on a plate rests on the plate where the plate ends
    up. Returns object id -> the (x, y, z) shift of those moved.
    """
    by_id = {t.object_id: t for t in home.things()}
    objects = {o.object_id for o in home.objects}
    moved: dict[str, tuple[float, float, float]] = {}
    done: set[str] = set()

    def settle(o: PlacedThing) -> None:
        if o.object_id in done:
            return
        done.add(o.object_id)
        parent = by_id.get(o.parent or '')
        if parent is None or parent.position is None or o.position is None:
            return
        if parent.object_id in objects:
            settle(parent)
        x, y, z = o.position
        bottom, top = z - o.size[2] / 2, z + o.size[2] / 2
        reach = max(top, bottom + MAX_SINK) + tolerance
        below = [s for s in thing_surfaces(home, parent) if s.z <= reach]
        if not below:
            return

        def gap(s) -> float:
            x0, y0, x1, y1 = s.rect
            return math.hypot(max(x0 - x, 0.0, x - x1), max(y0 - y, 0.0, y - y1))

        support = min(below, key=lambda s: (round(gap(s), 3), abs(s.z - bottom)))
        shift = [0.0, 0.0, max(0.0, support.z - bottom)]
        spec = CATALOG.get(parent.object_type)
        if parent.object_id not in objects and spec is not None and spec.receptacle == 'in':
            half = object_half_extents(o.size, o.yaw)
            rect = inflate(support.rect, CONTAINER_WALL_GAP)
            for k, centre in enumerate((x, y)):
                lo, hi = rect[k] + half[k], rect[k + 2] - half[k]
                inside = (lo + hi) / 2 if lo > hi else min(max(centre, lo), hi)
                shift[k] = inside - centre
        if max(abs(v) for v in shift) > tolerance:
            o.position = (round(x + shift[0], 5), round(y + shift[1], 5),
                          round(z + shift[2], 5))
            moved[o.object_id] = (shift[0], shift[1], shift[2])

    for o in home.objects:
        settle(o)
    return moved


def link_stove_knobs(furniture: list[PlacedThing]) -> None:
    """Attach each StoveKnob to the StoveBurner it turns (`attached_to`), one knob a burner.

    AI2-THOR's dumps do not say which knob controls which burner; the nearest pairs (in
    the plan, closest first) are taken, and a knob left over goes to its nearest burner.
    """
    knobs = [f for f in furniture if f.object_type == 'StoveKnob' and not f.attached_to]
    burners = [f for f in furniture if f.object_type == 'StoveBurner']
    if not burners:
        return
    pairs = sorted((math.dist(k.position[:2], b.position[:2]), i, j)
                   for i, k in enumerate(knobs) for j, b in enumerate(burners))
    taken_knobs: set[int] = set()
    taken_burners: set[int] = set()
    for _, i, j in pairs:
        if i not in taken_knobs and j not in taken_burners:
            knobs[i].attached_to = burners[j].object_id
            taken_knobs.add(i)
            taken_burners.add(j)
    for i, knob in enumerate(knobs):
        if i not in taken_knobs:
            here = knob.position[:2]
            knob.attached_to = min(burners, key=lambda b: math.dist(b.position[:2],
                                                                    here)).object_id


# ---------------------------------------------------------------------------- files
def objects_from_json(doc: Any) -> list[dict[str, Any]]:
    """The object list from a dump: a list, {'objects': [...]} or an event's metadata."""
    if isinstance(doc, dict):
        doc = doc.get('objects', doc.get('metadata', {}).get('objects')
                      if isinstance(doc.get('metadata'), dict) else None)
    if not isinstance(doc, list):
        raise SceneImportError('no object list: expected a list, {"objects": [...]} or '
                               '{"metadata": {"objects": [...]}}')
    return doc


def import_scene_file(path: str | Path, name: str | None = None) -> ImportedScene:
    """Read an AI2-THOR object dump (JSON) and import it."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise SceneImportError(f'{path.name}: not JSON: line {err.lineno}: {err.msg}') from None
    return import_objects(objects_from_json(doc), name or path.stem)


__all__ = ['HOUSINGS', 'ImportedScene', 'SceneImportError', 'SceneObject', 'convert_object',
           'find_parent', 'import_objects', 'import_scene_file', 'objects_from_json',
           'rest_on_supports']
