"""The grounded planner's execution loop: plan from memory, act, look, re-plan.

For each sub-goal in order: compile it into skills against memory (`MemoryResolver`);
if memory does not know an object the sub-goal needs, explore the most likely room not
yet explored and try again; execute the skills; when a skill fails because memory was
stale (the object was not where memory said), tell memory and re-plan. The runner sees
only memory, the robot's own skill results and its own pose: never ground truth. Whether
the task really succeeded is for a scorer outside to judge.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from memory_nodes.planner.goal_compiler import GoalCompileError, compile_goal
from memory_nodes.planner.memory_resolver import MemoryResolver
from memory_nodes.planner.plan import MemoryView
from sim.catalog import CATALOG
from sim.goals import GoalCondition
from sim.interface import SkillCall, SkillResult, SkillTarget

log = logging.getLogger(__name__)

#: Failures that mean "memory was wrong about this object": mark it missing, re-plan.
STALE_REASONS = {'object_not_found', 'not_holding_target'}
#: Failures that mean "this receptacle will not do": try another instance.
AVOID_RECEPTACLE_REASONS = {'no_space', 'unstable', 'invalid_receptacle', 'not_a_receptacle'}


class SkillExecutor(Protocol):
    """The robot's skill server (the simulator in-process, or ExecuteSkill over ROS)."""

    def execute(self, call: SkillCall) -> SkillResult:
        """Run one primitive skill; perception of what it saw is the executor's business."""
        ...

    def robot_xy(self) -> tuple[float, float]:
        """The robot's own position in `map` (localization, not ground truth of objects)."""
        ...

    def now(self) -> float:
        """Robot time, seconds."""
        ...

    def held_type(self) -> str | None:
        """Type of what the gripper holds (the robot's own proprioception), if anything."""
        ...


@dataclass
class RunnerConfig:
    """Bounds of the loop: re-plans per sub-goal and skills per task."""

    max_replans: int = 6
    max_skills: int = 80
    max_explorations: int = 6


@dataclass
class SkillLogEntry:
    """One executed skill as the planner saw it."""

    text: str
    success: bool
    reason: str | None
    duration_s: float
    path_length_m: float


@dataclass
class TaskOutcome:
    """What the runner did for one task (success as the planner believes it)."""

    believed_done: bool
    skills: list[SkillLogEntry] = field(default_factory=list)
    replans: int = 0
    explorations: int = 0
    stale_hits: int = 0
    memory_lookups: int = 0
    memory_lookups_correct: int = 0
    path_length_m: float = 0.0
    robot_time_s: float = 0.0
    wall_time_s: float = 0.0
    error: str = ''
    subgoals_believed: int = 0


def call_text(call: SkillCall) -> str:
    """A skill call as readable text, e.g. put(Apple, Fridge, in)."""
    args = []
    for t in (call.target, call.receptacle):
        if t is not None:
            args.append(t.object_type or t.object_id or '?')
    if call.relation:
        args.append(call.relation)
    if call.area:
        args.append(call.area)
    return f'{call.name}({", ".join(args)})'


def strip_instances(goal: GoalCondition) -> GoalCondition:
    """The goal by type only: memory has no simulator ids to match pinned instances."""
    return replace(goal, obj_id=None, target_id=None,
                   obj=goal.obj or (goal.obj_id or '').rsplit('_', 1)[0],
                   target=goal.target or ((goal.target_id or '').rsplit('_', 1)[0] or None))


class TaskRunner:
    """Plans each sub-goal from memory, executes it, explores and re-plans as needed."""

    def __init__(self, memory: MemoryView, robot: SkillExecutor, areas: Sequence[str],
                 config: RunnerConfig | None = None,
                 on_skill: Callable[[SkillCall, SkillResult], None] | None = None) -> None:
        self.memory = memory
        self.robot = robot
        self.areas = list(areas)
        self.config = config or RunnerConfig()
        self.on_skill = on_skill

    @property
    def holding(self) -> SkillTarget | None:
        """What the gripper holds, as a target without a position (it moves with us)."""
        held = self.robot.held_type()
        return None if held is None else SkillTarget(object_type=held)

    # -- exploration ---------------------------------------------------------------
    def _explore_order(self, object_types: Sequence[str], explored: set[str]) -> list[str]:
        likely = []
        for t in object_types:
            spec = CATALOG.get(t)
            likely += list(spec.rooms) if spec else []
        rest = [a for a in self.areas if a not in explored]

        def prior(area: str) -> int:
            return 0 if any(area == r or area.startswith(r) for r in likely) else 1

        return sorted(rest, key=lambda a: (prior(a), rest.index(a)))

    # -- one skill -----------------------------------------------------------------
    def _execute(self, call: SkillCall, out: TaskOutcome) -> SkillResult:
        result = self.robot.execute(call)
        out.skills.append(SkillLogEntry(call_text(call), result.success, result.reason,
                                        result.duration_s, result.path_length_m))
        out.path_length_m += result.path_length_m
        out.robot_time_s += result.duration_s
        if self.on_skill is not None:
            self.on_skill(call, result)
        return result

    # -- one sub-goal --------------------------------------------------------------
    def _subgoal(self, goal: GoalCondition, out: TaskOutcome) -> bool:
        cfg = self.config
        explored: set[str] = set()
        avoid: set[str] = set()
        replans = 0
        while replans <= cfg.max_replans and len(out.skills) < cfg.max_skills:
            resolver = MemoryResolver(self.memory, self.holding, self.robot.robot_xy(), avoid,
                                      self.robot.now())
            try:
                calls = compile_goal(goal, resolver)
            except GoalCompileError as err:
                if not resolver.missing or len(explored) >= cfg.max_explorations:
                    out.error = f'{goal.to_text()}: {err}'
                    return False
                order = self._explore_order(resolver.missing, explored)
                if not order:
                    out.error = f'{goal.to_text()}: {err} (every room explored)'
                    return False
                area = order[0]
                explored.add(area)
                out.explorations += 1
                self._execute(SkillCall('explore', area=area), out)
                continue
            out.memory_lookups += len(resolver.used)
            failed = None
            for call in calls:
                if len(out.skills) >= cfg.max_skills:
                    out.error = 'skill budget exhausted'
                    return False
                result = self._execute(call, out)
                if not result.success:
                    failed = (call, result)
                    break
            if failed is None:
                return True
            call, result = failed
            replans += 1
            out.replans += 1
            for target in (call.target, call.receptacle):
                hit = resolver.hit_for(target)
                if hit is None:
                    continue
                if result.reason in STALE_REASONS and target is call.target:
                    out.stale_hits += 1
                    self.memory.report_missing(hit, self.robot.now())
                    avoid.add(hit.id)
                if result.reason in AVOID_RECEPTACLE_REASONS and target is call.receptacle:
                    avoid.add(hit.id)
            log.info('re-planning %s after %s failed: %s', goal.to_text(), call_text(call),
                     result.reason)
        out.error = f'{goal.to_text()}: gave up after {replans} re-plans'
        return False

    def run(self, goals: Sequence[GoalCondition]) -> TaskOutcome:
        """Work through `goals` in order; stop at the first sub-goal that cannot be done."""
        t0 = time.perf_counter()
        out = TaskOutcome(believed_done=False)
        for goal in goals:
            if not self._subgoal(strip_instances(goal), out):
                break
            out.subgoals_believed += 1
        out.believed_done = out.subgoals_believed == len(goals)
        out.wall_time_s = time.perf_counter() - t0
        return out
