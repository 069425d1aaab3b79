"""Deterministic multi-room homes from a seed and a `LayoutSpec`.

Rooms sit on a grid (columns of random width, rows of random depth); a random spanning
tree of neighbouring rooms (plus, sometimes, an extra link) gets doorways; furniture from a
per-room template is packed along the walls (backs to the wall, fronts facing in, a clear
zone in front for the robot) or stands in the middle; appliances stand on counters;
small objects are spread over the receptacles their catalogue entry allows. The same seed
and layout always give the same `HomeSpec`.

`complete_home` (also used for imported homes) fills in object poses and the place graph.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass, field

from sim.ai2thor.extra_types import ALFRED_PLACEMENT
from sim.catalog import CATALOG, GENERATED_DIRTY, ROOM_TYPES
from sim.furniture_geometry import top_height
from sim.geometry import Rect, footprint, inflate, inside, overlaps
from sim.home import DoorwaySpec, HomeSpec, PlacedThing, RoomSpec, WallSpec
from sim.home_completion import complete_home, occupied_on, thing_surfaces
from sim.placement import sample_pose

log = logging.getLogger(__name__)

#: Per room type: furniture along walls (required), optional extras, free-standing pieces,
#: and pieces that stand on another piece of furniture (type -> parent type).
TEMPLATES: dict[str, dict] = {
    'kitchen': {
        'wall': ['Fridge', 'CounterTop', 'SinkBasin', 'StoveBurner', 'CounterTop', 'Cabinet',
                 'Drawer', 'GarbageCan'],
        'optional': ['Cabinet', 'Drawer', 'StoveBurner'],
        'centre': ['DiningTable'],
        'on': {'Microwave': 'CounterTop', 'Toaster': 'CounterTop', 'CoffeeMachine': 'CounterTop'},
    },
    'living_room': {
        'wall': ['Sofa', 'TVStand', 'Shelf', 'SideTable', 'GarbageCan'],
        'optional': ['ArmChair', 'FloorLamp', 'Shelf', 'SideTable'],
        'centre': ['CoffeeTable'],
        'on': {'Television': 'TVStand', 'DeskLamp': 'SideTable'},
    },
    'bedroom': {
        'wall': ['Bed', 'Desk', 'SideTable', 'Dresser'],
        'optional': ['Shelf', 'Drawer', 'FloorLamp', 'GarbageCan'],
        'centre': [],
        'on': {'DeskLamp': 'Desk'},
    },
    'bathroom': {
        'wall': ['Toilet', 'SinkBasin', 'BathtubBasin', 'TowelHolder'],
        'optional': ['CounterTop', 'Shelf', 'Cabinet', 'GarbageCan'],
        'centre': [],
        'on': {},
    },
}

MARGIN = 0.06  # gap between furniture and walls / neighbours
APPROACH_DEPTH = 0.85  # clear zone in front of furniture for the robot
APPROACH_DIST = 0.55  # where the robot stands, from the front edge
DOOR_CLEAR = 0.9  # kept free on both sides of a doorway


@dataclass
class LayoutSpec:
    """What kind of home to generate."""

    rooms: tuple[str, ...] = ROOM_TYPES
    columns: int = 2
    column_width: tuple[float, float] = (4.6, 5.6)
    row_depth: tuple[float, float] = (4.2, 5.0)
    objects_per_room: dict[str, int] = field(default_factory=lambda: {
        'kitchen': 16, 'living_room': 9, 'bedroom': 8, 'bathroom': 7})
    required_objects: tuple[str, ...] = ()
    #: Furniture and appliances every room of the home must have on top of its template
    #: (`furnishing_for` says where each goes); empty: the templates alone, as always.
    required_furniture: tuple[str, ...] = ()
    extra_door_probability: float = 0.5
    door_width: float = 1.0
    wall_height: float = 2.2


def generate_home(seed: int, layout: LayoutSpec | None = None) -> HomeSpec:
    """A complete home (furniture, objects, place graph) from `seed` and `layout`."""
    layout = layout or LayoutSpec()
    rng = random.Random(seed)
    for t in layout.rooms:
        if t not in TEMPLATES:
            raise ValueError(f'unknown room type {t!r} (known: {sorted(TEMPLATES)})')
    for t in layout.required_objects:
        if t not in CATALOG or CATALOG[t].kind != 'object':
            raise ValueError(f'required object {t!r} is not a small object type')
    for t in layout.required_furniture:
        if t not in CATALOG or CATALOG[t].kind != 'furniture':
            raise ValueError(f'required furniture {t!r} is not a furniture type')
    rooms = _rooms(rng, layout)
    doorways = _doorways(rng, rooms, layout)
    walls = _walls(rooms, doorways, layout)
    home = HomeSpec(name=f'home_{seed}', rooms=rooms, walls=walls, doorways=doorways,
                    seed=seed)
    counters: dict[str, int] = {}
    for room in rooms:
        _furnish(rng, home, room, counters, layout.required_furniture)
    _spawn_objects(rng, home, layout, counters)
    complete_home(home, seed)
    return home


def _rooms(rng: random.Random, layout: LayoutSpec) -> list[RoomSpec]:
    n = len(layout.rooms)
    cols = max(1, min(layout.columns, n))
    nrows = math.ceil(n / cols)
    widths = [round(rng.uniform(*layout.column_width), 1) for _ in range(cols)]
    depths = [round(rng.uniform(*layout.row_depth), 1) for _ in range(nrows)]
    seen: dict[str, int] = {}
    rooms = []
    for i, room_type in enumerate(layout.rooms):
        c, r = i % cols, i // cols
        x0, y0 = sum(widths[:c]), -sum(depths[:r + 1])
        seen[room_type] = seen.get(room_type, 0) + 1
        name = room_type if seen[room_type] == 1 else f'{room_type}_{seen[room_type]}'
        rooms.append(RoomSpec(name, room_type, (x0, y0, x0 + widths[c], y0 + depths[r])))
    return rooms


def _shared_wall(a: Rect, b: Rect) -> tuple[str, float, float, float] | None:
    """(axis, fixed coordinate, lo, hi) of the wall two grid rooms share, if any."""
    if abs(a[2] - b[0]) < 1e-6 or abs(b[2] - a[0]) < 1e-6:
        x = a[2] if abs(a[2] - b[0]) < 1e-6 else a[0]
        lo, hi = max(a[1], b[1]), min(a[3], b[3])
        return ('y', x, lo, hi) if hi - lo > 1.5 else None
    if abs(a[3] - b[1]) < 1e-6 or abs(b[3] - a[1]) < 1e-6:
        y = a[3] if abs(a[3] - b[1]) < 1e-6 else a[1]
        lo, hi = max(a[0], b[0]), min(a[2], b[2])
        return ('x', y, lo, hi) if hi - lo > 1.5 else None
    return None


def _doorways(rng: random.Random, rooms: list[RoomSpec], layout: LayoutSpec) -> list[DoorwaySpec]:
    pairs = [(i, j) for i in range(len(rooms)) for j in range(i + 1, len(rooms))
             if _shared_wall(rooms[i].footprint, rooms[j].footprint)]
    rng.shuffle(pairs)
    parent = list(range(len(rooms)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    chosen = []
    for i, j in pairs:
        if find(i) != find(j):
            parent[find(i)] = find(j)
            chosen.append((i, j))
        elif rng.random() < layout.extra_door_probability:
            chosen.append((i, j))
    doors = []
    for i, j in sorted(chosen):
        axis, fixed, lo, hi = _shared_wall(rooms[i].footprint, rooms[j].footprint)
        half = layout.door_width / 2
        t = round(rng.uniform(lo + half + 0.7, hi - half - 0.7), 2)
        center = (t, fixed) if axis == 'x' else (fixed, t)
        doors.append(DoorwaySpec((rooms[i].name, rooms[j].name), center, layout.door_width,
                                 axis))
    return doors


def _walls(rooms: list[RoomSpec], doors: list[DoorwaySpec], layout: LayoutSpec) -> list[WallSpec]:
    segments: dict[tuple, tuple] = {}
    for room in rooms:
        x0, y0, x1, y1 = room.footprint
        for seg in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)),
                    ((x0, y1), (x1, y1)), ((x0, y0), (x0, y1))):
            (a, b) = sorted(seg)
            # Keep only the part of a side not already covered (shared walls appear once).
            segments[(round(a[0], 3), round(a[1], 3), round(b[0], 3), round(b[1], 3))] = (a, b)
    walls = []
    for a, b in _split_overlaps(list(segments.values())):
        cuts = []
        for d in doors:
            on_x = d.axis == 'x' and abs(a[1] - d.center[1]) < 1e-6 and a[1] == b[1]
            on_y = d.axis == 'y' and abs(a[0] - d.center[0]) < 1e-6 and a[0] == b[0]
            along = d.center[0] if on_x else d.center[1]
            lo, hi = (a[0], b[0]) if on_x else (a[1], b[1])
            if (on_x or on_y) and lo < along < hi:
                cuts.append((along - d.width / 2, along + d.width / 2))
        horizontal = a[1] == b[1]
        start = a[0] if horizontal else a[1]
        end = b[0] if horizontal else b[1]
        for c0, c1 in sorted(cuts) + [(end, end)]:
            if c0 - start > 1e-6:
                p = (start, a[1]) if horizontal else (a[0], start)
                q = (c0, a[1]) if horizontal else (a[0], c0)
                walls.append(WallSpec(p, q, height=layout.wall_height))
            start = c1
    return walls


def _split_overlaps(segs: list[tuple]) -> list[tuple]:
    """Merge collinear overlapping wall segments into disjoint pieces."""
    lines: dict[tuple, list[tuple[float, float]]] = {}
    for a, b in segs:
        if a[1] == b[1]:
            lines.setdefault(('h', a[1]), []).append((a[0], b[0]))
        else:
            lines.setdefault(('v', a[0]), []).append((a[1], b[1]))
    out = []
    for (kind, fixed), spans in sorted(lines.items()):
        spans.sort()
        merged = [list(spans[0])]
        for lo, hi in spans[1:]:
            if lo <= merged[-1][1] + 1e-6:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        for lo, hi in merged:
            out.append(((lo, fixed), (hi, fixed)) if kind == 'h' else ((fixed, lo), (fixed, hi)))
    return out


def _new_id(object_type: str, counters: dict[str, int]) -> str:
    counters[object_type] = counters.get(object_type, 0) + 1
    return f'{object_type}_{counters[object_type]}'


def _door_zones(home: HomeSpec, room: RoomSpec) -> list[Rect]:
    zones = []
    for d in home.doorways:
        if room.name not in d.rooms:
            continue
        w = d.width / 2 + 0.15
        if d.axis == 'x':
            zones.append((d.center[0] - w, d.center[1] - DOOR_CLEAR, d.center[0] + w,
                          d.center[1] + DOOR_CLEAR))
        else:
            zones.append((d.center[0] - DOOR_CLEAR, d.center[1] - w, d.center[0] + DOOR_CLEAR,
                          d.center[1] + w))
    return zones


def _front_zone(pos, yaw: float, width: float, depth: float) -> Rect:
    fx, fy = -math.sin(yaw), math.cos(yaw)
    cx = pos[0] + fx * (depth / 2 + APPROACH_DEPTH / 2)
    cy = pos[1] + fy * (depth / 2 + APPROACH_DEPTH / 2)
    return footprint((cx, cy), yaw, max(width, 0.6) / 2, APPROACH_DEPTH / 2)


#: Furniture fixed to another piece rather than standing on the floor: type -> the piece
#: it needs (a faucet on a sink basin's rim, a stove knob on the front of a burner, a
#: shower head on the wall over a bath tub).
FIXTURES = {'Faucet': 'SinkBasin', 'StoveKnob': 'StoveBurner', 'ShowerHead': 'BathtubBasin'}
#: Pieces that never stand in a room as furniture of their own.
STRUCTURE = frozenset({'Floor', 'Window'})


def furnishing_for(room_type: str, required: tuple[str, ...] | list[str]) -> dict:
    """`room_type`'s template with every `required` piece added where such pieces go.

    A piece another template stands on furniture (a microwave on a counter, a desk lamp on
    a side table) goes on that parent, which becomes required too; a piece some template
    puts in the middle of a room (a dining table) goes in the middle; a fixture
    (`FIXTURES`) needs its base piece; a light switch is fixed to the wall above a low
    piece; anything else stands against a wall. Pieces already in the template's wall
    list are not added again unless `required` names them more often (three counter runs);
    optional ones become required.
    """
    base = TEMPLATES[room_type]
    out = {'wall': list(base['wall']), 'optional': list(base['optional']),
           'centre': list(base['centre']), 'on': dict(base['on']), 'switch': False}
    stands_on = {t: p for tpl in TEMPLATES.values() for t, p in tpl['on'].items()}
    centre = {t for tpl in TEMPLATES.values() for t in tpl['centre']}

    def need_on_wall(piece: str) -> None:
        wanted = max(1, list(required).count(piece))
        if out['wall'].count(piece) >= wanted or piece in out['centre']:
            return
        if piece in out['optional']:
            out['optional'].remove(piece)
        out['wall'].append(piece)

    for piece in required:
        if piece in STRUCTURE:
            continue
        if piece == 'LightSwitch':
            out['switch'] = True
        elif piece in FIXTURES:
            need_on_wall(FIXTURES[piece])
        elif piece in out['on'] or piece in stands_on:
            parent = out['on'].get(piece) or stands_on[piece]
            out['on'][piece] = parent
            need_on_wall(parent)
        elif piece in centre:
            if piece not in out['centre']:
                out['centre'].append(piece)
        else:
            need_on_wall(piece)
    return out


def _furnish(rng: random.Random, home: HomeSpec, room: RoomSpec, counters: dict,
             required: tuple[str, ...] = ()) -> None:
    template = furnishing_for(room.room_type, required) if required else \
        TEMPLATES[room.room_type]
    blocked = _door_zones(home, room)  # no footprint may enter these
    optional = [t for t in template['optional'] if rng.random() < 0.6]
    for _attempt in range(12):  # retry the packing until every required piece fits
        taken: list[Rect] = []  # footprints
        fronts: list[Rect] = []  # approach zones
        poses, missing = [], []
        for object_type in template['wall'] + optional:
            pose = _wall_slot(rng, room.footprint, CATALOG[object_type].size, taken, fronts,
                              blocked)
            if pose is None:
                if object_type in template['wall']:
                    missing.append(object_type)
                continue
            poses.append((object_type, pose))
            taken.append(footprint(pose[0], pose[1], CATALOG[object_type].size[0] / 2,
                                   CATALOG[object_type].size[1] / 2))
            fronts.append(_front_zone(pose[0], pose[1], *CATALOG[object_type].size[:2]))
        if not missing:
            break
    if missing:
        log.warning('%s: no wall space for %s in %s', home.name, missing, room.name)
    taken, fronts = [], []
    for object_type, pose in poses:
        _add_furniture(home, room, object_type, pose, counters, taken, fronts)
    for object_type in template['centre']:
        pose = _centre_slot(rng, room.footprint, CATALOG[object_type].size, taken, fronts,
                            blocked)
        if pose is not None:
            _add_furniture(home, room, object_type, pose, counters, taken, fronts)
    for object_type, parent_type in template['on'].items():
        parents = [f for f in home.furniture if f.room == room.name
                   and f.object_type == parent_type and f.parent is None]
        if parents:
            _put_on_furniture(rng, home, room, object_type, rng.choice(parents), counters)
    for sink in [f for f in home.furniture if f.room == room.name and f.object_type ==
                 'SinkBasin']:
        x, y, z = sink.position
        bx = -math.sin(sink.yaw) * (-sink.size[1] / 2 + 0.06)
        by = math.cos(sink.yaw) * (-sink.size[1] / 2 + 0.06)
        home.furniture.append(PlacedThing(
            _new_id('Faucet', counters), 'Faucet', room.name, CATALOG['Faucet'].size,
            (x + bx, y + by, z + sink.size[2]), sink.yaw, attached_to=sink.object_id,
            states=CATALOG['Faucet'].default_states()))
    if 'StoveKnob' in required:
        for burner in [f for f in home.furniture if f.room == room.name
                       and f.object_type == 'StoveBurner']:
            _add_knob(home, room, burner, counters)
    if 'ShowerHead' in required:
        for tub in [f for f in home.furniture if f.room == room.name
                    and f.object_type == 'BathtubBasin']:
            _add_shower_head(home, room, tub, counters)
    if template.get('switch'):
        _add_light_switch(home, room, counters)


def _fixed_to(home: HomeSpec, room: RoomSpec, object_type: str, base: PlacedThing,
              local: tuple[float, float, float], counters: dict) -> None:
    """A fixture at `local` of `base` (x across, y towards its front, z up from the floor)."""
    c, s = math.cos(base.yaw), math.sin(base.yaw)
    lx, ly, lz = local
    x, y, _ = base.position
    home.furniture.append(PlacedThing(
        _new_id(object_type, counters), object_type, room.name, CATALOG[object_type].size,
        (round(x + c * lx - s * ly, 3), round(y + s * lx + c * ly, 3), round(lz, 3)),
        base.yaw, attached_to=base.object_id, states=CATALOG[object_type].default_states()))


def _add_knob(home: HomeSpec, room: RoomSpec, burner: PlacedThing, counters: dict) -> None:
    """A stove knob on the front face of `burner`, near its top; it switches that burner."""
    size = CATALOG['StoveKnob'].size
    _fixed_to(home, room, 'StoveKnob', burner,
              (0.0, burner.size[1] / 2 + size[1] / 2, burner.size[2] - 0.08), counters)


def _add_shower_head(home: HomeSpec, room: RoomSpec, tub: PlacedThing, counters: dict) -> None:
    """A shower head on the wall behind one end of `tub`, above head height of the tub."""
    size = CATALOG['ShowerHead'].size
    _fixed_to(home, room, 'ShowerHead', tub,
              (tub.size[0] / 2 - 0.2, -tub.size[1] / 2 + size[1] / 2, 1.5), counters)


def _add_light_switch(home: HomeSpec, room: RoomSpec, counters: dict) -> None:
    """A light switch on the wall behind the shallowest low wall piece, at hand height."""
    pieces = [f for f in home.furniture if f.room == room.name and f.parent is None
              and f.attached_to is None and f.size[2] < 1.1
              and CATALOG[f.object_type].kind == 'furniture']
    if not pieces:
        log.warning('%s: no wall piece in %s to put a light switch over', home.name, room.name)
        return
    base = min(pieces, key=lambda f: (f.size[1], f.object_id))  # shallow: within reach
    size = CATALOG['LightSwitch'].size
    _fixed_to(home, room, 'LightSwitch', base,
              (0.0, -base.size[1] / 2 - MARGIN + size[1] / 2, 1.25), counters)


def _fits(fp: Rect, front: Rect, room: Rect, taken, fronts, blocked) -> bool:
    return (inside(inflate(fp, MARGIN - 0.001), room) and inside(front, room)
            and not any(overlaps(inflate(fp, MARGIN), r) for r in taken + fronts + blocked)
            and not any(overlaps(front, r) for r in taken))


def _wall_slot(rng, room: Rect, size, taken, fronts, blocked):
    w, d = size[0], size[1]
    x0, y0, x1, y1 = room
    sides = [('S', 0.0), ('N', math.pi), ('W', -math.pi / 2), ('E', math.pi / 2)]
    rng.shuffle(sides)
    for side, yaw in sides:
        lo, hi = (x0, x1) if side in 'SN' else (y0, y1)
        ts = [lo + MARGIN + w / 2 + 0.1 * k for k in range(int((hi - lo) / 0.1) + 1)]
        if rng.random() < 0.5:
            ts.reverse()
        for t in ts:
            if side == 'S':
                pos = (t, y0 + MARGIN + d / 2)
            elif side == 'N':
                pos = (t, y1 - MARGIN - d / 2)
            elif side == 'W':
                pos = (x0 + MARGIN + d / 2, t)
            else:
                pos = (x1 - MARGIN - d / 2, t)
            fp = footprint(pos, yaw, w / 2, d / 2)
            if _fits(fp, _front_zone(pos, yaw, w, d), room, taken, fronts, blocked):
                return pos, yaw
    return None


def _centre_slot(rng, room: Rect, size, taken, fronts, blocked):
    cx, cy = (room[0] + room[2]) / 2, (room[1] + room[3]) / 2
    best = None
    for yaw in (0.0, math.pi / 2):
        for i in range(-15, 16):
            for j in range(-15, 16):
                pos = (cx + 0.1 * i, cy + 0.1 * j)
                fp = footprint(pos, yaw, size[0] / 2, size[1] / 2)
                ring = inflate(fp, 0.75)
                if not inside(ring, room) or any(overlaps(ring, r) for r in taken + blocked):
                    continue
                if any(overlaps(fp, r) for r in fronts):
                    continue
                score = math.hypot(i, j) + rng.random()
                if best is None or score < best[0]:
                    best = (score, pos, yaw)
    return None if best is None else (best[1], best[2])


def _add_furniture(home, room, object_type, pose, counters, taken, fronts) -> None:
    spec = CATALOG[object_type]
    (x, y), yaw = pose
    thing = PlacedThing(_new_id(object_type, counters), object_type, room.name, spec.size,
                        (round(x, 3), round(y, 3), 0.0), yaw,
                        states=spec.default_states())
    home.furniture.append(thing)
    taken.append(thing.footprint())
    fronts.append(_front_zone((x, y), yaw, spec.size[0], spec.size[1]))


def _put_on_furniture(rng, home, room, object_type, parent: PlacedThing, counters) -> None:
    spec = CATALOG[object_type]
    px, py, pz = parent.position
    used = [f for f in home.furniture if f.parent == parent.object_id]
    side = 1.0 if len(used) % 2 == 0 else -1.0
    slot = len(used) // 2
    w, d = spec.size[0], spec.size[1]
    lx = side * (parent.size[0] / 2 - w / 2 - 0.04 - slot * (w + 0.05))
    if object_type == 'Television':
        lx = 0.0
    if abs(lx) + w / 2 > parent.size[0] / 2:
        return
    ly = -parent.size[1] / 2 + d / 2 + 0.04
    c, s = math.cos(parent.yaw), math.sin(parent.yaw)
    pos = (px + c * lx - s * ly, py + s * lx + c * ly,
           pz + top_height(parent.object_type, parent.size))
    home.furniture.append(PlacedThing(
        _new_id(object_type, counters), object_type, room.name, spec.size,
        tuple(round(v, 3) for v in pos), parent.yaw, parent=parent.object_id, relation='on',
        states=spec.default_states()))


def _spawn_objects(rng, home: HomeSpec, layout: LayoutSpec, counters: dict) -> None:
    required = list(layout.required_objects)
    for room in home.rooms:
        present = {f.object_type for f in home.furniture if f.room == room.name}
        candidates = [t for t, s in CATALOG.items() if s.kind == 'object'
                      and room.room_type in s.rooms and present & set(s.kept_on)]
        rng.shuffle(candidates)
        picks = [t for t in required if t in candidates]
        required = [t for t in required if t not in picks]
        n = layout.objects_per_room.get(room.room_type, 6)
        picks += [t for t in candidates if t not in picks][:max(0, n - len(picks))]
        for object_type in picks:
            if not _add_object(rng, home, room, object_type, counters):
                log.info('%s: no free receptacle for %s in %s', home.name, object_type,
                         room.name)
    for object_type in required:  # not native to any room here: where it is kept if there
        for room in home.rooms:  # is such a piece, else anywhere it fits
            if _add_object(rng, home, room, object_type, counters):
                break
        else:
            if not any(_add_object(rng, home, room, object_type, counters, any_surface=True)
                       for room in home.rooms):
                raise ValueError(f'{home.name}: no receptacle for required object '
                                 f'{object_type}')


def _add_object(rng, home, room, object_type, counters, any_surface=False) -> bool:
    spec = CATALOG[object_type]
    kept_on = spec.kept_on or ALFRED_PLACEMENT.get(object_type, ((), ()))[1]
    parents = [f for f in home.furniture if f.room == room.name and (
        f.object_type in kept_on
        or (any_surface and CATALOG[f.object_type].receptacle == 'on'))]
    rng.shuffle(parents)
    for parent in parents:
        pose = sample_pose(rng, thing_surfaces(home, parent), spec.size,
                           occupied_on(home, parent.object_id))
        if pose is None:
            continue
        (x, y, z), yaw, _ = pose
        states = spec.default_states()
        if object_type in GENERATED_DIRTY:
            states['dirty'] = rng.random() < 0.35
        if parent.object_type == 'Fridge' and 'cold' in states:
            states['cold'] = True
        home.objects.append(PlacedThing(
            _new_id(object_type, counters), object_type, room.name, spec.size,
            (round(x, 4), round(y, 4), round(z, 4)), round(yaw, 6), parent.object_id,
            CATALOG[parent.object_type].receptacle, states))
        return True
    return False
