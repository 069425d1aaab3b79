"""The primitive skills of `PyBulletSimulator`, each bounded, timed and honest about failure.

Failure reasons (`SkillResult.reason`):
  unknown_skill, missing_argument, unknown_object_type, object_not_found, unknown_area,
  no_path, out_of_reach, hand_full, hand_empty, not_holding_target, not_pickupable,
  inside_closed_receptacle, not_a_receptacle, receptacle_closed, invalid_receptacle,
  no_space, unstable, not_openable, already_open, already_closed, not_toggleable,
  already_on, already_off, not_sliceable, already_sliced, no_knife, not_fillable,
  already_empty, budget_exceeded, tilt_out_of_range.

Targets resolve as `SkillTarget` says: by id, else the nearest object of the type within
`tolerance` of the believed position (distance to its box), else, with no position, the
nearest of that type in the robot's current room (what it could find by looking around).
A `SkillCall.tilt` outside the head's joint limits fails before anything moves; driving
returns the head to its default tilt (see `sim.head` for where it looks otherwise).
"""

from __future__ import annotations

import math

from memory_nodes.domain.skills import (
    PRIMITIVE_SKILLS,
    ObjectEvent,
    SkillCall,
    SkillResult,
    SkillTarget,
)
from sim.catalog import CATALOG, SLICING_TOOLS
from sim.geometry import inflate
from sim.head import clamp_tilt, extra_view_tilts, look_point, tilt_towards
from sim.place_graph import ROBOT_RADIUS, astar, crosses_wall, nearest_waypoint
from sim.placement import object_top_surface, sample_pose, scan_pose
from sim.robot import CAMERA_PITCH, LINEAR_SPEED, REACH, TILT_MAX, TILT_MIN, TURN_SPEED

PICK_S, PUT_S, OPEN_S, TOGGLE_S, SLICE_S, LOOK_S, POUR_S = 1.5, 1.5, 1.5, 1.0, 2.0, 0.5, 1.5
MAX_PATH_WAYPOINTS = 400
MAX_EXPLORE_WAYPOINTS = 40
MAX_SKILL_SECONDS = 900.0
OPEN_CLEARANCE = 0.05  # m between the base and a drawer it pulled out


class SkillFailure(Exception):
    """A named failure raised inside a skill."""

    def __init__(self, reason: str, message: str = '') -> None:
        super().__init__(message or reason)
        self.reason, self.message = reason, message or reason


def run_skill(sim, call: SkillCall) -> SkillResult:
    """Execute `call` on `sim`; state rules run afterwards; events list what changed."""
    start_time = sim.time
    path = [0.0]
    before = _snapshot(sim)
    resolved = None
    try:
        if call.name not in PRIMITIVE_SKILLS:
            raise SkillFailure('unknown_skill', f'unknown skill {call.name!r}')
        if call.tilt is not None and not TILT_MIN <= call.tilt <= TILT_MAX:
            raise SkillFailure('tilt_out_of_range', f'{call.name}: tilt {call.tilt!r} rad '
                               f'({math.degrees(call.tilt):.1f} deg) is outside the head '
                               f'limits {math.degrees(TILT_MIN):.0f}..'
                               f'{math.degrees(TILT_MAX):.0f} deg')
        resolved = _SKILLS[call.name](sim, call, path)
        ok, reason, message = True, None, ''
    except SkillFailure as e:
        ok, reason, message = False, e.reason, e.message
    sim.apply_rules()
    if sim.time - start_time > MAX_SKILL_SECONDS and ok:
        ok, reason, message = False, 'budget_exceeded', 'skill ran past its time budget'
    return SkillResult(ok, call.name, reason, message, sim.time - start_time, path[0],
                       _events(sim, before), resolved)


# ------------------------------------------------------------------ resolution, reach
def resolve(sim, target: SkillTarget | None, what: str = 'target') -> str:
    """The object id a `SkillTarget` stands for, or a SkillFailure."""
    if target is None:
        raise SkillFailure('missing_argument', f'no {what} given')
    if target.object_id is not None:
        if target.object_id not in sim.things:
            raise SkillFailure('object_not_found', f'no object {target.object_id!r}')
        return target.object_id
    if target.object_type not in CATALOG:
        raise SkillFailure('unknown_object_type', f'unknown object type {target.object_type!r}')
    cands = [oid for oid, t in sim.things.items() if t.object_type == target.object_type]
    if target.position is not None:
        scored = [(_box_distance(sim, oid, target.position), oid) for oid in cands]
        scored = [(d, oid) for d, oid in scored if d <= target.tolerance]
    else:
        room = sim.home.room_at(sim.robot.x, sim.robot.y)
        scored = [(_box_distance(sim, oid, (sim.robot.x, sim.robot.y, 1.0)), oid)
                  for oid in cands if oid == sim.held or _room_of(sim, oid) == room]
    if not scored:
        where = (f'within {target.tolerance} m of {tuple(round(v, 2) for v in target.position)}'
                 if target.position is not None else 'in this room')
        raise SkillFailure('object_not_found', f'no {target.object_type} {where}')
    return min(scored)[1]


def _box_distance(sim, oid: str, point) -> float:
    lo, hi = sim.aabb(oid)
    d = [max(lo[k] - point[k], 0.0, point[k] - hi[k]) for k in range(min(3, len(point)))]
    return math.sqrt(sum(v * v for v in d))


def _room_of(sim, oid: str) -> str | None:
    lo, hi = sim.aabb(oid)
    return sim.home.room_at((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2)


def _check_reach(sim, oid: str) -> None:
    if oid == sim.held or oid in sim.carried:
        return
    d, (x, y) = _floor_distance(sim, sim.robot.x, sim.robot.y, oid)
    if d > REACH or crosses_wall(sim.home, (sim.robot.x, sim.robot.y), (x, y)):
        raise SkillFailure('out_of_reach', f'{oid} is {d:.2f} m away (reach {REACH} m)')
    lo, hi = sim.aabb(oid)
    sim.advance(sim.robot.face((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2) / TURN_SPEED)


def _enclosing_closed(sim, oid: str) -> str | None:
    parent = sim.things[oid].parent
    while parent is not None and parent in sim.things:
        t = sim.things[parent]
        if CATALOG[t.object_type].openable and not t.states.get('open'):
            return parent
        parent = t.parent
    return None


# ------------------------------------------------------------------ navigation
def approach_waypoint(sim, oid: str) -> str:
    """The waypoint the robot stands at to reach `oid`."""
    base = oid
    while True:
        t = sim.things[base]
        nxt = t.parent or t.attached_to
        if nxt is None or nxt not in sim.things:
            break
        base = nxt
    if sim.things[base].kind == 'furniture':
        name = sim.home.thing(base).approach
        if name is not None:
            if base == oid or _distance_from(sim, sim.home.waypoint(name), oid) <= REACH:
                return name
            # At the far side of a table: go round to where the hand reaches it.
            return _nearest_in_reach(sim, oid) or name
    lo, hi = sim.aabb(oid)
    cx, cy = (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2
    return nearest_waypoint(sim.home, cx, cy, room=sim.home.room_at(cx, cy)).name


def _floor_distance(sim, x: float, y: float, oid: str) -> tuple[float, tuple[float, float]]:
    """Floor distance from (x, y) to the nearest point of `oid`'s box, and that point."""
    lo, hi = sim.aabb(oid)
    nx, ny = min(max(x, lo[0]), hi[0]), min(max(y, lo[1]), hi[1])
    return math.hypot(nx - x, ny - y), (nx, ny)


def _distance_from(sim, waypoint, oid: str) -> float:
    """Floor distance from `waypoint` to the nearest point of `oid`'s box."""
    return _floor_distance(sim, waypoint.x, waypoint.y, oid)[0]


def _nearest_in_reach(sim, oid: str) -> str | None:
    """The waypoint of `oid`'s room nearest to it from which the hand reaches it, if any."""
    lo, hi = sim.aabb(oid)
    cx, cy = (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2
    room = sim.home.room_at(cx, cy)
    best = None
    for w in sim.home.waypoints:
        if w.room != room or w.name not in sim.adjacency:
            continue
        d = _distance_from(sim, w, oid)
        if d <= REACH - 0.05 and not crosses_wall(sim.home, (w.x, w.y), (cx, cy)) and \
                (best is None or d < best[0]):
            best = (d, w.name)
    return None if best is None else best[1]


def go_to_waypoint(sim, goal: str, path: list[float]) -> None:
    """Drive along the A* path to waypoint `goal`, charging time and path length."""
    found = astar(sim.home, sim.robot.waypoint, goal, sim.adjacency)
    if found is None:
        raise SkillFailure('no_path', f'no path from {sim.robot.waypoint} to {goal}')
    names, _ = found
    if len(names) > 1:
        tilt_head(sim, CAMERA_PITCH)  # a robot drives looking ahead
    limit = MAX_PATH_WAYPOINTS if sim.max_path_waypoints is None else sim.max_path_waypoints
    if len(names) > limit:
        raise SkillFailure('budget_exceeded', f'path of {len(names)} waypoints')
    for name in names[1:]:
        w = sim.home.waypoint(name)
        sim.advance(sim.robot.face(w.x, w.y) / TURN_SPEED)
        dist = math.hypot(w.x - sim.robot.x, w.y - sim.robot.y)
        sim.robot.set_pose(w.x, w.y, sim.robot.yaw)
        sim.robot.waypoint = name
        sim.update_carried()
        path[0] += dist
        sim.advance(dist / LINEAR_SPEED)
        if sim.observe_path and sim.observer is not None:
            sim.observer(sim.render())


def _navigate_to(sim, call: SkillCall, path: list[float]) -> str:
    oid = resolve(sim, call.target)
    if oid != sim.held:
        go_to_waypoint(sim, approach_waypoint(sim, oid), path)
        lo, hi = sim.aabb(oid)
        sim.advance(sim.robot.face((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2) / TURN_SPEED)
        sim.update_carried()
    if call.tilt is not None:
        tilt_head(sim, call.tilt)
    if sim.observer is not None:
        sim.observer(sim.render())
    return oid


def tilt_head(sim, tilt: float) -> None:
    """Tilt the head camera to `tilt` (rad below horizontal), charging the time it takes."""
    sim.advance(sim.robot.set_tilt(tilt) / TURN_SPEED)


def _look_at(sim, call: SkillCall, path: list[float]) -> str | None:
    """Turn base and head towards the target (into a container), or to `call.tilt`.

    A target without a type or id is a point in `map`. The head goes as far as its joint
    allows when the target is beyond it; an explicit tilt must be within the limits.
    """
    oid, point = None, None
    if call.target is not None and call.target.object_type is None \
            and call.target.object_id is None and call.target.position is not None:
        point = tuple(call.target.position)
    elif call.target is not None:
        oid = resolve(sim, call.target)
        point = sim.robot.hand_position() if oid == sim.held else look_point(sim, oid)
    elif call.tilt is None:
        raise SkillFailure('missing_argument', 'look_at needs a target or a tilt')
    if point is not None:
        sim.advance(sim.robot.face(point[0], point[1]) / TURN_SPEED)
        sim.update_carried()
    tilt = call.tilt if call.tilt is not None else clamp_tilt(
        tilt_towards(sim.robot.camera_pose(), point))
    tilt_head(sim, tilt)
    sim.advance(LOOK_S)
    if sim.observer is not None:
        sim.observer(sim.render())
    return oid


def _explore(sim, call: SkillCall, path: list[float]) -> None:
    rooms = {r.name: r for r in sim.home.rooms}
    area = call.area or (call.target.object_type if call.target else None)
    if area not in rooms:
        by_type = [r for r in sim.home.rooms if r.room_type == area]
        if not by_type:
            raise SkillFailure('unknown_area', f'no room {area!r} (rooms: {sorted(rooms)})')
        area = by_type[0].name
    todo = [w for w in sim.home.waypoints if w.room == area and w.kind == 'room']
    todo = todo[:MAX_EXPLORE_WAYPOINTS]
    while todo:
        w = min(todo, key=lambda w: math.hypot(w.x - sim.robot.x, w.y - sim.robot.y))
        todo.remove(w)
        go_to_waypoint(sim, w.name, path)
        tilt = CAMERA_PITCH if call.tilt is None else call.tilt
        for k in range(4):
            sim.robot.set_pose(sim.robot.x, sim.robot.y, sim.robot.yaw + (math.pi / 2 if k else 0))
            sim.update_carried()
            sim.advance(LOOK_S + (math.pi / 2 / TURN_SPEED if k else 0.0))
            tilt_head(sim, tilt)
            extra = [] if call.tilt is not None else extra_view_tilts(
                sim, sim.robot.camera_pose(), sim.robot.yaw, tilt)
            for view_tilt in [tilt] + extra:
                if view_tilt != tilt:  # a second, lower (or higher) look at the furniture
                    tilt_head(sim, view_tilt)
                    sim.advance(LOOK_S)
                if sim.observer is not None:
                    sim.observer(sim.render())
    tilt_head(sim, CAMERA_PITCH)
    return None


# ------------------------------------------------------------------ manipulation
def _pick_up(sim, call: SkillCall, path: list[float]) -> str:
    oid = resolve(sim, call.target)
    t = sim.things[oid]
    if not CATALOG[t.object_type].pickupable:
        raise SkillFailure('not_pickupable', f'{oid} cannot be picked up')
    if sim.held is not None:
        raise SkillFailure('hand_full', f'already holding {sim.held}')
    _check_reach(sim, oid)
    closed = _enclosing_closed(sim, oid)
    if closed is not None:
        raise SkillFailure('inside_closed_receptacle', f'{oid} is inside closed {closed}')
    (ox, oy, oz), oyaw = sim.pose_of(oid)
    c, s = math.cos(-oyaw), math.sin(-oyaw)
    sim.carried = {}
    for child in sim.descendants(oid):
        (cx, cy, cz), _ = sim.pose_of(child)
        dx, dy = cx - ox, cy - oy
        sim.carried[child] = (c * dx - s * dy, s * dx + c * dy, cz - oz)
    sim.held = oid
    t.parent, t.relation = None, None
    sim.update_carried()
    sim.advance(PICK_S)
    return oid


def place_object(sim, oid: str, rid: str, tries: int = 30) -> str | None:
    """Put `oid` (and what rests on it) at a sampled stable pose on `rid`; None if it worked.

    Returns 'no_space' when no free spot fits, 'unstable' when it would not stay put.
    """
    moving = [oid] + [d for d in sim.descendants(oid) if d not in (oid,)]
    if sim.held == oid:
        moving = [oid] + list(sim.carried)
    rtype = sim.things[rid].object_type
    if sim.things[rid].kind == 'furniture':
        surfaces = sim.surfaces(rid)  # an open drawer's are slid out
    else:
        lo, hi = sim.aabb(rid)
        surfaces = [object_top_surface(lo, hi, sim.pose_of(rid)[1])]
    occupied = []
    for other, t in sim.things.items():
        if other in moving:
            continue
        if t.parent == rid or t.attached_to == rid:
            lo, hi = sim.aabb(other)
            occupied.append(((lo[0], lo[1], hi[0], hi[1]), lo[2], hi[2]))
    (ox, oy, oz), oyaw = sim.pose_of(oid)
    offsets = {}
    for child in moving[1:]:
        (cx, cy, cz), _ = sim.pose_of(child)
        offsets[child] = (cx - ox, cy - oy, cz - oz)
    size = sim.things[oid].size
    extra_h = max([off[2] + sim.things[c].size[2] / 2 for c, off in offsets.items()] + [0.0])
    reason = 'no_space'
    for _ in range(3):
        extent = (size[0], size[1], size[2] + extra_h)
        pose = sample_pose(sim.rng, surfaces, extent, occupied, tries=tries) or \
            scan_pose(surfaces, extent, occupied)
        if pose is None:
            return reason
        (x, y, _), yaw, index = pose
        z = surfaces[index].z + size[2] / 2 + 0.002
        sim.set_pose(oid, (x, y, z), yaw)
        for child, (dx, dy, dz) in offsets.items():
            sim.set_pose(child, (x + dx, y + dy, z + dz), yaw)
        sim.settle(moving)
        (nx, ny, nz), _ = sim.pose_of(oid)
        surf = surfaces[index]
        rect = inflate(surf.rect, 0.03)
        if rect[0] <= nx <= rect[2] and rect[1] <= ny <= rect[3] and \
                abs(nz - size[2] / 2 - surf.z) < 0.05:
            t = sim.things[oid]
            t.parent, t.relation = rid, CATALOG[rtype].receptacle
            return None
        reason = 'unstable'
    return reason


def _put(sim, call: SkillCall, path: list[float]) -> str:
    if sim.held is None:
        raise SkillFailure('hand_empty', 'nothing in the hand to put')
    held_type = sim.things[sim.held].object_type
    # "Put the apple" while holding an apple means the one in the hand, wherever memory
    # last saw it; only an explicit id or another type must match the hand.
    if call.target is not None and (call.target.object_id is not None
                                    or call.target.object_type != held_type):
        oid = resolve(sim, call.target)
        if oid != sim.held:
            raise SkillFailure('not_holding_target', f'holding {sim.held}, not {oid}')
    oid = sim.held
    rid = resolve(sim, call.receptacle, 'receptacle')
    if CATALOG[sim.things[rid].object_type].receptacle is None:
        raise SkillFailure('not_a_receptacle', f'{rid} is not a receptacle')
    if rid == oid or rid in sim.carried:
        raise SkillFailure('invalid_receptacle', f'cannot put {oid} into itself')
    _check_reach(sim, rid)
    closed = rid if CATALOG[sim.things[rid].object_type].openable and not sim.things[
        rid].states.get('open') else _enclosing_closed(sim, rid)
    if closed is not None:
        raise SkillFailure('receptacle_closed', f'{closed} is closed')
    sim.advance(PUT_S)
    reason = place_object(sim, oid, rid)
    if reason is not None:
        sim.update_carried()
        raise SkillFailure(reason, f'could not place {oid} on {rid} ({reason})')
    sim.held, sim.carried = None, {}
    sim.advance(sim.settle_s)
    return oid


def _set_flag(sim, call: SkillCall, key: str, value: bool) -> str:
    oid = resolve(sim, call.target)
    spec = CATALOG[sim.things[oid].object_type]
    able = spec.openable if key == 'open' else spec.toggleable
    if not able:
        raise SkillFailure(f'not_{"openable" if key == "open" else "toggleable"}',
                           f'{oid} cannot be {"opened" if key == "open" else "switched"}')
    _check_reach(sim, oid)
    states = sim.things[oid].states
    if bool(states.get(key)) == value:
        word = {('open', True): 'already_open', ('open', False): 'already_closed',
                ('toggled', True): 'already_on', ('toggled', False): 'already_off'}
        raise SkillFailure(word[(key, value)], f'{oid} is {word[(key, value)][8:]}')
    states[key] = value
    sim.show_state(oid)
    if key == 'open' and value and sim.slides_open(oid):
        _make_room(sim, oid)
    if key == 'toggled':
        for other in _switched_with(sim, oid):
            sim.things[other].states['toggled'] = value
            sim.show_state(other)
    sim.advance(OPEN_S if key == 'open' else TOGGLE_S)
    return oid


def _make_room(sim, oid: str) -> None:
    """Step back from a drawer that just slid out until the base is clear of it.

    The robot backs away from the nearest point of its box, charging the time; it stays
    where it is if that would take it through a wall.
    """
    lo, hi = sim.aabb(oid)
    x, y = sim.robot.x, sim.robot.y
    nx, ny = min(max(x, lo[0]), hi[0]), min(max(y, lo[1]), hi[1])
    gap = math.hypot(x - nx, y - ny)
    need = ROBOT_RADIUS + OPEN_CLEARANCE - gap
    if need <= 0.0:
        return
    if gap > 1e-6:
        ux, uy = (x - nx) / gap, (y - ny) / gap
    else:  # already inside the box: straight back
        ux, uy = -math.cos(sim.robot.yaw), -math.sin(sim.robot.yaw)
    goal = (x + ux * need, y + uy * need)
    if crosses_wall(sim.home, (x, y), goal):
        return
    sim.robot.set_pose(goal[0], goal[1], sim.robot.yaw)
    sim.update_carried()
    sim.advance(need / LINEAR_SPEED)


def _switched_with(sim, oid: str) -> list[str]:
    """What turns on and off with `oid`.

    A burner's knobs (so the knob rule keeps the burner as it was set), the lights of a
    light switch's room.
    """
    t = sim.things[oid]
    if t.object_type == 'StoveBurner':
        return [k for k, o in sim.things.items()
                if o.object_type == 'StoveKnob' and o.attached_to == oid]
    if t.object_type == 'LightSwitch':
        return [k for k, o in sim.things.items() if k != oid and o.room == t.room
                and 'light' in CATALOG[o.object_type].categories
                and 'switch' not in CATALOG[o.object_type].categories
                and 'toggled' in o.states]
    return []


def _slice(sim, call: SkillCall, path: list[float]) -> str:
    oid = resolve(sim, call.target)
    t = sim.things[oid]
    if not CATALOG[t.object_type].sliceable:
        raise SkillFailure('not_sliceable', f'{oid} cannot be sliced')
    if sim.held is None or sim.things[sim.held].object_type not in SLICING_TOOLS:
        raise SkillFailure('no_knife', 'slicing needs a Knife or ButterKnife in the hand')
    _check_reach(sim, oid)
    closed = _enclosing_closed(sim, oid)
    if closed is not None:
        raise SkillFailure('inside_closed_receptacle', f'{oid} is inside closed {closed}')
    if t.states.get('sliced'):
        raise SkillFailure('already_sliced', f'{oid} is already sliced')
    sim.make_slice(oid, near=(sim.robot.x, sim.robot.y))  # sets the state; a slice from now on
    sim.advance(SLICE_S)
    return oid


def _pour_out(sim, call: SkillCall, path: list[float]) -> str:
    oid = resolve(sim, call.target)
    if oid != sim.held:
        raise SkillFailure('not_holding_target', f'pouring needs {oid} in the hand')
    if not CATALOG[sim.things[oid].object_type].fillable:
        raise SkillFailure('not_fillable', f'{oid} holds no water to pour out')
    if not sim.things[oid].states.get('filled'):
        raise SkillFailure('already_empty', f'{oid} is already empty')
    sim.things[oid].states['filled'] = False
    sim.advance(POUR_S)
    return oid


_SKILLS = {
    'navigate_to': _navigate_to,
    'explore': _explore,
    'pick_up': _pick_up,
    'put': _put,
    'open': lambda sim, call, path: _set_flag(sim, call, 'open', True),
    'close': lambda sim, call, path: _set_flag(sim, call, 'open', False),
    'toggle_on': lambda sim, call, path: _set_flag(sim, call, 'toggled', True),
    'toggle_off': lambda sim, call, path: _set_flag(sim, call, 'toggled', False),
    'slice': _slice,
    'look_at': _look_at,
    'pour_out': _pour_out,
}


# ------------------------------------------------------------------ events
def _snapshot(sim) -> dict[str, tuple]:
    out = {}
    for oid, t in sim.things.items():
        pos = sim.pose_of(oid)[0] if t.kind == 'object' else None
        out[oid] = (dict(t.states), t.parent, t.relation, pos, oid == sim.held)
    return out


def _events(sim, before: dict[str, tuple]) -> list[ObjectEvent]:
    events = []
    for oid, t in sim.things.items():
        states, parent, relation, pos, held = before[oid]
        changed = [k for k, v in t.states.items() if states.get(k) != v]
        now_pos = sim.pose_of(oid)[0] if t.kind == 'object' else None
        moved = pos is not None and math.dist(pos, now_pos) > 0.05
        if (parent, relation) != (t.parent, t.relation) or moved:
            changed.append('location')
        if held != (oid == sim.held):
            changed.append('held')
        if not changed:
            continue
        lo, hi = sim.aabb(oid)
        centre = tuple((a + b) / 2 for a, b in zip(lo, hi))
        events.append(ObjectEvent(oid, t.object_type, sim.time, centre, dict(t.states),
                                  changed, t.parent, t.relation, oid == sim.held))
    return events
