"""Task suites on disk (`sim/tasks/*.json`): load, validate, save.

The schema is documented in `sim/tasks/README.md`.
A suite holds episodes; an episode is one generated home (by seed) and many tasks run in it
without reset; a task is an instruction, an ordered list of goal conditions (text, as
`memory_nodes.domain.goals` parses it) and the world changes a scripted person makes
before it, out of the robot's sight. Loading checks everything it can without building
the home and raises one `TaskFileError` listing every problem by file, episode, task and field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from memory_nodes.domain.goals import GoalCondition, GoalParseError, parse_condition
from sim.catalog import CATALOG, ROOM_TYPES, STATE_KEYS

SCHEMA = 'embodied_memory.tasks/1'
TASKS_DIR = Path(__file__).resolve().parent / 'tasks'
SUITE_NAMES = ('simple', 'composite', 'complex', 'stale')

WorldOp = Literal['move_object', 'set_state']


class TaskFileError(ValueError):
    """A task file breaks the schema; `problems` lists each as `where: what`."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = '\n  '.join(problems)
        super().__init__(f'{source}: {len(problems)} problem(s)\n  {lines}')


@dataclass
class WorldChange:
    """One change a scripted person makes between tasks, through the simulator's person API.

    `move_object`: put `object_id` `relation` ('in'/'on') `receptacle_id`.
    `set_state`: set state `key` of `object_id` to `value`. `note` says it for people.
    """

    op: WorldOp
    object_id: str
    receptacle_id: str | None = None
    relation: str | None = None
    key: str | None = None
    value: bool | None = None
    note: str = ''

    def to_json(self) -> dict[str, Any]:
        """The JSON object for this change (only the fields its op uses)."""
        out: dict[str, Any] = {'op': self.op, 'object_id': self.object_id}
        if self.op == 'move_object':
            out.update(receptacle_id=self.receptacle_id, relation=self.relation)
        else:
            out.update(key=self.key, value=self.value)
        if self.note:
            out['note'] = self.note
        return out


@dataclass
class Task:
    """One task: an instruction and its ordered sub-goals (ALFRED-L semantics)."""

    task_id: str
    instruction: str
    goals: list[GoalCondition]
    world_changes: list[WorldChange] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    source: dict[str, Any] | None = None
    unmapped: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON object for this task (empty optional fields left out)."""
        out: dict[str, Any] = {'id': self.task_id, 'instruction': self.instruction,
                               'goal': [g.to_text() for g in self.goals]}
        if self.world_changes:
            out['world_changes'] = [c.to_json() for c in self.world_changes]
        for name in ('depends_on', 'references', 'tags', 'source', 'unmapped'):
            value = getattr(self, name)
            if value:
                out[name] = value
        return out


@dataclass
class HomeRef:
    """Which home an episode runs in.

    A seed, optionally the room types to build and the room the robot starts in; other keys
    go to the home generator as `params`. `scene` names a built-in imported scene instead
    of a generated home (`ai2thor:FloorPlan1`, see `sim.ai2thor.floorplan1`); the seed then
    only seeds the simulator.
    """

    seed: int
    rooms: list[str] | None = None
    start_room: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    scene: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object for this home reference."""
        out: dict[str, Any] = {'seed': self.seed}
        if self.scene is not None:
            out['scene'] = self.scene
        if self.rooms is not None:
            out['rooms'] = self.rooms
        if self.start_room is not None:
            out['start_room'] = self.start_room
        out.update(self.params)
        return out


@dataclass
class Episode:
    """Many tasks in one home, run in order without reset."""

    episode_id: str
    home: HomeRef
    tasks: list[Task]

    def to_json(self) -> dict[str, Any]:
        """The JSON object for this episode."""
        return {'id': self.episode_id, 'home': self.home.to_json(),
                'tasks': [t.to_json() for t in self.tasks]}


@dataclass
class Suite:
    """A named set of episodes (Simple, Composite, Complex, Stale, or imported)."""

    name: str
    episodes: list[Episode]
    description: str = ''
    generator: dict[str, Any] = field(default_factory=dict)

    def tasks(self) -> Iterator[tuple[Episode, Task]]:
        """Every (episode, task) pair in order."""
        for episode in self.episodes:
            for task in episode.tasks:
                yield episode, task

    @property
    def num_tasks(self) -> int:
        """How many tasks the suite has."""
        return sum(len(e.tasks) for e in self.episodes)

    def to_json(self) -> dict[str, Any]:
        """The JSON document for this suite."""
        out: dict[str, Any] = {'schema': SCHEMA, 'suite': self.name,
                               'description': self.description}
        if self.generator:
            out['generator'] = self.generator
        out['episodes'] = [e.to_json() for e in self.episodes]
        return out


# -- validation -------------------------------------------------------------------------------


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def need(self, obj: dict, key: str, kind: type | tuple[type, ...], where: str,
             optional: bool = False) -> Any:
        if key not in obj:
            if not optional:
                self.problems.append(f'{where}: missing field {key!r}')
            return None
        value = obj[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            kinds = (kind,) if isinstance(kind, type) else kind
            names = '/'.join(k.__name__ for k in kinds)
            self.problems.append(f'{where}: field {key!r} must be {names}, '
                                 f'got {type(value).__name__}')
            return None
        return value


def condition_problems(cond: GoalCondition) -> list[str]:
    """What makes `cond` impossible with our catalogue, one reason per entry.

    Unknown types, a state the type does not have, an untoggleable toggle, a target that is
    not a receptacle, furniture to be moved.
    """
    problems = []
    for name, value in (('object', cond.obj), ('target', cond.target)):
        if cond.kind == 'STATE' and name == 'target':
            continue
        if value and value not in CATALOG:
            problems.append(f'unknown {name} type {value!r}')
    if problems:
        return problems
    spec = CATALOG.get(cond.obj) if cond.obj else None
    if spec is not None and cond.kind == 'STATE' and cond.target not in spec.state_keys():
        problems.append(f'{cond.obj} has no state {cond.target!r} '
                        f'(it has {", ".join(spec.state_keys()) or "none"})')
    if spec is not None and cond.kind in ('TOGGLEON', 'TOGGLEOFF') and not spec.toggleable:
        problems.append(f'{cond.obj} cannot be toggled')
    if spec is not None and cond.kind in ('ON', 'INSIDE', 'HOLDING') and not spec.pickupable:
        problems.append(f'{cond.obj} is furniture and cannot be picked up or moved')
    if cond.kind in ('ON', 'INSIDE') and cond.target and cond.target in CATALOG \
            and not CATALOG[cond.target].is_receptacle:
        problems.append(f'{cond.target} is not a receptacle')
    return problems


def _task(raw: Any, episode: str, index: int, check: _Checker) -> Task | None:
    where = f'{episode} task[{index}]'
    if not isinstance(raw, dict):
        check.problems.append(f'{where}: a task must be an object')
        return None
    task_id = check.need(raw, 'id', str, where)
    where = f'{episode} task {task_id!r}' if task_id else where
    instruction = check.need(raw, 'instruction', str, where)
    goal_texts = check.need(raw, 'goal', list, where)
    goals: list[GoalCondition] = []
    for i, text in enumerate(goal_texts or []):
        spot = f'{where} field goal[{i}]'
        if not isinstance(text, str):
            check.problems.append(f'{spot}: must be a string like "ON(Apple, DiningTable): 1"')
            continue
        try:
            cond = parse_condition(text)
        except GoalParseError as err:
            check.problems.append(f'{spot}: {err}')
            continue
        check.problems += [f'{spot}: {p} in {cond}' for p in condition_problems(cond)]
        goals.append(cond)
    unmapped = check.need(raw, 'unmapped', list, where, True) or []
    if goal_texts is not None and not goal_texts and not unmapped:
        check.problems.append(f'{where} field goal: no goal conditions (an imported task '
                              'with nothing mappable must list why in "unmapped")')
    changes = []
    for i, change in enumerate(check.need(raw, 'world_changes', list, where, True) or []):
        parsed = _change(change, f'{where} field world_changes[{i}]', check)
        if parsed:
            changes.append(parsed)
    depends = check.need(raw, 'depends_on', list, where, True) or []
    refs = check.need(raw, 'references', dict, where, True) or {}
    tags = check.need(raw, 'tags', list, where, True) or []
    source = check.need(raw, 'source', dict, where, True)
    known = {'id', 'instruction', 'goal', 'world_changes', 'depends_on', 'references', 'tags',
             'source', 'unmapped'}
    for key in sorted(set(raw) - known):
        check.problems.append(f'{where}: unknown field {key!r}')
    if task_id is None or instruction is None or goal_texts is None:
        return None
    return Task(task_id, instruction, goals, changes, depends, refs, tags, source, unmapped)


def _change(raw: Any, where: str, check: _Checker) -> WorldChange | None:
    if not isinstance(raw, dict):
        check.problems.append(f'{where}: must be an object')
        return None
    op = check.need(raw, 'op', str, where)
    object_id = check.need(raw, 'object_id', str, where)
    note = check.need(raw, 'note', str, where, True) or ''
    if op == 'move_object':
        receptacle = check.need(raw, 'receptacle_id', str, where)
        relation = check.need(raw, 'relation', str, where)
        if relation not in (None, 'in', 'on'):
            check.problems.append(f'{where}: relation must be "in" or "on", got {relation!r}')
        if object_id and receptacle:
            return WorldChange(op, object_id, receptacle, relation, note=note)
    elif op == 'set_state':
        key = check.need(raw, 'key', str, where)
        value = check.need(raw, 'value', bool, where)
        if key is not None and key not in STATE_KEYS:
            check.problems.append(f'{where}: unknown state key {key!r}')
        if object_id and key and value is not None:
            return WorldChange(op, object_id, key=key, value=value, note=note)
    elif op is not None:
        check.problems.append(f'{where}: op must be "move_object" or "set_state", got {op!r}')
    return None


def _home(raw: Any, where: str, check: _Checker) -> HomeRef | None:
    if not isinstance(raw, dict):
        check.problems.append(f'{where} field home: must be an object with a "seed"')
        return None
    seed = check.need(raw, 'seed', int, f'{where} field home')
    rooms = check.need(raw, 'rooms', list, f'{where} field home', True)
    for room in rooms or []:
        if room not in ROOM_TYPES:
            check.problems.append(f'{where} field home.rooms: unknown room type {room!r} '
                                  f'(known: {", ".join(ROOM_TYPES)})')
    start = check.need(raw, 'start_room', str, f'{where} field home', True)
    scene = check.need(raw, 'scene', str, f'{where} field home', True)
    params = {k: v for k, v in raw.items() if k not in ('seed', 'rooms', 'start_room', 'scene')}
    return None if seed is None else HomeRef(seed, rooms, start, params, scene)


def suite_from_json(doc: Any, source: str = '<json>') -> Suite:
    """Validate a parsed JSON document and build the `Suite`; raise `TaskFileError`."""
    check = _Checker()
    if not isinstance(doc, dict):
        raise TaskFileError(source, ['top level must be an object'])
    schema = doc.get('schema')
    if schema != SCHEMA:
        check.problems.append(f'field schema: expected {SCHEMA!r}, got {schema!r}')
    name = check.need(doc, 'suite', str, 'top level') or ''
    episodes, seen = [], set()
    for i, raw in enumerate(check.need(doc, 'episodes', list, 'top level') or []):
        where = f'episodes[{i}]'
        if not isinstance(raw, dict):
            check.problems.append(f'{where}: must be an object')
            continue
        episode_id = check.need(raw, 'id', str, where)
        where = f'episode {episode_id!r}' if episode_id else where
        home = _home(raw.get('home'), where, check)
        tasks = []
        for j, task_raw in enumerate(check.need(raw, 'tasks', list, where) or []):
            task = _task(task_raw, where, j, check)
            if task is None:
                continue
            if task.task_id in seen:
                check.problems.append(f'{where} task {task.task_id!r}: duplicate task id')
            seen.add(task.task_id)
            for dep in task.depends_on:
                if dep not in seen:
                    check.problems.append(f'{where} task {task.task_id!r} field depends_on: '
                                          f'{dep!r} is not an earlier task')
            tasks.append(task)
        if episode_id and home:
            episodes.append(Episode(episode_id, home, tasks))
    if check.problems:
        raise TaskFileError(source, check.problems)
    return Suite(name, episodes, doc.get('description', ''), doc.get('generator', {}))


def load_suite(path_or_name: str | Path) -> Suite:
    """Load a suite file, or a suite by name (`simple`) from `sim/tasks/`."""
    path = Path(path_or_name)
    if not path.suffix and not path.exists():
        path = TASKS_DIR / f'{path_or_name}.json'
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise TaskFileError(str(path), ['no such file']) from None
    except json.JSONDecodeError as err:
        raise TaskFileError(path.name, [f'not JSON: line {err.lineno}: {err.msg}']) from None
    return suite_from_json(doc, path.name)


def save_suite(suite: Suite, path: str | Path) -> None:
    """Write `suite` as stable, diff-friendly JSON (validated first)."""
    doc = suite.to_json()
    suite_from_json(json.loads(json.dumps(doc)), str(Path(path).name))
    Path(path).write_text(json.dumps(doc, indent=1, sort_keys=False) + '\n')
