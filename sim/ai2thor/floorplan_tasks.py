"""ALFRED-L FloorPlan 1 tasks in the imported FloorPlan1, and in a generated kitchen.

`floorplan1_tasks` imports ALFRED-L files with the ALFRED-L importer and keeps the FloorPlan 1
tasks; `support_problems` says why a task cannot be reached in a given home (a malformed
condition, a type the home lacks, an object that does not fit its receptacle, a tool or
appliance missing); `run_floorplan_tasks` runs the supported ones, each from the scene's
initial state, with any plan source; `compare_floorplan1` puts FloorPlan1 and the generated
kitchen side by side (success and exploration per task).

Slices: a sliced object is a slice (`sim.catalog.SLICES`), as in AI2-THOR, where ALFRED's
goals about a bread after slicing (`ON(bread, plate)`, `INSIDE(bread, toaster)`) are
reached with a slice. `support_problems` judges an ON/INSIDE goal by the object's size at
that point of the task (a slice after a `STATE(X, sliced)` goal), and accepts one that only
a slice fits when the home has a knife; `ContainerAwareOracle` then slices the object first
(ALFRED-L's "place the bread slices on a plate" says ON(bread, plate) and no slicing goal),
or puts a slice that is already cut.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from memory_nodes.domain.goal_compiler import compile_task
from memory_nodes.domain.goals import GoalCondition
from memory_nodes.domain.skills import SkillCall
from sim.ai2thor.floorplan1 import REPO_ROOT, SCENE_NAME, floorplan1_home
from sim.alfred_l import ImportedTask, import_alfred_l_file
from sim.catalog import CATALOG, SLICES, SLICING_TOOLS
from sim.episodes import TaskRecord
from sim.floorplan_homes import state_requirements
from sim.home import HomeSpec
from sim.home_completion import thing_surfaces
from sim.interface import Simulator
from sim.oracle import GroundTruthResolver, OraclePlanSource, PlanSource, run_task
from sim.task_schema import Episode, HomeRef, Suite, Task

log = logging.getLogger(__name__)

ALFRED_FILES = ('simple_tasks.json', 'composite_tasks.json')
FLOORPLAN = 1
#: Metres a whole object must have to spare on a surface before the oracle puts it there
#: uncut rather than a slice of it (`slice_first`).
SPARE = 0.01

PlanSourceFactory = Callable[[], PlanSource]


def alfred_l_dir(path: str | Path | None = None) -> Path:
    """`path`, else `../shared/datasets/alfred_l` next to the repository."""
    return Path(path) if path is not None else REPO_ROOT.parent / 'shared' / 'datasets' / \
        'alfred_l'


def floorplan1_tasks(files: Iterable[str | Path] | None = None) -> list[ImportedTask]:
    """Every FloorPlan 1 entry of the ALFRED-L files, imported (mapped or reported)."""
    if files is None:
        files = [alfred_l_dir() / name for name in ALFRED_FILES]
    out = []
    for file in files:
        result = import_alfred_l_file(file)
        out += [t for t in result.tasks if t.task.source.get('floorplan') == FLOORPLAN]
    return out


def floorplan1_suite(files: Iterable[str | Path] | None = None, seed: int = 0) -> Suite:
    """One episode of every FloorPlan 1 task, in the imported FloorPlan1 scene."""
    tasks = [t.task for t in floorplan1_tasks(files)]
    home = HomeRef(seed, start_room='kitchen', params={'floorplan': FLOORPLAN},
                   scene=SCENE_NAME)
    return Suite('alfred_l-floorplan1', [Episode('alfred_l-floorplan1-ai2thor', home, tasks)],
                 description='ALFRED-L FloorPlan 1 tasks in the imported AI2-THOR FloorPlan1',
                 generator={'module': 'sim.ai2thor.floorplan_tasks'})


# ---------------------------------------------------------------------------- support
def _fits(size: tuple[float, float, float], home: HomeSpec, receptacle_type: str,
          spare: float = 0.0) -> bool:
    """True if an object of `size` fits a support surface of some `receptacle_type`.

    `spare`: metres to spare across and along.
    """
    a, b, h = sorted(size[:2], reverse=True) + [size[2]]
    for thing in home.things():
        if thing.object_type != receptacle_type or thing.position is None:
            continue
        for s in thing_surfaces(home, thing):
            w, d = sorted((s.rect[2] - s.rect[0], s.rect[3] - s.rect[1]), reverse=True)
            if a + spare <= w and b + spare <= d and h + 0.005 <= s.clearance:
                return True
    return False


def _surface_text(home: HomeSpec, receptacle_type: str) -> str:
    sizes = []
    for thing in home.things():
        if thing.object_type == receptacle_type and thing.position is not None:
            for s in thing_surfaces(home, thing):
                sizes.append(f'{s.rect[2] - s.rect[0]:.2f} x {s.rect[3] - s.rect[1]:.2f} m')
    return ', '.join(sorted(set(sizes))[:3]) or 'none'


def _only_a_slice_fits(object_type: str, size: tuple[float, float, float], home: HomeSpec,
                       receptacle_type: str) -> bool:
    """True if an `object_type` of `size` fits no `receptacle_type` but a slice of it does."""
    return object_type in SLICES and CATALOG[object_type].sliceable \
        and not _fits(size, home, receptacle_type) \
        and _fits(SLICES[object_type].size, home, receptacle_type)


def support_problems(task: Task, home: HomeSpec) -> list[str]:
    """Why `task` cannot be reached in `home` (empty if it can, as far as we can tell).

    Sizes follow the task: after a `STATE(X, sliced)` goal an X is a slice; an ON/INSIDE
    goal only a slice of X fits is reachable with a knife (the oracle slices X first).
    """
    problems = [f'not mapped: {u["text"]} ({u["reason"]})' for u in task.unmapped]
    present = {t.object_type for t in home.things()}
    sizes = {o.object_type: o.size for o in home.objects}
    knife = bool(present & set(SLICING_TOOLS))
    for cond in task.goals:
        for word in (cond.obj, cond.target if cond.kind in ('ON', 'INSIDE') else None):
            if word and word not in present:
                problems.append(f'{cond}: {home.name} has no {word}')
        if cond.negated or cond.kind != 'STATE':
            if cond.kind in ('ON', 'INSIDE') and cond.obj in sizes and cond.target in present \
                    and not _fits(sizes[cond.obj], home, cond.target or ''):
                if knife and _only_a_slice_fits(cond.obj, sizes[cond.obj], home,
                                                cond.target or ''):
                    sizes[cond.obj] = SLICES[cond.obj].size
                    continue
                dims = ' x '.join(f'{v:.2f}' for v in sizes[cond.obj])
                problems.append(f'{cond}: the {cond.obj} ({dims} m) fits no {cond.target} '
                                f'surface ({_surface_text(home, cond.target or "")})')
            continue
        for options in state_requirements(cond):
            if not present & set(options):
                problems.append(f'{cond}: needs a {" or ".join(options)}, {home.name} has none')
        if cond.target == 'sliced' and cond.state_value and cond.obj in sizes \
                and cond.obj in SLICES:
            sizes[cond.obj] = SLICES[cond.obj].size
        if cond.target in ('cooked', 'hot') and cond.obj in sizes \
                and not _fits(sizes[cond.obj], home, 'Microwave'):
            problems.append(f'{cond}: the {cond.obj} fits in no Microwave')
    return list(dict.fromkeys(problems))


# ---------------------------------------------------------------------------- the oracle
class ContainerAwareOracle(OraclePlanSource):
    """The oracle, plus: slice an object first where only a slice fits (`slice_first`).

    (It also opened the closed container a put's receptacle sits in, FloorPlan1's plates
    in wall cabinets; the goal compiler's `put` does that itself now, for every planner.)
    """

    def next_calls(self, task: Task, sim: Simulator, goal_index: int) -> list[SkillCall]:
        """The oracle's calls, slicing first where only a slice of the object fits."""
        goals = slice_first(task.goals[goal_index], sim)
        return compile_task(goals, GroundTruthResolver(sim, self.full))


def slice_first(goal: GoalCondition, sim: Simulator) -> list[GoalCondition]:
    """The sub-goals that reach `goal` where only a slice of its object fits the receptacle.

    In AI2-THOR "put the bread on the plate" after (or instead of) slicing is done with a
    slice. For an ON/INSIDE goal whose whole object fits no receptacle of the type but a
    slice does: the goal pinned to a slice already cut, else `STATE(X, sliced)` then the
    goal. Any other goal (or a simulator without a `HomeSpec`) is returned as it is.
    `support_problems` accepts the goal when only a slice fits at all.
    """
    home = getattr(sim, 'home', None)
    if goal.negated or goal.kind not in ('ON', 'INSIDE') or not goal.obj or not goal.target \
            or goal.obj not in SLICES or not isinstance(home, HomeSpec):
        return [goal]
    sizes = {o.object_id: o.size for o in home.objects}
    mine = [t for t in sim.ground_truth().values() if t.object_type == goal.obj
            and t.object_id in sizes and goal.obj_id in (None, t.object_id)]
    whole = [t for t in mine if not t.states.get('sliced')]
    # `SPARE` to spare: a whole object that only just fits (a 0.22 m loaf on a plate 0.22 m
    # across) finds no spot in the simulator, whose boxes carry a collision margin
    if not mine or not CATALOG[goal.obj].sliceable \
            or not _fits(SLICES[goal.obj].size, home, goal.target) \
            or any(_fits(sizes[t.object_id], home, goal.target, SPARE) for t in whole):
        return [goal]
    cut = sorted(t.object_id for t in mine if t.states.get('sliced'))
    if cut:
        return [replace(goal, obj_id=cut[0])]
    return [GoalCondition('STATE', goal.obj, 'sliced', obj_id=goal.obj_id), goal]


# ---------------------------------------------------------------------------- running
@dataclass
class FloorPlanTaskResult:
    """One ALFRED-L task in one home: supported or why not, and how the run went."""

    task_id: str
    home: str
    supported: bool
    reasons: list[str] = field(default_factory=list)
    result: TaskRecord | None = None

    @property
    def success(self) -> bool:
        """True if the task ran and every sub-goal was reached in order."""
        return bool(self.result and self.result.success)

    @property
    def navigation_steps(self) -> int:
        """navigate_to and explore skills executed (the exploration the task cost)."""
        if self.result is None:
            return 0
        return sum(1 for r in self.result.log if r.skill in ('navigate_to', 'explore'))

    @property
    def path_length_m(self) -> float:
        """Robot path length, metres."""
        return self.result.path_length_m if self.result else 0.0


def run_floorplan_tasks(tasks: list[Task], home: HomeSpec,
                        plan_source_factory: PlanSourceFactory = ContainerAwareOracle,
                        seed: int = 0, sim=None) -> list[FloorPlanTaskResult]:
    """Run each supported task in `home` from its initial state (a reset per task)."""
    from sim.pybullet_sim import PyBulletSimulator

    own = sim is None
    sim = sim or PyBulletSimulator(width=64, height=48)
    out = []
    try:
        for task in tasks:
            reasons = support_problems(task, home)
            if reasons:
                out.append(FloorPlanTaskResult(task.task_id, home.name, False, reasons))
                continue
            sim.reset(home, seed=seed)
            result = run_task(sim, task, plan_source_factory())
            log.info('%s in %s: %s', task.task_id, home.name,
                     'success' if result.success else f'failed at {result.failed_condition}')
            out.append(FloorPlanTaskResult(task.task_id, home.name, True, [], result))
    finally:
        if own:
            sim.close()
    return out


@dataclass
class FloorPlanComparison:
    """Per task: FloorPlan1 vs a generated kitchen (success and exploration)."""

    rows: list[tuple[FloorPlanTaskResult, FloorPlanTaskResult]]
    kitchen_name: str

    def table(self) -> str:
        """A markdown table the evaluation bench prints."""
        def cell(r: FloorPlanTaskResult) -> str:
            if not r.supported:
                return 'unsupported'
            return (f'{"yes" if r.success else "no"} | {r.navigation_steps} | '
                    f'{r.path_length_m:.1f}')

        lines = ['| task | FloorPlan1 success | nav steps | path m | '
                 f'{self.kitchen_name} success | nav steps | path m |',
                 '|---|---|---|---|---|---|---|']
        for a, b in self.rows:
            ca = cell(a) if a.supported else 'unsupported | - | -'
            cb = cell(b) if b.supported else 'unsupported | - | -'
            lines.append(f'| {a.task_id} | {ca} | {cb} |')
        for a, b in self.rows:
            for side in (a, b):
                for reason in side.reasons:
                    lines.append(f'- {side.task_id} in {side.home}: {reason}')
                if side.result is not None and not side.success:
                    fails = [f'{r.skill}({r.target}): {r.reason}' for r in side.result.log
                             if not r.success][-1:]
                    why = side.result.error or '; '.join(fails) or 'no progress'
                    lines.append(f'- {side.task_id} in {side.home}: failed at '
                                 f'{side.result.failed_condition} ({why})')
        return '\n'.join(lines)


def generated_kitchen_ref(tasks: list[Task]) -> HomeRef:
    """A generated kitchen holding everything `tasks` name or need.

    What the FloorPlan home builder would make for FloorPlan 1, had it no real scene.
    """
    from sim.floorplan_homes import FLOORPLAN_SEED_BASE, task_needs

    objects, furniture = task_needs(tasks)
    return HomeRef(FLOORPLAN_SEED_BASE + FLOORPLAN, ['kitchen'], 'kitchen',
                   {'required_objects': objects, 'required_furniture': furniture})


def compare_floorplan1(plan_source_factory: PlanSourceFactory = ContainerAwareOracle,
                       files: Iterable[str | Path] | None = None,
                       floorplan1: HomeSpec | None = None,
                       kitchen: HomeSpec | None = None) -> FloorPlanComparison:
    """FloorPlan 1 ALFRED-L tasks in the imported FloorPlan1 and in a generated kitchen.

    `plan_source_factory()` makes a fresh plan source per task (the oracle by default; the
    evaluation bench passes a memory-driven planner). `kitchen` defaults to a generated
    kitchen (the ALFRED-L importer's seed for FloorPlan 1) holding every object type the
    tasks name, and a knife.
    """
    from sim.suite_world import build_home

    imported = floorplan1_tasks(files)
    tasks = [t.task for t in imported]
    floorplan1 = floorplan1 or floorplan1_home()
    if kitchen is None:
        kitchen = build_home(generated_kitchen_ref(tasks))
    a = run_floorplan_tasks(tasks, floorplan1, plan_source_factory)
    b = run_floorplan_tasks(tasks, kitchen, plan_source_factory)
    return FloorPlanComparison(list(zip(a, b)), kitchen.name)


__all__ = ['ContainerAwareOracle', 'FloorPlanComparison', 'FloorPlanTaskResult', 'alfred_l_dir',
           'compare_floorplan1', 'floorplan1_suite', 'floorplan1_tasks', 'generated_kitchen_ref',
           'run_floorplan_tasks', 'slice_first', 'support_problems']
