"""Deterministic generator of the built-in task suites (`sim/tasks/<suite>.json`).

`python -m sim.suites` (or `embodied-memory tasks generate`) rewrites the files; the same
code always writes the same bytes, so the JSON in the repository is reproducible data.

- simple: independent tasks (one or two unrelated sub-goals each);
- composite: later tasks need what earlier ones did or saw ("the apple you put away");
- complex: vague references ("the red fruit", "the cold box"), three to five sub-goals;
  the instruction is vague, the goal conditions are exact (instance ids);
- stale: before most tasks a scripted person moves, uses, dirties or switches things out of
  the robot's sight (`world_changes`), so what the robot remembers is out of date.

Every suite has `EPISODES` episodes (one generated home each, different seeds) of
`TASKS_PER_EPISODE` tasks run without reset.

Tasks are written on a symbolic model of the home (`sim.suite_world`) that only sends an
object in or on a receptacle it physically fits; then every episode is checked by running
the oracle on `PyBulletSimulator` (when PyBullet is importable) and an episode the oracle
cannot solve is drawn again from the next seed string (`<suite>-<seed>-<n>`), so the files
stay deterministic and every task is physically feasible. An episode with an unfair task
(a goal pins one of several instances of a type and the wording does not say which,
`sim.fairness`) is drawn again the same way.
"""

from __future__ import annotations

import logging
import os
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from memory_nodes.domain.goals import GoalCondition
from sim.catalog import CATALOG, GENERATED_DIRTY, GENERATED_UNSLICED
from sim.fairness import unfair_tasks
from sim.suite_world import SuiteWorld, build_home, words
from sim.task_schema import (
    TASKS_DIR,
    Episode,
    HomeRef,
    Suite,
    Task,
    WorldChange,
    save_suite,
)

log = logging.getLogger(__name__)

#: Episodes per suite, fixed before any run of the larger suites was looked at (issue 21),
#: from the power table of the 5-episode run (docs/results.md, "Power"): the headline
#: comparison, ltm+stm vs none, needs 77 paired tasks per suite to detect a success
#: difference of 0.1 at alpha 0.05 and power 0.8 (Connor's McNemar sample size with the
#: least discordant share such a difference allows, 0.1) = 16 episodes of 5 tasks. The same
#: table asked for 11 (simple, complex), 19 (stale) and 29 (composite) episodes to detect a
#: 15 % exploration difference against none; 16 covers simple and complex, and the 29
#: composite homes (or 19 stale) would take the full run past its 60-minute budget. The
#: first five homes of each suite are the original ones, unchanged; the others are new seeds.
EPISODES = 16
TASKS_PER_EPISODE = 5
#: Draws per episode before generation gives up (the first draw normally passes).
MAX_DRAWS = 10
#: The first five home seeds of each suite (the suites had five episodes until issue 21).
FIRST_SEEDS = {'simple': (11, 12, 13, 14, 15), 'composite': (21, 22, 23, 24, 25),
               'complex': (31, 32, 33, 34, 35), 'stale': (41, 42, 43, 44, 45)}
#: Home seeds per suite: `EPISODES` different homes each, no home shared between suites
#: (nor with the goal reader's training homes, 1000-2999, or the test homes below 10).
SEEDS = {name: first + tuple(range(100 * (k + 1) + 10, 100 * (k + 1) + 10
                                   + EPISODES - len(first)))
         for k, (name, first) in enumerate(FIRST_SEEDS.items())}
#: Objects every suite home must have, so every template can be used.
REQUIRED = ('Apple', 'Tomato', 'Egg', 'Potato', 'Bread', 'Mug', 'Knife', 'Plate', 'Book',
            'ToiletPaper', 'CreditCard')

SURFACES = ('DiningTable', 'CoffeeTable', 'Desk', 'SideTable', 'Shelf', 'Dresser',
            'CounterTop', 'Sofa', 'Bed')
CONTAINERS = ('Fridge', 'Cabinet', 'Drawer', 'GarbageCan')
LIGHTS = ('DeskLamp', 'FloorLamp', 'Television')

Step = tuple[str, list[GoalCondition]]  # (instruction clause, goals)


def cond(kind: str, subject: tuple[str, str | None], target: str | None = None,
         value: bool = True) -> GoalCondition:
    """A goal condition on `subject` = (type, id or None)."""
    obj, obj_id = subject
    return GoalCondition(kind, obj, target, value, False, obj_id)  # type: ignore[arg-type]


def sensible(object_type: str, key: str) -> bool:
    """Whether generated tasks ask for `key` on `object_type` (the catalogue allows more).

    Heat and cook only food, chill only food and drink, wash only what use dirties, slice
    only what a knife cuts.
    """
    cats = CATALOG[object_type].categories
    if key in ('hot', 'cooked'):
        return 'food' in cats
    if key == 'cold':
        return 'food' in cats or 'drink' in cats
    if key == 'dirty':
        return object_type in GENERATED_DIRTY
    if key == 'sliced' and object_type in GENERATED_UNSLICED:
        return False
    return key in CATALOG[object_type].state_keys()


def lamp_room(w: SuiteWorld, lamp: str) -> str:
    """The room of a lamp as instructions name it (`living room`)."""
    room = words(w.room_of(lamp).replace('_', ''))
    return room if room != 'livingroom' else 'living room'


def by_id(object_id: str) -> tuple[str, str | None]:
    """Subject pinned to one instance."""
    return '', object_id


class _Writer:
    """Writes one episode's tasks against a `SuiteWorld`."""

    def __init__(self, world: SuiteWorld, rng: random.Random):
        self.w = world
        self.rng = rng

    def choose(self, items: list[str]) -> str | None:
        return self.rng.choice(items) if items else None

    def fresh(self, pred: Callable[[str], bool]) -> str | None:
        return self.choose([i for i in self.w.objects() if pred(i)])

    def ok(self, goals: list[GoalCondition]) -> bool:
        return bool(goals) and not self.w.holds(goals[0])

    # -- single actions: (clause, goals) or None ------------------------------------------

    def place(self, oid: str, pinned: bool = False) -> Step | None:
        here = self.w.parent_type(oid)
        options = [s for s in SURFACES if self.w.has(s) and s != here
                   and CATALOG[self.w.type_of(oid)].kept_on and self.w.fits(oid, s)]
        surface = self.choose(options)
        if surface is None:
            return None
        subject = by_id(oid) if pinned else self.w.subject(oid)
        return (f'put {self.w.describe(oid)} on the {words(surface)}',
                [cond('ON', subject, surface)])

    def store(self, oid: str, pinned: bool = False) -> Step | None:
        kind = self.w.type_of(oid)
        cats = CATALOG[kind].categories
        if 'food' in cats or 'drink' in cats:
            options = ['Fridge']
        elif 'kitchenware' in cats:
            options = ['Cabinet']
        elif 'utensil' in cats or 'stationery' in cats:
            options = ['Drawer']
        else:
            options = ['GarbageCan'] if kind in ('ToiletPaper', 'Newspaper') else ['Drawer']
        options = [c for c in options if self.w.has(c) and c != self.w.parent_type(oid)
                   and self.w.fits(oid, c)]
        box = self.choose(options)
        if box is None:
            return None
        subject = by_id(oid) if pinned else self.w.subject(oid)
        return (f'put {self.w.describe(oid)} in the {words(box)}',
                [cond('INSIDE', subject, box)])

    def state(self, oid: str, key: str, value: bool = True, pinned: bool = False
              ) -> Step | None:
        kind = self.w.type_of(oid)
        if key not in CATALOG[kind].state_keys():
            return None
        if self.w.truth[oid].states.get(key) == value or not sensible(kind, key):
            return None
        verbs = {('sliced', True): 'slice', ('hot', True): 'heat up',
                 ('cold', True): 'chill', ('dirty', False): 'wash',
                 ('filled', True): 'fill with water', ('cooked', True): 'cook'}
        verb = verbs[(key, value)]
        if key == 'sliced' and not (self.w.has('Knife') or self.w.has('ButterKnife')):
            return None
        subject = by_id(oid) if pinned else self.w.subject(oid)
        if verb == 'fill with water':
            return f'fill {self.w.describe(oid)} with water', [cond('STATE', subject, key,
                                                                    value)]
        return f'{verb} {self.w.describe(oid)}', [cond('STATE', subject, key, value)]

    def light(self, on: bool = True) -> Step | None:
        ids = [i for t in LIGHTS for i in self.w.ids(t)
               if self.w.truth[i].states.get('toggled') != on and i not in self.w.touched]
        lamp = self.choose(ids)
        if lamp is None:
            return None
        room = lamp_room(self.w, lamp)
        verb = 'turn on' if on else 'turn off'
        return (f'{verb} the {words(self.w.type_of(lamp))} in the {room}',
                [cond('TOGGLEON' if on else 'TOGGLEOFF', by_id(lamp))])

    def commit(self, task: Task) -> Task:
        for goal in task.goals:
            self.w.apply(goal)
        return task


# -- simple ---------------------------------------------------------------------------------


def _simple_step(wr: _Writer) -> Step | None:
    w = wr.w
    kind = wr.rng.choice(['place', 'place', 'store', 'slice', 'heat', 'chill', 'wash',
                          'fill', 'light', 'cook', 'bring'])
    if kind == 'place':
        oid = wr.fresh(lambda i: True)
        return wr.place(oid) if oid else None
    if kind == 'store':
        oid = wr.fresh(lambda i: w.room_of(i) == 'kitchen' or w.type_of(i) == 'ToiletPaper')
        return wr.store(oid) if oid else None
    if kind == 'light':
        return wr.light()
    if kind == 'bring':
        oid = wr.fresh(lambda i: True)
        return (f'bring me {w.describe(oid)}', [cond('HOLDING', w.subject(oid))]) \
            if oid else None
    key, value = {'slice': ('sliced', True), 'heat': ('hot', True), 'chill': ('cold', True),
                  'wash': ('dirty', False), 'fill': ('filled', True),
                  'cook': ('cooked', True)}[kind]
    oid = wr.fresh(lambda i: sensible(w.type_of(i), key)
                   and w.truth[i].states.get(key) != value)
    return wr.state(oid, key, value) if oid else None


def _simple(wr: _Writer, eid: str, n: int) -> list[Task]:
    tasks: list[Task] = []
    while len(tasks) < n:
        steps = [s for s in (_simple_step(wr) for _ in range(1 + wr.rng.random()
                                                             .__lt__(0.4))) if s]
        goals = [g for _, gs in steps for g in gs]
        if not wr.ok(goals) or len({g.obj or g.obj_id for g in goals}) != len(goals):
            continue
        text = ', and '.join(c for c, _ in steps)
        tasks.append(wr.commit(Task(f'{eid}-t{len(tasks)}', text[0].upper() + text[1:] + '.',
                                    goals, tags=['simple'])))
    return tasks


# -- composite ------------------------------------------------------------------------------


def _composite_chains(wr: _Writer) -> list[Callable[[], list[tuple[Step, bool]]]]:
    """Chains of (step, depends on the chain's earlier task) built lazily."""
    w = wr.w

    def stash_then_use() -> list:
        oid = wr.fresh(lambda i: w.room_of(i) == 'kitchen'
                       and 'food' in CATALOG[w.type_of(i)].categories)
        first = wr.store(oid, pinned=True) if oid else None
        if first is None:
            return []
        name = words(w.type_of(oid))
        box = first[1][0].target or ''
        return [(first, False), ((f'take the {name} you put in the {words(box)} and slice it',
                                  [cond('STATE', by_id(oid), 'sliced')]), True)]

    def knife_then_slice() -> list:
        knives = [i for i in w.ids('Knife') if i not in w.touched]
        food = wr.fresh(lambda i: sensible(w.type_of(i), 'sliced')
                        and not w.truth[i].states.get('sliced'))
        if not knives or food is None or not w.fits(knives[0], 'Drawer'):
            return []
        return [((f'put {w.describe(knives[0])} away in a drawer',
                  [cond('INSIDE', by_id(knives[0]), 'Drawer')]), False),
                ((f'slice {w.describe(food)} with the knife you put away',
                  [cond('STATE', by_id(food), 'sliced')]), True)]

    def heat_then_serve() -> list:
        oid = wr.fresh(lambda i: 'cooked' in CATALOG[w.type_of(i)].state_keys())
        first = wr.state(oid, 'hot', pinned=True) if oid else None
        if first is None or not w.fits(oid, 'DiningTable'):
            return []
        return [(first, False), ((f'serve the {words(w.type_of(oid))} you heated on the '
                                  'dining table', [cond('ON', by_id(oid), 'DiningTable')]),
                                 True)]

    def move_twice() -> list:
        oid = wr.fresh(lambda i: w.room_of(i) != 'kitchen')
        first = wr.place(oid, pinned=True) if oid else None
        if first is None:
            return []
        here = first[1][0].target
        other = wr.choose([s for s in SURFACES if w.has(s) and s != here
                           and s != w.parent_type(oid) and w.fits(oid, s)])
        if other is None:
            return []
        return [(first, False), ((f'move the {words(w.type_of(oid))} you put on the '
                                  f'{words(here or "")} to the {words(other)}',
                                  [cond('ON', by_id(oid), other)]), True)]

    def light_on_off() -> list:
        first = wr.light(True)
        if first is None:
            return []
        lamp = first[1][0].obj_id or ''
        clause = 'turn off the light you turned on'
        if len(w.ids(w.type_of(lamp))) > 1:
            # The goal pins this lamp; the planner is told only its type: say which one.
            clause += f', the {words(w.type_of(lamp))} in the {lamp_room(w, lamp)}'
        return [(first, False), ((clause, [cond('TOGGLEOFF', by_id(lamp))]), True)]

    def fill_then_place() -> list:
        oid = wr.fresh(lambda i: 'filled' in CATALOG[w.type_of(i)].state_keys()
                       and not w.truth[i].states.get('filled'))
        first = wr.state(oid, 'filled', pinned=True) if oid else None
        surface = wr.choose([s for s in ('DiningTable', 'CoffeeTable', 'Desk')
                             if oid and w.fits(oid, s)])
        if first is None or surface is None:
            return []
        return [(first, False), ((f'put the {words(w.type_of(oid))} you filled on the '
                                  f'{words(surface)}', [cond('ON', by_id(oid), surface)]),
                                 True)]

    return [stash_then_use, knife_then_slice, heat_then_serve, move_twice, light_on_off,
            fill_then_place]


def _composite(wr: _Writer, eid: str, n: int) -> list[Task]:
    chains = _composite_chains(wr)
    wr.rng.shuffle(chains)
    tasks: list[Task] = []
    pending: list[tuple[Step, str]] = []
    for chain in chains:
        if len(tasks) >= n:
            break
        steps = chain()
        if len(steps) < 2:
            continue
        first = steps[0][0]
        task = wr.commit(Task(f'{eid}-t{len(tasks)}', first[0][0].upper() + first[0][1:]
                              + '.', first[1], tags=['composite']))
        tasks.append(task)
        pending += [(step, task.task_id) for step, _ in steps[1:]]
        if len(tasks) >= 2 and pending and len(tasks) < n:
            step, dep = pending.pop(0)
            tasks.append(wr.commit(Task(f'{eid}-t{len(tasks)}', step[0][0].upper()
                                        + step[0][1:] + '.', step[1], depends_on=[dep],
                                        tags=['composite', 'uses_earlier'])))
    while pending and len(tasks) < n:
        step, dep = pending.pop(0)
        tasks.append(wr.commit(Task(f'{eid}-t{len(tasks)}', step[0][0].upper() + step[0][1:]
                                    + '.', step[1], depends_on=[dep],
                                    tags=['composite', 'uses_earlier'])))
    return tasks


# -- complex --------------------------------------------------------------------------------

NOUNS = {'fruit': 'fruit', 'vegetable': 'vegetable', 'kitchenware': 'dish',
         'cookware': 'pot', 'utensil': 'utensil', 'drink': 'bottle', 'reading': 'thing to read',
         'stationery': 'thing to write with', 'electronics': 'gadget', 'valuable': 'valuable',
         'textile': 'piece of fabric', 'decor': 'decoration', 'food': 'food',
         'container': 'container', 'cleaning': 'cleaning thing', 'condiment': 'seasoning'}
PLACES = {'Fridge': 'the cold box', 'GarbageCan': 'the bin',
          'DiningTable': 'the table we eat at', 'Sofa': 'the couch',
          'Bed': 'the bed I sleep in', 'Desk': 'the work table',
          'Shelf': 'the shelves', 'CounterTop': 'the counter', 'Drawer': 'a drawer',
          'Cabinet': 'a cupboard', 'CoffeeTable': 'the low table', 'Dresser': 'the chest',
          'SideTable': 'the little table'}


def _vague(w: SuiteWorld, oid: str) -> str | None:
    """`the red fruit`: colour + category, if it picks out exactly this object."""
    spec = CATALOG[w.type_of(oid)]
    for category in reversed(spec.categories):
        same = [i for i in w.objects(fresh=False)
                if CATALOG[w.type_of(i)].colour_name == spec.colour_name
                and category in CATALOG[w.type_of(i)].categories]
        if same == [oid] and category in NOUNS:
            return f'the {spec.colour_name} {NOUNS[category]}'
    return None


def _complex(wr: _Writer, eid: str, n: int) -> list[Task]:
    w = wr.w
    tasks: list[Task] = []
    tries = 0
    while len(tasks) < n and tries < 200:
        tries += 1
        described = [i for i in w.objects() if _vague(w, i)]
        picks = wr.rng.sample(described, min(2, len(described)))
        if len(picks) < 2:
            break
        clauses, goals, refs = [], [], {}
        for k, oid in enumerate(picks):
            phrase = _vague(w, oid) or ''
            refs[phrase] = oid
            keys = [key for key in ('sliced', 'hot', 'cold', 'dirty', 'filled')
                    if sensible(w.type_of(oid), key)
                    and w.truth[oid].states.get(key) != (key != 'dirty')]
            if keys and (k == 0 or wr.rng.random() < 0.5):
                key = wr.rng.choice(keys)
                value = key != 'dirty'
                verb = {'sliced': 'cut up', 'hot': 'warm up', 'cold': 'chill',
                        'dirty': 'clean', 'filled': 'fill'}[key]
                clauses.append(f'{verb} {phrase}')
                goals.append(cond('STATE', by_id(oid), key, value))
                phrase = 'it'
            place = wr.choose([p for p in PLACES if w.has(p) and p != w.parent_type(oid)
                               and (p != 'Fridge' or 'food' in CATALOG[w.type_of(oid)]
                                    .categories) and w.fits(oid, p)])
            if place is None:
                continue
            relation = 'INSIDE' if CATALOG[place].receptacle == 'in' else 'ON'
            clauses.append(f'{"put" if relation == "INSIDE" else "leave"} {phrase} '
                           f'{"in" if relation == "INSIDE" else "on"} {PLACES[place]}')
            goals.append(cond(relation, by_id(oid), place))
        light = wr.light(True)
        if light and wr.rng.random() < 0.6:
            lamp = light[1][0].obj_id or ''
            room = w.room_of(lamp).replace('_', ' ')
            clauses.append(f'switch on the light in the {room}')
            goals += light[1]
            refs[f'the light in the {room}'] = lamp
        if len(goals) < 3 or not wr.ok(goals):
            continue
        text = ', '.join(clauses[:-1]) + ', and then ' + clauses[-1]
        tasks.append(wr.commit(Task(f'{eid}-t{len(tasks)}', text[0].upper() + text[1:] + '.',
                                    goals, references=refs, tags=['complex', 'vague'])))
    return tasks


# -- stale ----------------------------------------------------------------------------------


def _stale(wr: _Writer, eid: str, n: int) -> list[Task]:
    w = wr.w
    tasks: list[Task] = []
    tries = 0
    while len(tasks) < n and tries < 200:
        tries += 1
        if not tasks:  # first, the robot handles things and sees the home
            oid = wr.fresh(lambda i: w.room_of(i) == 'kitchen')
            step = wr.place(oid, pinned=True) if oid else None
            if step and wr.ok(step[1]):
                tasks.append(wr.commit(Task(f'{eid}-t0', step[0][0].upper() + step[0][1:]
                                            + '.', step[1], tags=['stale', 'setup'])))
            continue
        kind = wr.rng.choice(['moved', 'moved', 'dirtied', 'used_up', 'switched'])
        changes: list[WorldChange] = []
        if kind == 'moved':
            oid = wr.choose([i for i in w.objects(fresh=False) if w.truth[i].parent != '?'
                             and max(CATALOG[w.type_of(i)].size[:2]) <= 0.2])
            boxes = [i for t in ('DiningTable', 'Desk', 'Dresser', 'CoffeeTable')
                     for i in w.ids(t) if oid and w.truth[oid].room != w.truth[i].room
                     and w.fits(oid, i)]
            box = wr.choose(boxes)
            if oid is None or box is None:
                continue
            rel = CATALOG[w.type_of(box)].receptacle or 'on'
            changes.append(WorldChange('move_object', oid, box, rel,
                                       note=f'a person puts the {words(w.type_of(oid))} '
                                            f'{rel} the {words(w.type_of(box))}'))
            clause = f'bring me the {words(w.type_of(oid))}'
            where = w.where(oid)
            if where:
                # One of several: say where it was (not where the person put it, which
                # would give the change away).
                clause += f' that was {where}'
            goals = [cond('HOLDING', by_id(oid))]
        elif kind == 'dirtied':
            oid = wr.choose([i for i in w.objects(fresh=False)
                             if sensible(w.type_of(i), 'dirty')
                             and not w.truth[i].states.get('dirty')])
            if oid is None:
                continue
            changes.append(WorldChange('set_state', oid, key='dirty', value=True,
                                       note=f'a person uses the {words(w.type_of(oid))}'))
            clause = f'wash {w.describe(oid)}'
            goals = [cond('STATE', by_id(oid), 'dirty', False)]
        elif kind == 'used_up':
            oid = wr.choose([i for i in w.objects(fresh=False)
                             if w.type_of(i) == 'ToiletPaper'
                             and not w.truth[i].states.get('used_up')])
            if oid is None or not w.fits(oid, 'GarbageCan'):
                continue
            changes.append(WorldChange('set_state', oid, key='used_up', value=True,
                                       note='a person finishes the toilet paper roll'))
            where = w.where(oid)
            clause = 'throw away the empty toilet paper roll' + (
                f', the toilet paper {where}' if where else '')
            goals = [cond('INSIDE', by_id(oid), 'GarbageCan')]
        else:
            lamps = [i for t in LIGHTS for i in w.ids(t) if not w.truth[i].states.get('toggled')]
            lamp = wr.choose(lamps)
            if lamp is None:
                continue
            changes.append(WorldChange('set_state', lamp, key='toggled', value=True,
                                       note=f'a person leaves the {words(w.type_of(lamp))} '
                                            'on'))
            room = w.room_of(lamp).replace('_', ' ')
            clause = f'turn off the {words(w.type_of(lamp))} in the {room}'
            goals = [cond('TOGGLEOFF', by_id(lamp))]
        for change in changes:
            w.change(change)
        if not wr.ok(goals):
            continue
        tasks.append(wr.commit(Task(f'{eid}-t{len(tasks)}', clause[0].upper() + clause[1:]
                                    + '.', goals, world_changes=changes,
                                    tags=['stale', kind])))
    return tasks


WRITERS = {'simple': _simple, 'composite': _composite, 'complex': _complex, 'stale': _stale}
DESCRIPTIONS = {
    'simple': 'Independent household tasks, one or two sub-goals each.',
    'composite': 'Later tasks need what earlier tasks did or saw (depends_on).',
    'complex': 'Vague references ("the red fruit", "the cold box"), 3-5 exact sub-goals.',
    'stale': 'A scripted person moves, uses, dirties or switches things between tasks.',
}


def _physics_sim():
    """A `PyBulletSimulator` to check episodes on, or None without PyBullet."""
    try:
        import sim.skills  # noqa: F401 - the backend needs its skills module
        from sim.pybullet_sim import PyBulletSimulator
    except ImportError:
        log.warning('PyBullet is not importable: suites are not checked on physics')
        return None
    return PyBulletSimulator()


def oracle_failures(sim, episode: Episode) -> list[str]:
    """What the oracle cannot do in `episode` on `sim` (empty if it solves every task)."""
    from sim.episodes import run_episode
    from sim.oracle import OraclePlayer

    try:
        result = run_episode(sim, episode, OraclePlayer())
    except ValueError as err:  # e.g. a scripted person's move that does not fit
        return [str(err)]
    return [f'{t.task_id}: {t.failed_condition or "reached before acting"} {t.error or ""}'
            .strip() for t in result.tasks if not t.success or t.reached_before_acting]


def _episode(name: str, k: int, seed: int, draw: int) -> Episode:
    home = HomeRef(seed, params={'required_objects': list(REQUIRED)})
    rng = random.Random(f'{name}-{seed}' if draw == 0 else f'{name}-{seed}-{draw}')
    world = SuiteWorld(build_home(home), rng)
    eid = f'{name}-e{k}'
    tasks = WRITERS[name](_Writer(world, rng), eid, TASKS_PER_EPISODE)
    if len(tasks) < TASKS_PER_EPISODE:
        log.warning('%s: only %d task(s) in home %d', eid, len(tasks), seed)
    return Episode(eid, home, tasks)


def _draw(name: str, k: int, seed: int, sim, failures_of: Callable[[Any, Episode], list[str]]
          ) -> Episode:
    """Episode `k` of suite `name` from home `seed`: its first fair, solvable draw.

    Solvable: the oracle solves every task on `sim` (no physics check when `sim` is None).
    """
    failures: list[str] = []
    for draw in range(MAX_DRAWS):
        episode = _episode(name, k, seed, draw)
        # An instruction that does not say which of several instances it means is
        # as unsolvable as a put that does not fit: draw again (no physics needed).
        failures = unfair_tasks(episode)
        if not failures and sim is not None:
            failures = failures_of(sim, episode)
        if not failures:
            return episode
        log.info('%s draw %d: unfair or the oracle fails on physics: %s',
                 episode.episode_id, draw, '; '.join(failures))
    raise RuntimeError(f'{name}-e{k}: no physically solvable episode in '
                       f'{MAX_DRAWS} draws ({"; ".join(failures)})')


def _suite(name: str, seeds: Sequence[int], episodes: list[Episode]) -> Suite:
    return Suite(name, episodes, DESCRIPTIONS[name],
                 generator={'module': 'sim.suites', 'seeds': list(seeds),
                            'tasks_per_episode': TASKS_PER_EPISODE})


def generate_suite(name: str, check_physics: bool = True, *,
                   seeds: Sequence[int] | None = None,
                   make_sim: Callable[[], Any] | None = None,
                   failures_of: Callable[[Any, Episode], list[str]] | None = None
                   ) -> Suite:
    """Build one suite from its seeds (deterministic).

    With `check_physics` (and PyBullet importable) every episode is run by the oracle on
    `PyBulletSimulator` and drawn again until it solves every task. `seeds` (default
    `SEEDS[name]`), `make_sim` (default: that simulator, or None without PyBullet) and
    `failures_of` (default `oracle_failures`) replace those parts.
    """
    seeds = tuple(SEEDS[name] if seeds is None else seeds)
    make_sim = _physics_sim if make_sim is None else make_sim
    failures_of = oracle_failures if failures_of is None else failures_of
    sim = make_sim() if check_physics else None
    try:
        episodes = [_draw(name, k, seed, sim, failures_of) for k, seed in enumerate(seeds)]
    finally:
        if sim is not None:
            sim.close()
    return _suite(name, seeds, episodes)


_WORKER_SIM = None


def _worker_draw(job: tuple[str, int, int]) -> Episode:
    """`_draw` in a worker process, on that worker's own simulator."""
    global _WORKER_SIM
    if _WORKER_SIM is None:
        _WORKER_SIM = _physics_sim()
    return _draw(*job, _WORKER_SIM, oracle_failures)


def generate_suites(names: Sequence[str], jobs: int = 1) -> list[Suite]:
    """`generate_suite` of every name, the episodes checked in `jobs` worker processes.

    Each episode is drawn on its own, so the suites are the same for any `jobs`.
    """
    if jobs <= 1:
        return [generate_suite(name) for name in names]
    import multiprocessing

    work = [(name, k, seed) for name in names for k, seed in enumerate(SEEDS[name])]
    with multiprocessing.get_context('fork').Pool(jobs) as pool:
        drawn = pool.map(_worker_draw, work, chunksize=1)
    return [_suite(name, SEEDS[name], [e for (n, _, _), e in zip(work, drawn) if n == name])
            for name in names]


def write_suites(out_dir: Path | None = None, progress: Callable[[str], object] | None = None,
                 jobs: int = 1) -> Iterator[tuple[Path, Suite]]:
    """Generate and write every suite; yield (path, suite) as each is written.

    `jobs` > 1 checks the episodes in that many worker processes (the same files).
    """
    out = out_dir or TASKS_DIR
    out.mkdir(parents=True, exist_ok=True)
    if jobs > 1:
        if progress:
            progress(f'generating {", ".join(WRITERS)} on {jobs} processes ...')
        made = dict(zip(WRITERS, generate_suites(list(WRITERS), jobs)))
    for name in WRITERS:
        if jobs > 1:
            suite = made[name]
        else:
            if progress:
                progress(f'generating {name} ...')
            suite = generate_suite(name)
        path = out / f'{name}.json'
        save_suite(suite, path)
        yield path, suite


if __name__ == '__main__':
    for written, suite in write_suites(jobs=os.cpu_count() or 1):
        sys.stdout.write(f'{written.name}: {suite.num_tasks} tasks\n')
