"""`PyBulletSimulator`: the `Simulator` interface over a headless PyBullet home.

`reset(scene)` takes a `HomeSpec`, a seed (generates a home), a dict or a JSON path, builds
the bodies and puts the robot at the home's start waypoint. Small objects rest as static
bodies and become dynamic only while they settle after a `put` (fast, and nothing drifts
between skills). Skills live in `sim.skills`; the ALFRED state rules in
`sim.state_rules`. `move_object` / `set_state` are the scripted person's API: they change
the world behind the robot's back and produce no events.

A sliced object becomes the slice the robot handles from then on (`make_slice`, sizes in
`sim.catalog.SLICES`): the same object id and type, its body rebuilt at the slice's size
where the object stood, so ground truth, placement and the camera's instance masks all see
the slice. That holds however it got sliced: the `slice` skill, a person's `set_state`, or
a home that starts with it sliced.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pybullet as p

from memory_nodes.domain.skills import Relation, SkillCall, SkillResult
from sim.camera import RENDER_CACHE_FRAMES, HeadCamera
from sim.catalog import CATALOG, SLICES
from sim.home import HomeSpec
from sim.home_completion import thing_surfaces
from sim.home_generator import generate_home
from sim.interface import CameraFrame, ObjectTruth, Simulator
from sim.mesh import clear_cache
from sim.place_graph import adjacency
from sim.placement import WorldSurface, object_half_extents, object_top_surface
from sim.robot import Robot
from sim.state_rules import RuleThing, apply_state_rules
from sim.world_builder import (
    BuiltWorld,
    build_world,
    object_body,
    quat,
    set_door,
    set_indicator,
    slide_offset,
)

log = logging.getLogger(__name__)


@dataclass
class ThingState:
    """Tracked truth of one thing: type, states and where it rests."""

    object_id: str
    object_type: str
    kind: str
    size: tuple[float, float, float]
    states: dict[str, bool] = field(default_factory=dict)
    parent: str | None = None
    relation: Relation | None = None
    attached_to: str | None = None
    room: str = ''


class PyBulletSimulator(Simulator):
    """A household world in PyBullet (DIRECT mode, TinyRenderer camera)."""

    def __init__(self, width: int = 320, height: int = 240, vfov_deg: float = 60.0,
                 physics_hz: float = 120.0, settle_s: float = 0.4,
                 max_path_waypoints: int | None = None,
                 render_cache_frames: int = RENDER_CACHE_FRAMES) -> None:
        self.cid = p.connect(p.DIRECT)
        #: Frames the camera may reuse for an unchanged view of an unchanged home (0: never).
        self.render_cache_frames = render_cache_frames
        self.width, self.height, self.vfov_deg = width, height, vfov_deg
        self.physics_dt = 1.0 / physics_hz
        self.settle_s = settle_s
        self.home: HomeSpec | None = None
        self.world: BuiltWorld | None = None
        self.robot: Robot | None = None
        self.camera: HeadCamera | None = None
        self.things: dict[str, ThingState] = {}
        self.held: str | None = None
        self.carried: dict[str, tuple[float, float, float]] = {}
        self.rng = random.Random(0)
        #: Called with each frame rendered during navigation and exploration, if set.
        self.observer: Callable[[CameraFrame], None] | None = None
        #: Also render at every waypoint along a path (not only where the robot stops).
        self.observe_path = False
        #: Longest path a navigation may take, in waypoints (None: `sim.skills`' limit).
        self.max_path_waypoints = max_path_waypoints
        self._time = 0.0
        #: The waypoint graph paths are planned on (`place_graph.adjacency`, set by reset).
        self.adjacency: dict = {}
        self._aabb_cache: dict[str, tuple] = {}

    # ---------------------------------------------------------------- lifecycle
    def reset(self, scene: object, seed: int = 0) -> None:
        """Load a `HomeSpec`, a generator seed (int), a spec dict or a JSON file path."""
        home = self._to_home(scene)
        p.resetSimulation(physicsClientId=self.cid)
        clear_cache(self.cid)
        p.setGravity(0, 0, -9.81, physicsClientId=self.cid)
        p.setTimeStep(self.physics_dt, physicsClientId=self.cid)
        self.home = home
        self.world = build_world(self.cid, home)
        self.robot = Robot(self.cid)
        self.camera = HeadCamera(
            self.cid, self.width, self.height, self.vfov_deg,
            scene=hashlib.sha256(home.to_json().encode()).hexdigest(),
            render_cache_frames=self.render_cache_frames)
        self._refresh_instances()
        self.things = {}
        for t in home.things():
            spec = CATALOG.get(t.object_type)
            states = spec.default_states() if spec else {}
            states.update(t.states)
            self.things[t.object_id] = ThingState(
                t.object_id, t.object_type, spec.kind if spec else 'furniture', t.size,
                states, t.parent, t.relation, t.attached_to, t.room)
        for o in home.objects:
            self.set_static(o.object_id, True)
        self.held, self.carried = None, {}
        for o in home.objects:
            if self.things[o.object_id].states.get('sliced'):
                self.make_slice(o.object_id)
        self.rng = random.Random(seed)
        self._time = 0.0
        self.adjacency = adjacency(home)
        self._aabb_cache = {}
        start = home.waypoint(home.robot_start)
        self.robot.set_pose(start.x, start.y, 0.0)
        self.robot.waypoint = start.name

    def _to_home(self, scene: object) -> HomeSpec:
        if isinstance(scene, HomeSpec):
            return copy.deepcopy(scene)
        if isinstance(scene, bool):
            raise TypeError('scene must be a HomeSpec, a seed, a dict or a JSON path')
        if isinstance(scene, int):
            return generate_home(scene)
        if isinstance(scene, dict):
            return HomeSpec.from_dict(scene)
        if isinstance(scene, str | Path):
            return HomeSpec.load(scene)
        raise TypeError(f'cannot build a home from {type(scene).__name__}')

    def close(self) -> None:
        """Disconnect the PyBullet client."""
        if self.cid is not None and p.isConnected(self.cid):
            clear_cache(self.cid)
            p.disconnect(self.cid)

    # ---------------------------------------------------------------- Simulator API
    def step(self, seconds: float) -> None:
        """Advance simulated time; state rules run (e.g. a faucet keeps cleaning)."""
        self._time += max(0.0, seconds)
        self.apply_rules()

    @property
    def time(self) -> float:
        """Simulated seconds since reset."""
        return self._time

    def advance(self, seconds: float) -> None:
        """Charge simulated time to the current skill."""
        self._time += seconds

    def render(self) -> CameraFrame:
        """The head camera's RGB-D + segmentation frame at the current pose."""
        return self.camera.render(self.robot.camera_pose(), self._time)

    def execute(self, call: SkillCall) -> SkillResult:
        """Run one primitive skill (see `sim.skills`)."""
        from sim.skills import run_skill
        return run_skill(self, call)

    def robot_pose(self) -> tuple[float, float, float]:
        """Base (x, y, yaw) in `map`."""
        return self.robot.pose()

    def holding(self) -> str | None:
        """Id of the object in the hand."""
        return self.held

    def head_tilt(self) -> float:
        """The head camera's pitch below horizontal, radians (robot state, see `sim.robot`)."""
        return self.robot.tilt

    def rooms(self) -> dict[str, tuple[float, float, float, float]]:
        """Room name -> footprint."""
        return {r.name: tuple(r.footprint) for r in self.home.rooms}

    def ground_truth(self) -> dict[str, ObjectTruth]:
        """Every thing's pose, box, room, states, parent and affordances."""
        out = {}
        for oid, t in self.things.items():
            lo, hi = self.aabb(oid)
            pos = tuple((a + b) / 2 for a, b in zip(lo, hi))
            spec = CATALOG.get(t.object_type)
            room = self.home.room_at(pos[0], pos[1]) or t.room
            out[oid] = ObjectTruth(
                oid, t.object_type, t.kind, pos, lo, hi, room, dict(t.states), t.parent,
                t.relation, pickupable=bool(spec and spec.pickupable),
                receptacle=bool(spec and spec.receptacle), openable=bool(spec and spec.openable),
                toggleable=bool(spec and spec.toggleable))
        return out

    # ---------------------------------------------------------------- geometry helpers
    def aabb(self, object_id: str) -> tuple[tuple, tuple]:
        """Axis-aligned box (min, max) of a thing in `map` (furniture boxes are cached)."""
        t = self.things[object_id]
        if t.kind == 'furniture' and object_id in self._aabb_cache:
            return self._aabb_cache[object_id]
        built = self.world.things[object_id]
        if t.kind == 'object':
            lo, hi = p.getAABB(built.body, -1, physicsClientId=self.cid)
        else:
            bodies = built.part_bodies + ([built.door_body] if built.door_body is not None
                                          else [])
            boxes = [p.getAABB(b, -1, physicsClientId=self.cid) for b in bodies]
            lo = tuple(min(b[0][k] for b in boxes) for k in range(3))
            hi = tuple(max(b[1][k] for b in boxes) for k in range(3))
        box = (tuple(round(v, 4) for v in lo), tuple(round(v, 4) for v in hi))
        if t.kind == 'furniture':
            self._aabb_cache[object_id] = box
        return box

    def pose_of(self, object_id: str) -> tuple[tuple[float, float, float], float]:
        """Centre and yaw of a small object."""
        pos, orn = p.getBasePositionAndOrientation(self.world.things[object_id].body,
                                                   physicsClientId=self.cid)
        yaw = p.getEulerFromQuaternion(orn)[2]
        return tuple(pos), yaw

    def set_pose(self, object_id: str, pos, yaw: float) -> None:
        """Teleport a small object (kinematic)."""
        p.resetBasePositionAndOrientation(self.world.things[object_id].body, pos, quat(yaw),
                                          physicsClientId=self.cid)
        p.resetBaseVelocity(self.world.things[object_id].body, (0, 0, 0), (0, 0, 0),
                            physicsClientId=self.cid)

    def set_static(self, object_id: str, static: bool) -> None:
        """Freeze a small object (mass 0) or let physics move it."""
        mass = 0.0 if static else CATALOG[self.things[object_id].object_type].mass
        p.changeDynamics(self.world.things[object_id].body, -1, mass=mass,
                         physicsClientId=self.cid)

    def descendants(self, object_id: str) -> list[str]:
        """Objects resting in or on `object_id`, recursively."""
        out, frontier = [], [object_id]
        while frontier:
            cur = frontier.pop()
            for oid, t in self.things.items():
                if t.parent == cur and t.kind == 'object' and oid not in out:
                    out.append(oid)
                    frontier.append(oid)
        return out

    def settle(self, object_ids: list[str], seconds: float | None = None) -> None:
        """Let physics drop `object_ids` onto what is below them, then freeze them again."""
        for oid in object_ids:
            self.set_static(oid, False)
        steps = int((seconds if seconds is not None else self.settle_s) / self.physics_dt)
        for _ in range(steps):
            p.stepSimulation(physicsClientId=self.cid)
        for oid in object_ids:
            self.set_static(oid, True)

    def update_carried(self) -> None:
        """Move the held object (and what rests on it) with the hand."""
        if self.held is None:
            return
        hx, hy, hz = self.robot.hand_position()
        yaw = self.robot.yaw
        self.set_pose(self.held, (hx, hy, hz), yaw)
        c, s = math.cos(yaw), math.sin(yaw)
        for oid, (dx, dy, dz) in self.carried.items():
            self.set_pose(oid, (hx + c * dx - s * dy, hy + s * dx + c * dy, hz + dz), yaw)

    def make_slice(self, object_id: str, near: tuple[float, float] | None = None) -> None:
        """Mark `object_id` sliced and rebuild its body as the slice (`SLICES`) in its place.

        The slice keeps the id, type, states, parent, yaw and bottom height. It stands inside
        the object's old footprint: at the end nearest `near` (the robot that sliced it takes
        the nearest slice, so it is as reachable as the whole object was), else centred. A
        type without a slice size keeps its body. PyBullet gives the new body the freed id,
        so the camera's instance id (perception's track id) stays the same.
        """
        t = self.things[object_id]
        t.states['sliced'] = True
        looks = SLICES.get(t.object_type)
        if looks is None or t.kind != 'object' or tuple(t.size) == looks.size:
            return
        (x, y, _), yaw = self.pose_of(object_id)
        lo, hi = self.aabb(object_id)
        if near is not None:
            half = object_half_extents(looks.size, yaw)
            x, y = (min(max(near[k], lo[k] + half[k]), hi[k] - half[k])
                    if lo[k] + half[k] <= hi[k] - half[k] else (x, y)[k] for k in range(2))
        bottom = lo[2]
        built = self.world.things[object_id]
        p.removeBody(built.body, physicsClientId=self.cid)
        del self.world.body_to_object[built.body]
        built.body = object_body(self.cid, t.object_type, looks.size,
                                 (x, y, bottom + looks.size[2] / 2), yaw, looks.shape)
        self.world.body_to_object[built.body] = object_id
        t.size = looks.size
        self.set_static(object_id, True)
        self._refresh_instances()
        self.update_carried()

    def _refresh_instances(self) -> None:
        """Tell the camera which body is which object (after bodies were built or rebuilt)."""
        main = {oid: b.body for oid, b in self.world.things.items()}
        self.camera.set_instances(self.world.body_to_object, main)

    def show_state(self, object_id: str) -> None:
        """Make open/toggled states visible (doors, drawers, lamp shades, burners).

        A drawer that opens slides its box out with everything in it (`slide_offset`);
        closing slides them back in.
        """
        built = self.world.things[object_id]
        states = self.things[object_id].states
        if built.door_body is not None:
            was_open, is_open = built.is_open, bool(states.get('open'))
            set_door(self.cid, built, is_open)
            self._aabb_cache.pop(object_id, None)
            if was_open != is_open:
                self._slide_contents(object_id, 1.0 if is_open else -1.0)
        if built.indicator_links:
            set_indicator(self.cid, built, bool(states.get('toggled')))

    def _slide_contents(self, object_id: str, sign: float) -> None:
        """Move what is in a drawer out (`sign` 1) or back in (-1) with its box."""
        dx, dy, dz = slide_offset(self.world.things[object_id])
        if dx == dy == dz == 0.0:
            return
        for oid in self.descendants(object_id):
            (x, y, z), yaw = self.pose_of(oid)
            self.set_pose(oid, (x + sign * dx, y + sign * dy, z + sign * dz), yaw)

    def slides_open(self, object_id: str) -> bool:
        """True for a drawer: opening slides its box (and what is in it) out."""
        built = self.world.things.get(object_id)
        return built is not None and built.geometry is not None \
            and built.geometry.slide is not None

    def surfaces(self, object_id: str) -> list[WorldSurface]:
        """Where things rest on or in `object_id` now, in `map` (an open drawer's slid out)."""
        if self.things[object_id].kind == 'furniture':
            return thing_surfaces(self.home, self.home.thing(object_id),
                                  bool(self.things[object_id].states.get('open')))
        lo, hi = self.aabb(object_id)
        return [object_top_surface(lo, hi, self.pose_of(object_id)[1])]

    def apply_rules(self) -> dict[str, set[str]]:
        """Run the ALFRED state rules over the tracked states."""
        view = {oid: RuleThing(t.object_type, t.states, t.parent, t.attached_to)
                for oid, t in self.things.items()}
        changes = apply_state_rules(view, self.held)
        for oid, keys in changes.items():
            if 'toggled' in keys:  # a burner its knob turned
                self.show_state(oid)
        return changes

    # ---------------------------------------------------------------- scripted person
    def move_object(self, object_id: str, receptacle_id: str,
                    relation: Relation | None = None) -> None:
        """A person puts `object_id` in/on `receptacle_id` out of the robot's sight."""
        from sim.skills import place_object
        if object_id not in self.things or self.things[object_id].kind != 'object':
            raise ValueError(f'move_object: no small object {object_id!r}')
        if receptacle_id not in self.things:
            raise ValueError(f'move_object: no receptacle {receptacle_id!r}')
        if object_id == self.held:
            raise ValueError(f"move_object: {object_id} is in the robot's hand")
        if receptacle_id == object_id or receptacle_id in self.descendants(object_id):
            raise ValueError(f'move_object: cannot put {object_id} into itself')
        if CATALOG[self.things[receptacle_id].object_type].receptacle is None:
            raise ValueError(f'move_object: {receptacle_id} is not a receptacle')
        reason = place_object(self, object_id, receptacle_id, tries=60)
        if reason is not None:
            raise ValueError(f'move_object: {object_id} does not fit {receptacle_id} ({reason})')

    def set_state(self, object_id: str, key: str, value: bool) -> None:
        """A person changes a state (dirties a mug, uses up the toilet paper, opens a door)."""
        if object_id not in self.things:
            raise ValueError(f'set_state: no object {object_id!r}')
        states = self.things[object_id].states
        if key not in states:
            raise ValueError(f'set_state: {self.things[object_id].object_type} has no state '
                             f'{key!r} (has {sorted(states)})')
        states[key] = bool(value)
        if key == 'sliced' and value:
            self.make_slice(object_id)
        if key == 'hot' and value:
            states['cold'] = False
        if key == 'cold' and value and 'hot' in states:
            states['hot'] = False
        self.show_state(object_id)
