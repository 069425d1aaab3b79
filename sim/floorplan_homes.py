"""A home for each AI2-THOR FloorPlan a task list names, holding what its tasks need.

An ALFRED-L task is set in an AI2-THOR scene (`FloorPlan`: 1-30 kitchens, 201-230 living
rooms, 301-330 bedrooms, 401-430 bathrooms). We build, for each FloorPlan of a task file, a
one-room home of that room type from a seed fixed by the FloorPlan number, furnished from
the room's template plus every piece of furniture the tasks name or need (a shelf to put a
bowl on, a microwave to heat in, a sink and faucet to rinse in, a stove knob to turn),
with every object type they name placed where AI2-THOR keeps such things (the ontology's
`kept_on`: apples on counters or in the fridge, soap in the bathroom, remote controls on
sofas and tables) and the room's usual clutter and distractors around them. The same
FloorPlan and tasks always give the same home. FloorPlan 1 is the real AI2-THOR layout
(`sim.ai2thor.floorplan1`), not a generated one.
"""

from __future__ import annotations

from collections.abc import Iterable

from memory_nodes.domain.goals import GoalCondition
from sim.catalog import CATALOG, SLICING_TOOLS
from sim.task_schema import HomeRef, Task

#: FloorPlans with a built-in imported AI2-THOR scene: episodes name it in `HomeRef.scene`.
FLOORPLAN_SCENES = {1: 'ai2thor:FloorPlan1'}

#: A FloorPlan's home is generated from seed `FLOORPLAN_SEED_BASE + floorplan`.
FLOORPLAN_SEED_BASE = 5000

#: The four AI2-THOR FloorPlan ranges: first number -> room type (30 scenes each).
FLOORPLAN_RANGES = ((1, 'kitchen'), (201, 'living_room'), (301, 'bedroom'),
                    (401, 'bathroom'))

#: What reaching a state needs besides the object (as the goal compiler reaches it):
#: state key -> (tool objects, one of which is needed; furniture, all needed).
STATE_NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    'sliced': (tuple(SLICING_TOOLS), ()),
    'cooked': ((), ('Microwave',)),
    'hot': ((), ('Microwave',)),
    'cold': ((), ('Fridge',)),
    'dirty': ((), ('SinkBasin', 'Faucet')),
    'filled': ((), ('SinkBasin', 'Faucet')),
}


#: Furniture every home of a room type gets on top of its template, to look like AI2-THOR's
#: rooms of that type: its kitchens have three or more counter runs (FloorPlan1 has four),
#: where our generated kitchens have two.
ROOM_FURNITURE: dict[str, tuple[str, ...]] = {
    'kitchen': ('CounterTop', 'CounterTop', 'CounterTop'),
}


def floorplan_number(value: object) -> int | None:
    """A FloorPlan as files write it (`12`, `"12"`, `"FloorPlan12"`) -> 12; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip().lower().removeprefix('floorplan').strip(' _-')
        if text.isdigit():
            return int(text)
    return None


def floorplan_room(floorplan: int) -> str | None:
    """AI2-THOR FloorPlan number -> our room type, or None outside the four ranges."""
    for low, room in FLOORPLAN_RANGES:
        if low <= floorplan <= low + 29:
            return room
    return None


def state_requirements(cond: GoalCondition) -> list[tuple[str, ...]]:
    """What reaching `cond` takes besides its object: groups of types, one of each needed.

    Slicing needs one of the knives; heating a microwave; cooling a fridge; washing or
    filling a sink basin and a faucet. Negated conditions and states that need nothing
    fetched (emptying, closing, raw, dirty) need nothing.
    """
    if cond.kind != 'STATE' or cond.negated:
        return []
    tools, pieces = STATE_NEEDS.get(cond.target or '', ((), ()))
    wanted = cond.state_value != (cond.target == 'dirty')  # clean means dirty False
    if not wanted:
        return []
    return ([tools] if tools else []) + [(piece,) for piece in pieces]


def condition_needs(cond: GoalCondition) -> tuple[set[str], set[str]]:
    """(object types, furniture types) a home must hold for `cond` to be reachable."""
    objects: set[str] = set()
    furniture: set[str] = set()
    words = [cond.obj]
    if cond.kind in ('ON', 'INSIDE'):
        words.append(cond.target or '')
    words += [group[0] for group in state_requirements(cond)]  # the first of each will do
    for word in words:
        spec = CATALOG.get(word)
        if spec is not None:
            (objects if spec.kind == 'object' else furniture).add(word)
    return objects, furniture


def task_needs(tasks: Iterable[Task]) -> tuple[list[str], list[str]]:
    """Sorted (object types, furniture types) a home must hold for every goal of `tasks`."""
    objects: set[str] = set()
    furniture: set[str] = set()
    for task in tasks:
        for cond in task.goals:
            more_objects, more_furniture = condition_needs(cond)
            objects |= more_objects
            furniture |= more_furniture
    return sorted(objects), sorted(furniture)


def floorplan_home(floorplan: object, tasks: Iterable[Task]) -> HomeRef:
    """The home an episode of FloorPlan `floorplan`'s `tasks` runs in.

    A FloorPlan with a built-in scene uses it; any other FloorPlan of the four ranges gets a
    generated one-room home of its room type holding what the tasks need; anything else
    (not a number, out of range) a generated home of every room type, so that the tasks
    still run and their report says the FloorPlan was not understood.
    """
    number = floorplan if isinstance(floorplan, int) and not isinstance(floorplan, bool) \
        else 0
    objects, furniture = task_needs(tasks)
    params: dict = {'floorplan': number} if number else {}
    if number in FLOORPLAN_SCENES:
        return HomeRef(FLOORPLAN_SEED_BASE + number, start_room='kitchen', params=params,
                       scene=FLOORPLAN_SCENES[number])
    room = floorplan_room(number)
    if objects:
        params['required_objects'] = objects
    furniture = list(ROOM_FURNITURE.get(room or '', ())) + \
        [f for f in furniture if f not in ROOM_FURNITURE.get(room or '', ())]
    if furniture:
        params['required_furniture'] = furniture
    return HomeRef(FLOORPLAN_SEED_BASE + number, [room] if room else None, room, params)


def describe_home(home: HomeRef) -> str:
    """One line for people: which home a FloorPlan's episode runs in and what it holds."""
    if home.scene:
        return f'{home.scene} (the real AI2-THOR layout)'
    rooms = ', '.join(home.rooms) if home.rooms else 'every room type'
    parts = [f'generated {rooms} (seed {home.seed})']
    furniture = home.params.get('required_furniture')
    if furniture:
        counts = {t: furniture.count(t) for t in furniture}
        parts.append('with ' + ', '.join(f'{n} {t}' if n > 1 else t
                                         for t, n in counts.items()))
    if home.params.get('required_objects'):
        parts.append('holding ' + ', '.join(home.params['required_objects']))
    return '; '.join(parts)


__all__ = ['FLOORPLAN_RANGES', 'FLOORPLAN_SCENES', 'FLOORPLAN_SEED_BASE', 'ROOM_FURNITURE',
           'STATE_NEEDS', 'condition_needs', 'describe_home', 'floorplan_home',
           'floorplan_number', 'floorplan_room', 'state_requirements', 'task_needs']
