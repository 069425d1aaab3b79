"""Replayable step traces for the short-term memory, and a household trace generator.

A trace is a list of steps a robot's memory sees over a long episode:

* `TaskStep`: a new instruction starts; `labels` are the object labels it names;
* `WriteStep`: a `StateChange` lands (a camera sighting, the robot's own action, or
  something a person told it);
* `QueryStep`: the planner needs the entry of one object (a hit if it is in memory).

The simulator suites produce the same steps from real episodes, so anything that
replays a trace (the STM benchmark) works on either. `generate_household_trace` makes
realistic long-horizon traces deterministically from a seed: ALFRED-style sub-tasks
chained into composite tasks, objects with skewed popularity reused across tasks, some
background objects that are only ever seen, one-off objects, scanning bursts when the
robot enters a room or patrols, people moving things behind the robot's back.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from .state_change import StateChange


@dataclass(frozen=True)
class TaskStep:
    """A new instruction starts; `labels` are the object labels it names."""

    stamp: float
    instruction: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class WriteStep:
    """A state change arrives at the memory."""

    change: StateChange


@dataclass(frozen=True)
class QueryStep:
    """The planner needs the current entry of `object_id` (label `label`)."""

    stamp: float
    object_id: str
    label: str


TraceStep = TaskStep | WriteStep | QueryStep


class ReplayableMemory(Protocol):
    """What `replay` drives: `ShortTermMemory` implements it."""

    def set_task_context(self, labels: Iterable[str]) -> None:
        """Announce the labels of the current instruction."""
        ...

    def write(self, change: StateChange) -> str:
        """Store a state change; return its object id."""
        ...

    def contains_for_query(self, object_id: str, stamp: float) -> bool:
        """Look `object_id` up as a planner would (counts as a use); True on a hit."""
        ...


@dataclass
class ReplayResult:
    """Hits over the query steps of one replayed trace."""

    queries: int = 0
    hits: int = 0
    writes: int = 0

    @property
    def hit_rate(self) -> float:
        """Hit rate: hits / queries (0 when there were no queries)."""
        return self.hits / self.queries if self.queries else 0.0


def replay(trace: Iterable[TraceStep], memory: ReplayableMemory) -> ReplayResult:
    """Feed every step of `trace` to `memory`; count query hits."""
    result = ReplayResult()
    for step in trace:
        if isinstance(step, WriteStep):
            memory.write(step.change)
            result.writes += 1
        elif isinstance(step, QueryStep):
            result.queries += 1
            if memory.contains_for_query(step.object_id, step.stamp):
                result.hits += 1
        else:
            memory.set_task_context(step.labels)
    return result


# --- the household generator -------------------------------------------------------

# Furniture and appliances: they never move but get opened, switched and used.
_FIXED = {
    'kitchen': ['fridge', 'microwave', 'sink', 'stove', 'countertop', 'countertop',
                'cabinet', 'cabinet', 'cabinet', 'dining_table', 'coffee_machine',
                'toaster', 'trash_can', 'drawer', 'drawer'],
    'living_room': ['sofa', 'coffee_table', 'tv_stand', 'shelf', 'floor_lamp',
                    'armchair', 'side_table', 'television'],
    'bedroom': ['bed', 'desk', 'dresser', 'desk_lamp', 'shelf', 'nightstand'],
    'bathroom': ['bathtub', 'sink', 'toilet', 'towel_holder', 'counter', 'cabinet'],
}
# Small objects the robot handles; people move them too.
_MOBILE = {
    'kitchen': ['apple', 'apple', 'tomato', 'bread', 'lettuce', 'potato', 'egg', 'mug',
                'mug', 'cup', 'plate', 'plate', 'bowl', 'knife', 'butter_knife', 'fork',
                'spoon', 'pan', 'pot', 'kettle', 'spatula', 'dish_sponge', 'salt_shaker',
                'pepper_shaker', 'wine_bottle', 'soap_bottle'],
    'living_room': ['remote_control', 'book', 'book', 'newspaper', 'laptop', 'pillow',
                    'vase', 'keys', 'box', 'credit_card', 'watch', 'statue'],
    'bedroom': ['alarm_clock', 'cell_phone', 'pen', 'pencil', 'cd', 'teddy_bear',
                'basketball', 'baseball_bat'],
    'bathroom': ['towel', 'hand_towel', 'soap_bar', 'toilet_paper', 'spray_bottle',
                 'candle', 'toothbrush'],
}
_RECEPTACLES = {'fridge', 'microwave', 'sink', 'countertop', 'cabinet', 'dining_table',
                'drawer', 'sofa', 'coffee_table', 'tv_stand', 'shelf', 'armchair',
                'side_table', 'bed', 'desk', 'dresser', 'nightstand', 'counter',
                'bathtub', 'towel_holder'}
_APPLIANCE = {'heat': 'microwave', 'cool': 'fridge', 'clean': 'sink'}
_HEATABLE = {'apple', 'tomato', 'bread', 'potato', 'egg', 'mug', 'cup', 'plate', 'bowl'}
_CLEANABLE = {'mug', 'cup', 'plate', 'bowl', 'knife', 'butter_knife', 'fork', 'spoon',
              'pan', 'pot', 'apple', 'tomato', 'lettuce'}
_LAMPS = ('floor_lamp', 'desk_lamp')
_CONTAINERS = {'plate', 'bowl', 'box', 'pot', 'pan', 'mug', 'cup'}


@dataclass
class HouseholdTraceConfig:
    """Parameters of `generate_household_trace` (fixed before any policy was tuned).

    `zipf_s` skews which objects tasks use; `background_fraction` of small objects are
    never used by any task (only seen); `subtasks` bounds the ALFRED-style sub-tasks per
    composite task and `chain_prob` is how often a sub-task reuses the previous one's
    object; `scan_mean` is the mean number of objects a room scan sees, `patrol_prob`
    the chance of a whole-room patrol scan between tasks; `person_move_prob` the chance a
    person moves something between tasks; `told_prob` the chance they tell the robot;
    `oneoff_prob` the chance a task involves a never-seen-again object.
    """

    seed: int = 0
    tasks: int = 300
    zipf_s: float = 1.0
    background_fraction: float = 0.3
    subtasks: tuple[int, int] = (1, 4)
    chain_prob: float = 0.5
    scan_mean: float = 5.0
    patrol_prob: float = 0.3
    patrol_size: tuple[int, int] = (8, 20)
    person_move_prob: float = 0.3
    told_prob: float = 0.05
    oneoff_prob: float = 0.1


@dataclass
class _Obj:
    oid: str
    label: str
    room: str
    mobile: bool
    position: tuple[float, float, float]
    receptacle: str | None = None
    states: dict[str, bool] = field(default_factory=dict)
    weight: float = 0.0


_ROOM_CENTRE = {'kitchen': (2.0, 2.0), 'living_room': (7.0, 2.0), 'bedroom': (7.0, 7.0),
                'bathroom': (2.0, 7.0)}


class _Household:
    """The mutable world the generator walks through."""

    def __init__(self, cfg: HouseholdTraceConfig) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.t = 0.0
        self.steps: list[TraceStep] = []
        self.objects: dict[str, _Obj] = {}
        self.room = 'kitchen'
        self.known: dict[str, tuple] = {}
        counts: dict[str, int] = {}
        for table, mobile in ((_FIXED, False), (_MOBILE, True)):
            for room, labels in table.items():
                for label in labels:
                    counts[label] = counts.get(label, 0) + 1
                    oid = f'{label}_{counts[label]}'
                    self.objects[oid] = _Obj(oid, label, room, mobile, self._spot(room))
        recs = [o for o in self.objects.values() if o.label in _RECEPTACLES]
        for o in self.objects.values():
            if o.mobile:
                o.receptacle = self.rng.choice([r for r in recs if r.room == o.room]).oid
            if o.label in ('fridge', 'microwave', 'cabinet', 'drawer'):
                o.states['open'] = False
        self._assign_popularity()
        self.oneoffs = 0

    def _assign_popularity(self) -> None:
        rng = self.rng
        for group in ([o for o in self.objects.values() if o.mobile],
                      [o for o in self.objects.values() if o.label in _RECEPTACLES]):
            rng.shuffle(group)
            n_bg = int(self.cfg.background_fraction * len(group)) if group[0].mobile else 0
            for rank, o in enumerate(group[:len(group) - n_bg]):
                o.weight = 1.0 / (rank + 1) ** self.cfg.zipf_s

    def _spot(self, room: str) -> tuple[float, float, float]:
        cx, cy = _ROOM_CENTRE[room]
        rng = self.rng
        return (round(cx + rng.uniform(-2, 2), 3), round(cy + rng.uniform(-2, 2), 3),
                round(rng.uniform(0.0, 1.5), 3))

    def _tick(self, lo: float, hi: float) -> None:
        self.t = round(self.t + self.rng.uniform(lo, hi), 3)

    def write(self, o: _Obj, source: str, changed: list[str]) -> None:
        """Emit the object's current state as a WriteStep."""
        self._tick(0.5, 3.0)
        last = self.known.get(o.oid)
        if source == 'observation' and last is not None:
            # A sighting reports what differs from what the robot last knew.
            changed = [name for name, old, new in (
                ('position', last[0], o.position), ('states', last[1], o.states),
                ('receptacle', last[2], o.receptacle)) if old != new]
        self.known[o.oid] = (o.position, dict(o.states), o.receptacle)
        self.steps.append(WriteStep(StateChange(
            label=o.label, stamp=self.t, object_id=o.oid, position=o.position,
            room=o.room, states=dict(o.states), changed=list(changed),
            source=source, receptacle=o.receptacle)))  # type: ignore[arg-type]

    def query(self, o: _Obj) -> None:
        """The planner needs `o`; then the robot goes there and sees the room."""
        self._tick(0.5, 2.0)
        self.steps.append(QueryStep(self.t, o.oid, o.label))
        if o.room != self.room or self.rng.random() < 0.3:
            self.room = o.room
            self.scan(max(1, self._poisson(self.cfg.scan_mean)), must_see=o)

    def _poisson(self, mean: float) -> int:
        # Knuth's method: the means here are small.
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def scan(self, n: int, must_see: _Obj | None = None) -> None:
        """A burst of sightings of `n` objects in the current room."""
        here = [o for o in self.objects.values() if o.room == self.room]
        seen = self.rng.sample(here, min(n, len(here)))
        if must_see is not None and must_see not in seen and self.rng.random() < 0.85:
            seen.append(must_see)
        for o in seen:
            self.write(o, 'observation', [])

    def pick_weighted(self, pool: list[_Obj]) -> _Obj:
        """Draw an object by task popularity."""
        return self.rng.choices(pool, weights=[o.weight for o in pool])[0]

    def move(self, o: _Obj, recep: _Obj) -> None:
        """Put `o` in/on `recep` (position and receptacle change)."""
        o.room = recep.room
        o.receptacle = recep.oid
        x, y, _ = recep.position
        o.position = (round(x + self.rng.uniform(-0.3, 0.3), 3),
                      round(y + self.rng.uniform(-0.3, 0.3), 3), recep.position[2] + 0.1)


def _subtask(h: _Household, prev: _Obj | None) -> tuple[str, list[str], _Obj]:
    """Emit one ALFRED-style sub-task's steps; return its text, named labels, object."""
    rng = h.rng
    used = [o for o in h.objects.values() if o.mobile and o.weight > 0]
    recs = [o for o in h.objects.values() if o.label in _RECEPTACLES and o.weight > 0]
    kind = rng.choice(['place', 'place', 'heat', 'cool', 'clean', 'light', 'two', 'movable'])
    if prev is not None and prev.mobile and rng.random() < h.cfg.chain_prob:
        obj = prev
    elif rng.random() < h.cfg.oneoff_prob:
        h.oneoffs += 1
        label = rng.choice(['parcel', 'gift_bag', 'umbrella', 'flower_pot', 'toy_car'])
        obj = _Obj(f'{label}_oneoff_{h.oneoffs}', label, h.room, True, h._spot(h.room))
        h.objects[obj.oid] = obj
        kind = 'place'
    else:
        pool = {'heat': [o for o in used if o.label in _HEATABLE],
                'cool': [o for o in used if o.label in _HEATABLE],
                'clean': [o for o in used if o.label in _CLEANABLE]}.get(kind, used)
        obj = h.pick_weighted(pool or used)
    target = h.pick_weighted([r for r in recs if r is not obj])
    named = [obj.label, target.label]
    h.query(obj)
    h.write(obj, 'own_action', ['position'])
    if kind in _APPLIANCE:
        appl = rng.choice([o for o in recs if o.label == _APPLIANCE[kind]] or recs)
        h.query(appl)
        for state in ('open', 'on') if kind != 'clean' else ('on',):
            appl.states[state] = True
            h.write(appl, 'own_action', [state])
        obj.states[{'heat': 'hot', 'cool': 'cold', 'clean': 'clean'}[kind]] = True
        h.move(obj, appl)
        h.write(obj, 'own_action', ['position', kind])
        for state in ('on', 'open') if kind != 'clean' else ('on',):
            appl.states[state] = False
            h.write(appl, 'own_action', [state])
    elif kind == 'light':
        lamp = rng.choice([o for o in h.objects.values() if o.label in _LAMPS])
        named.append(lamp.label)
        h.query(lamp)
        lamp.states['on'] = not lamp.states.get('on', False)
        h.write(lamp, 'own_action', ['on'])
        return f'look at the {obj.label} under the {lamp.label}', named[:1] + named[2:], obj
    elif kind == 'two':
        twins = [o for o in used if o.label == obj.label and o is not obj]
        if twins:
            h.query(twins[0])
            h.write(twins[0], 'own_action', ['position'])
            h.query(target)
            h.move(twins[0], target)
            h.write(twins[0], 'own_action', ['position'])
    elif kind == 'movable':
        box = h.pick_weighted([o for o in used if o.label in _CONTAINERS and o is not obj]
                              or used)
        named.insert(1, box.label)
        h.query(box)
        h.move(obj, box)
        h.write(obj, 'own_action', ['position'])
        h.write(box, 'own_action', ['position'])
        h.query(target)
        h.move(box, target)
        h.write(box, 'own_action', ['position'])
        return f'put the {obj.label} in a {box.label} on the {target.label}', named, obj
    h.query(target)
    if target.states.get('open') is False:
        target.states['open'] = True
        h.write(target, 'own_action', ['open'])
    h.move(obj, target)
    h.write(obj, 'own_action', ['position'])
    verb = {'heat': 'heat', 'cool': 'chill', 'clean': 'rinse'}.get(kind, 'put')
    return f'{verb} the {obj.label} and put it on the {target.label}', named, obj


def generate_household_trace(config: HouseholdTraceConfig | None = None) -> list[TraceStep]:
    """Return a deterministic household trace for `config` (same seed, same trace)."""
    cfg = config or HouseholdTraceConfig()
    if cfg.tasks < 1:
        raise ValueError(f'tasks must be >= 1, got {cfg.tasks!r}')
    h = _Household(cfg)
    rng = h.rng
    for _ in range(cfg.tasks):
        h._tick(30.0, 600.0)
        if rng.random() < cfg.person_move_prob:
            moved = h.pick_weighted([o for o in h.objects.values() if o.mobile and o.weight])
            dest = rng.choice([o for o in h.objects.values() if o.label in _RECEPTACLES])
            h.move(moved, dest)
            if rng.random() < cfg.told_prob / max(cfg.person_move_prob, 1e-9):
                h.write(moved, 'told', ['position'])
        if rng.random() < cfg.patrol_prob:
            h.room = rng.choice(list(_ROOM_CENTRE))
            h.scan(rng.randint(*cfg.patrol_size))
        n_sub = rng.randint(*cfg.subtasks)
        task_index = len(h.steps)
        texts: list[str] = []
        labels: list[str] = []
        prev: _Obj | None = None
        for _ in range(n_sub):
            text, named, prev = _subtask(h, prev)
            texts.append(text)
            labels.extend(lb for lb in named if lb not in labels)
        # The instruction is known before its steps run, so it goes in front of them.
        stamp = _stamp_of(h.steps[task_index]) if task_index < len(h.steps) else h.t
        h.steps.insert(task_index, TaskStep(stamp, ', then '.join(texts), tuple(labels)))
    return h.steps


def _stamp_of(step: TraceStep) -> float:
    return step.change.stamp if isinstance(step, WriteStep) else step.stamp
