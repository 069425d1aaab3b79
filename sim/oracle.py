"""The oracle (plans from ground truth) and the episode runner every plan source shares.

`run_episode(sim, episode, plan_source)` builds the episode's home once, then for each task
applies the scripted person's world changes, asks the plan source for the skills that reach
the next unreached sub-goal, executes them, scores after every skill with `TaskScorer`, and
re-plans when a skill fails or a plan ends short of its sub-goal (bounded). It records, per
task, success, goal-condition rate, the failed sub-goal, skills, failures, path length and
simulated and wall time.

`OraclePlanSource` compiles each sub-goal with `GroundTruthResolver`, which answers the goal
compiler's questions from `sim.ground_truth()`: the upper bound any memory can reach.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from memory_nodes.domain.goal_compiler import GoalCompileError, compile_goal
from memory_nodes.domain.skills import Relation, SkillCall, SkillResult, SkillTarget
from sim.catalog import CATALOG
from sim.interface import ObjectTruth, Simulator
from sim.scoring import TaskScorer
from sim.task_schema import Episode, Task, WorldChange

log = logging.getLogger(__name__)


class GroundTruthResolver:
    """A goal-compiler `Resolver` over the simulator's ground truth (object ids)."""

    def __init__(self, sim: Simulator, avoid: set[str] | None = None):
        self.sim = sim
        self.truth: dict[str, ObjectTruth] = sim.ground_truth()
        #: Receptacle ids a put failed on (full): other instances of the type come first.
        self.avoid = avoid or set()

    def _target(self, truth: ObjectTruth) -> SkillTarget:
        return SkillTarget(object_type=truth.object_type, position=truth.position,
                           object_id=truth.object_id)

    def _enclosed(self, truth: ObjectTruth) -> bool:
        parent = self.truth.get(truth.parent or '')
        return parent is not None and parent.openable and not parent.states.get('open', False)

    def find(self, object_type: str, object_id: str | None = None,
             near: SkillTarget | None = None) -> SkillTarget | None:
        """The instance by id, else the one of the type that is easiest to get at."""
        if object_id is not None:
            truth = self.truth.get(object_id)
            return None if truth is None else self._target(truth)
        candidates = [t for t in self.truth.values() if t.object_type == object_type]
        if not candidates:
            return None
        if near is not None and near.position is not None:
            origin = near.position[:2]
        else:
            pose = self.sim.robot_pose()
            origin = (pose[0], pose[1])

        def cost(t: ObjectTruth) -> tuple:
            return (t.object_id in self.avoid, self._enclosed(t),
                    math.dist(origin, t.position[:2]), t.object_id)

        return self._target(min(candidates, key=cost))

    def container(self, target: SkillTarget) -> SkillTarget | None:
        """The direct parent receptacle."""
        truth = self.truth.get(target.object_id or '')
        parent = self.truth.get(truth.parent or '') if truth else None
        return None if parent is None else self._target(parent)

    def is_openable(self, target: SkillTarget) -> bool:
        """From the ground truth's affordance flag."""
        truth = self.truth.get(target.object_id or '')
        return bool(truth and truth.openable)

    def is_open(self, target: SkillTarget) -> bool | None:
        """The 'open' state."""
        return self.state(target, 'open')

    def state(self, target: SkillTarget, key: str) -> bool | None:
        """Any state key, None if the object does not have it."""
        truth = self.truth.get(target.object_id or '')
        return None if truth is None else truth.states.get(key)

    def relation_for(self, receptacle: SkillTarget) -> Relation | None:
        """How the receptacle's type takes objects, from the catalogue."""
        spec = CATALOG.get(receptacle.object_type or '')
        return None if spec is None else spec.receptacle

    def holding(self) -> SkillTarget | None:
        """The held object."""
        held = self.sim.holding()
        truth = self.truth.get(held or '')
        return None if truth is None else self._target(truth)


class PlanSource(Protocol):
    """Anything that proposes the skills for a task's next sub-goal."""

    def next_calls(self, task: Task, sim: Simulator, goal_index: int) -> list[SkillCall]:
        """Skill calls meant to reach `task.goals[goal_index]` from the current world."""
        ...


class OraclePlanSource:
    """Plans each sub-goal from ground truth with the goal compiler."""

    def __init__(self) -> None:
        self.full: set[str] = set()

    def next_calls(self, task: Task, sim: Simulator, goal_index: int) -> list[SkillCall]:
        """Compile the sub-goal against a fresh ground-truth resolver."""
        return compile_goal(task.goals[goal_index], GroundTruthResolver(sim, self.full))

    def observe(self, call: SkillCall, result: SkillResult) -> None:
        """Remember receptacles a put found full, to try another instance next time."""
        if call.name == 'put' and not result.success and call.receptacle is not None \
                and call.receptacle.object_id:
            self.full.add(call.receptacle.object_id)


@dataclass
class SkillRecord:
    """One executed skill and how it went."""

    skill: str
    target: str | None
    success: bool
    reason: str | None = None


@dataclass
class TaskResult:
    """How one task went."""

    task_id: str
    success: bool
    goal_condition_rate: float
    reached: int
    total: int
    failed_subgoal: int | None = None
    failed_condition: str | None = None
    reached_before_acting: int = 0
    skills: int = 0
    failed_skills: int = 0
    replans: int = 0
    path_length_m: float = 0.0
    sim_time_s: float = 0.0
    wall_time_s: float = 0.0
    error: str | None = None
    log: list[SkillRecord] = field(default_factory=list)


@dataclass
class EpisodeResult:
    """Every task of one episode, in order, plus totals."""

    episode_id: str
    tasks: list[TaskResult] = field(default_factory=list)
    wall_time_s: float = 0.0

    @property
    def success_rate(self) -> float:
        """Fraction of tasks fully reached."""
        return sum(t.success for t in self.tasks) / len(self.tasks) if self.tasks else 0.0

    @property
    def goal_condition_rate(self) -> float:
        """Mean goal-condition rate over tasks."""
        return (sum(t.goal_condition_rate for t in self.tasks) / len(self.tasks)
                if self.tasks else 0.0)

    @property
    def skills(self) -> int:
        """Skills executed in the episode."""
        return sum(t.skills for t in self.tasks)

    @property
    def path_length_m(self) -> float:
        """Robot path length over the episode, metres."""
        return sum(t.path_length_m for t in self.tasks)


def apply_world_change(sim: Simulator, change: WorldChange) -> None:
    """Apply a scripted person's change through the backend's person API."""
    if change.op == 'move_object':
        mover = getattr(sim, 'move_object', None)
        if mover is None:
            raise NotImplementedError(f'{type(sim).__name__} has no move_object (person API)')
        mover(change.object_id, change.receptacle_id, change.relation)
    else:
        setter = getattr(sim, 'set_state', None)
        if setter is None:
            raise NotImplementedError(f'{type(sim).__name__} has no set_state (person API)')
        setter(change.object_id, change.key, bool(change.value))


def _label(call: SkillCall) -> str | None:
    target = call.target
    if target is None:
        return call.area
    return target.object_id or target.object_type


def run_task(sim: Simulator, task: Task, plan_source: PlanSource, *,
             max_skills: int = 80, max_replans: int = 4) -> TaskResult:
    """Run one task in the simulator's current world (world changes already applied)."""
    start_wall, start_sim = time.perf_counter(), sim.time
    scorer = TaskScorer(task.goals)
    scorer.update(sim.ground_truth(), sim.holding())
    result = TaskResult(task.task_id, False, 0.0, 0, len(task.goals),
                        reached_before_acting=scorer.score.reached)
    while not scorer.done and result.skills < max_skills and result.replans <= max_replans:
        index = scorer.score.reached
        try:
            calls = plan_source.next_calls(task, sim, index)
        except GoalCompileError as err:
            result.error = f'no plan for sub-goal #{index} {task.goals[index]}: {err}'
            break
        if not calls:
            result.replans += 1
            continue
        for call in calls:
            outcome = sim.execute(call)
            observe = getattr(plan_source, 'observe', None)
            if observe is not None:
                observe(call, outcome)
            result.skills += 1
            result.path_length_m += outcome.path_length_m
            result.log.append(SkillRecord(call.name, _label(call), outcome.success,
                                          outcome.reason))
            scorer.update(sim.ground_truth(), sim.holding())
            if not outcome.success:
                result.failed_skills += 1
                log.info('%s: %s(%s) failed: %s %s', task.task_id, call.name, _label(call),
                         outcome.reason, outcome.message)
                break
            if scorer.done or result.skills >= max_skills:
                break
        if scorer.score.reached == index and not scorer.done:
            result.replans += 1
    score = scorer.score
    result.success = score.success
    result.goal_condition_rate = score.goal_condition_rate
    result.reached = score.reached
    result.failed_subgoal = score.failed_subgoal
    result.failed_condition = None if score.success else str(score.failed_condition)
    result.sim_time_s = sim.time - start_sim
    result.wall_time_s = time.perf_counter() - start_wall
    return result


def run_episode(sim: Simulator, episode: Episode, plan_source: PlanSource, *,
                reset: bool = True, max_skills_per_task: int = 80,
                on_task: Callable[[TaskResult], object] | None = None) -> EpisodeResult:
    """Run every task of `episode` in one home without reset between tasks."""
    from sim.suite_world import build_home

    start = time.perf_counter()
    if reset:
        sim.reset(build_home(episode.home), seed=episode.home.seed)
    result = EpisodeResult(episode.episode_id)
    for task in episode.tasks:
        for i, change in enumerate(task.world_changes):
            try:
                apply_world_change(sim, change)
            except ValueError as err:
                raise ValueError(f'{task.task_id} world_changes[{i}]: {err}') from err
        task_result = run_task(sim, task, plan_source, max_skills=max_skills_per_task)
        result.tasks.append(task_result)
        if on_task is not None:
            on_task(task_result)
    result.wall_time_s = time.perf_counter() - start
    return result
