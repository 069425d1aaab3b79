"""The oracle: a plan source from ground truth, and the player that re-plans with it.

`OraclePlayer(plan_source)` plays a task for the episode loop (`sim.episodes.run_episode`):
it asks the plan source for the skills that reach the next unreached sub-goal, executes
them, updates the loop's `TaskScorer` after every skill, and re-plans when a skill fails
or a plan ends short of its sub-goal (bounded). It records, per task, the error, skills,
failures, re-plans, path length, a log of every skill, and simulated and wall time.

`OraclePlanSource` compiles each sub-goal with `GroundTruthResolver`, which answers the goal
compiler's questions from `sim.ground_truth()`: the upper bound any memory can reach.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Protocol

from memory_nodes.domain.goal_compiler import GoalCompileError, compile_goal
from memory_nodes.domain.skills import Relation, SkillCall, SkillResult, SkillTarget
from sim.catalog import CATALOG
from sim.episodes import SkillRecord, TaskPlayer, TaskRecord, play_task
from sim.interface import ObjectTruth, Simulator
from sim.scoring import TaskScorer
from sim.task_schema import Task

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


def _label(call: SkillCall) -> str | None:
    target = call.target
    if target is None:
        return call.area
    return target.object_id or target.object_type


class OraclePlayer(TaskPlayer):
    """Plays a task from a plan source: plan the next unreached sub-goal, execute, re-plan.

    It re-plans when a skill fails or a plan ends short of its sub-goal, up to
    `max_replans` times and `max_skills` skills per task. The plan source lives as long as
    the player (the oracle remembers full receptacles across an episode's tasks).
    """

    condition = 'oracle'

    def __init__(self, plan_source: PlanSource | None = None, *, max_skills: int = 80,
                 max_replans: int = 4) -> None:
        self.plan_source: PlanSource = \
            OraclePlanSource() if plan_source is None else plan_source
        self.max_skills = max_skills
        self.max_replans = max_replans

    def play(self, sim: Simulator, task: Task, scorer: TaskScorer) -> TaskRecord:
        """Run one task in the simulator's current world (world changes already applied)."""
        plan_source = self.plan_source
        start_wall, start_sim = time.perf_counter(), sim.time
        result = TaskRecord(task.task_id, instruction=task.instruction)
        while not scorer.done and result.skills < self.max_skills \
                and result.replans <= self.max_replans:
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
                    log.info('%s: %s(%s) failed: %s %s', task.task_id, call.name,
                             _label(call), outcome.reason, outcome.message)
                    break
                if scorer.done or result.skills >= self.max_skills:
                    break
            if scorer.score.reached == index and not scorer.done:
                result.replans += 1
        result.sim_time_s = sim.time - start_sim
        result.wall_time_s = time.perf_counter() - start_wall
        return result


def run_task(sim: Simulator, task: Task, plan_source: PlanSource, *,
             max_skills: int = 80, max_replans: int = 4) -> TaskRecord:
    """Run one task in the simulator's current world, no world changes (one-off runs)."""
    return play_task(sim, task, OraclePlayer(plan_source, max_skills=max_skills,
                                             max_replans=max_replans))
