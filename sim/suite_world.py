"""What the suite generator believes about a home while it writes tasks for it.

`SuiteWorld` starts from a generated `HomeSpec` and applies the intended effect of every task
(and every scripted person's change) it writes, so the generator never writes a sub-goal
that already holds and can describe objects where they are. Objects that a plan leaves in
the robot's hand are marked as somewhere unknown (`parent='?'`) and are not reused where
that could matter. `fits` keeps the generator to receptacles an object physically fits
in or on (the surfaces `sim.placement.sample_pose` would place it on).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from memory_nodes.domain.goals import GoalCondition
from sim.catalog import CATALOG
from sim.home import HomeSpec, PlacedThing
from sim.home_completion import thing_surfaces
from sim.home_generator import STRUCTURE, LayoutSpec, generate_home
from sim.interface import ObjectTruth
from sim.placement import WorldSurface, object_half_extents
from sim.scoring import check_condition
from sim.task_schema import HomeRef, WorldChange

UNKNOWN = '?'


def build_home(home: HomeRef) -> HomeSpec:
    """The `HomeSpec` an episode's home reference stands for (deterministic)."""
    if home.scene:
        from sim.ai2thor.floorplan1 import load_scene

        return load_scene(home.scene)
    layout = LayoutSpec()
    if home.rooms:
        layout.rooms = tuple(home.rooms)
    required = home.params.get('required_objects')
    if required:
        layout.required_objects = tuple(required)
    furniture = home.params.get('required_furniture')
    if not furniture:
        return generate_home(home.seed, layout)
    layout.required_furniture = tuple(furniture)
    # A room must hold every piece asked for and leave floor to walk around on: grow it half
    # a metre at a time until it does.
    problem = ''
    for grow in range(GROW_STEPS):
        layout.column_width = tuple(v + 0.5 * grow for v in LayoutSpec.column_width)
        layout.row_depth = tuple(v + 0.5 * grow for v in LayoutSpec.row_depth)
        try:
            built = generate_home(home.seed, layout)
        except ValueError as err:  # a required object found no receptacle
            problem = str(err)
            continue
        missing = missing_furniture(built, layout.required_furniture)
        cramped = cramped_rooms(built)
        if not missing and not cramped:
            return built
        problem = f'no space for {", ".join(missing)}' if missing else \
            f'too little free floor to walk around in {", ".join(cramped)}'
    raise ValueError(f'home seed {home.seed} ({", ".join(layout.rooms)}): {problem} even '
                     f'{0.5 * (GROW_STEPS - 1):.1f} m larger')


#: How many times `build_home` grows a room that cannot hold its required furniture.
GROW_STEPS = 5
#: A room the robot explores needs at least this many free-floor waypoints (else it sees
#: the room from one corner, through the furniture).
MIN_ROOM_WAYPOINTS = 4


def cramped_rooms(home: HomeSpec) -> list[str]:
    """Rooms of `home` with fewer than `MIN_ROOM_WAYPOINTS` free-floor waypoints."""
    return [r.name for r in home.rooms
            if sum(w.room == r.name and w.kind == 'room' for w in home.waypoints)
            < MIN_ROOM_WAYPOINTS]


def missing_furniture(home: HomeSpec, required: Sequence[str]) -> list[str]:
    """The `required` furniture types some room of `home` has too few of (structure aside)."""
    out = []
    wanted = Counter(t for t in required if t not in STRUCTURE)
    for room in home.rooms:
        present = Counter(f.object_type for f in home.furniture if f.room == room.name)
        out += [t for t, n in wanted.items() if present[t] < n]
    return sorted(set(out))


def handy(object_type: str) -> bool:
    """Small enough to find room for on a cluttered surface (no pillows, pans, laptops)."""
    size = CATALOG[object_type].size
    return size[0] * size[1] <= 0.05


def fits_on(surface: WorldSurface, size: tuple[float, float, float]) -> bool:
    """True if an empty `surface` takes an object of extents `size`.

    As `sim.placement.sample_pose` sees it: the height under the clearance, the footprint
    inside the rectangle at the surface's yaw or turned a quarter.
    """
    if surface.clearance < size[2] + 0.005:
        return False
    width, depth = surface.rect[2] - surface.rect[0], surface.rect[3] - surface.rect[1]
    for yaw in (surface.yaw, surface.yaw + 1.5707963):
        hx, hy = object_half_extents(size, yaw)
        if 2 * hx <= width and 2 * hy <= depth:
            return True
    return False


def words(object_type: str) -> str:
    """`CreditCard` -> `credit card` (for instructions)."""
    out = ''
    for i, char in enumerate(object_type):
        if char.isupper() and i and not object_type[i - 1].isupper():
            out += ' '
        out += char.lower()
    return out.replace('t v', 'tv')


class SuiteWorld:
    """A generator-side model of one home: types, parents, states, touched objects."""

    def __init__(self, spec: HomeSpec, rng: random.Random):
        self.spec = spec
        self.rng = rng
        self.truth: dict[str, ObjectTruth] = {}
        for thing in spec.things():
            cat = CATALOG[thing.object_type]
            pos = thing.position or (0.0, 0.0, 0.0)
            self.truth[thing.object_id] = ObjectTruth(
                thing.object_id, thing.object_type, cat.kind, pos, pos, pos, thing.room,
                dict(thing.states), thing.parent, thing.relation, cat.pickupable,
                cat.is_receptacle, cat.openable, cat.toggleable)
        self.touched: set[str] = set()
        self.placed: dict[str, PlacedThing] = {t.object_id: t for t in spec.things()}
        self._surfaces: dict[str, list[WorldSurface]] = {}

    # -- queries --------------------------------------------------------------------------

    def ids(self, object_type: str) -> list[str]:
        """Ids of every instance of a type, sorted."""
        return sorted(i for i, t in self.truth.items() if t.object_type == object_type)

    def has(self, object_type: str) -> bool:
        """True if the home has at least one instance of the type."""
        return bool(self.ids(object_type))

    def type_of(self, object_id: str) -> str:
        """The type of an object id."""
        return self.truth[object_id].object_type

    def objects(self, fresh: bool = True) -> list[str]:
        """Pickupable objects at a known place (untouched ones only if `fresh`)."""
        return sorted(i for i, t in self.truth.items() if t.pickupable
                      and t.parent not in (None, UNKNOWN) and handy(t.object_type)
                      and not (fresh and i in self.touched))

    def parent_type(self, object_id: str) -> str | None:
        """Type of the furniture or object an object is in or on (None if unknown)."""
        parent = self.truth[object_id].parent
        return None if parent in (None, UNKNOWN) else self.truth[parent].object_type

    def surfaces(self, receptacle_id: str) -> list[WorldSurface]:
        """The support surfaces of a receptacle as the simulator builds them (cached)."""
        if receptacle_id not in self._surfaces:
            self._surfaces[receptacle_id] = thing_surfaces(self.spec,
                                                           self.placed[receptacle_id])
        return self._surfaces[receptacle_id]

    def load_size(self, object_id: str) -> tuple[float, float, float]:
        """Extents of an object with what rests on it (what `place_object` has to fit)."""
        sx, sy, sz = self.placed[object_id].size
        above = [self.placed[i].size[2] for i, t in self.truth.items()
                 if t.parent == object_id and i in self.placed]
        return sx, sy, sz + (sz / 2 + max(above) if above else 0.0)

    def fits(self, object_id: str, receptacle: str) -> bool:
        """True if the object fits in/on the receptacle (an id or a type).

        For a type every instance must take it, since a plan may use any of them.
        """
        ids = [receptacle] if receptacle in self.truth else self.ids(receptacle)
        if not ids or not CATALOG[self.type_of(ids[0])].receptacle:
            return False
        size = self.load_size(object_id)
        return all(any(fits_on(s, size) for s in self.surfaces(i)) for i in ids)

    def holds(self, cond: GoalCondition) -> bool:
        """True if the condition holds in the model (nothing is held between tasks)."""
        return check_condition(cond, self.truth, None)

    def room_of(self, object_id: str) -> str:
        """Room type of the room an object is in."""
        name = self.truth[object_id].room
        for room in self.spec.rooms:
            if room.name == name:
                return room.room_type
        return name

    def room_name(self, object_id: str) -> str:
        """Name of the room an object is in now.

        `apply` moves an object onto its new receptacle without updating its room (the
        generator's draws depend on that), so the receptacle's room is where it is.
        """
        thing = self.truth[object_id]
        if thing.parent not in (None, UNKNOWN) and thing.parent in self.truth:
            return self.truth[thing.parent].room
        return thing.room

    def where(self, object_id: str) -> str | None:
        """Words that pick this instance out of its type: '' if it is the only one.

        `on the toilet` if no other instance is on one, else `in the bathroom` if no other
        is in that room (both read by the planner's place hints), None if neither does.
        """
        ids = self.ids(self.type_of(object_id))
        if len(ids) < 2:
            return ''
        parent = self.parent_type(object_id)
        if parent and [i for i in ids if self.parent_type(i) == parent] == [object_id]:
            return f'{self.truth[object_id].relation or "on"} the {words(parent)}'
        placed = [i for i in ids if self.truth[i].parent != UNKNOWN]
        room = self.room_name(object_id)
        if object_id in placed and [i for i in placed if self.room_name(i) == room] \
                == [object_id]:
            return f'in the {room.replace("_", " ")}'
        return None

    def describe(self, object_id: str) -> str:
        """`the apple on the counter top` (or just `the apple` when it is the only one).

        When another instance is on the same kind of receptacle, the room instead (`the
        dish sponge in the bathroom`); when nothing tells them apart, the receptacle all the
        same, and the suite's fairness check (`sim.fairness`) rejects the task.
        """
        kind = self.type_of(object_id)
        name = f'the {words(kind)}'
        place = self.where(object_id)
        parent = self.parent_type(object_id)
        if place:
            name += f' {place}'
        elif place is None and parent:
            relation = self.truth[object_id].relation or 'on'
            name += f' {relation} the {words(parent)}'
        return name

    def subject(self, object_id: str) -> tuple[str, str | None]:
        """Goal subject for an object: its type if it is the only one, else its id."""
        kind = self.type_of(object_id)
        return (kind, None) if len(self.ids(kind)) == 1 else ('', object_id)

    # -- effects --------------------------------------------------------------------------

    def apply(self, cond: GoalCondition) -> None:
        """The intended effect of reaching `cond` (and what the oracle's macro leaves)."""
        ids = [cond.obj_id] if cond.obj_id else self.ids(cond.obj)
        if not ids:
            return
        subject = self.truth[ids[0]]
        self.touched.add(subject.object_id)
        if cond.kind in ('ON', 'INSIDE'):
            target = cond.target_id or self.ids(cond.target or '')[0]
            subject.parent, subject.relation = target, CATALOG[
                self.truth[target].object_type].receptacle
        elif cond.kind == 'HOLDING':
            subject.parent = UNKNOWN
        elif cond.kind in ('TOGGLEON', 'TOGGLEOFF'):
            subject.states['toggled'] = cond.kind == 'TOGGLEON'
        elif cond.kind == 'STATE':
            key = cond.target or ''
            subject.states[key] = cond.state_value
            if key in ('hot', 'cooked', 'cold', 'dirty', 'filled'):
                subject.parent = UNKNOWN  # the macro ends with it in hand
            if key in ('hot', 'cooked'):
                subject.states['hot'] = True
                if 'cooked' in subject.states:
                    subject.states['cooked'] = True
                subject.states['cold'] = False
            if key == 'cold':
                subject.states['hot'] = False
            if key == 'dirty' and not cond.state_value and 'filled' in subject.states:
                subject.states['filled'] = True
            if key == 'sliced':
                for tool in ('Knife', 'ButterKnife'):
                    for knife in self.ids(tool):
                        self.truth[knife].parent = UNKNOWN
                        self.touched.add(knife)

    def change(self, change: WorldChange) -> None:
        """Apply a scripted person's change."""
        thing = self.truth[change.object_id]
        if change.op == 'move_object':
            thing.parent, thing.relation = change.receptacle_id, change.relation  # type: ignore
            thing.room = self.truth[change.receptacle_id or ''].room
        else:
            thing.states[change.key or ''] = bool(change.value)
