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
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from memory_nodes.domain.goal_compiler import GoalCompileError, PlanState, compile_goal
from memory_nodes.domain.goals import GoalCondition
from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.domain.ontology import Ontology
from memory_nodes.domain.references import PlaceHint, place_hints
from memory_nodes.domain.skills import SkillCall, SkillResult, SkillTarget
from memory_nodes.planner.memory_resolver import MemoryResolver
from memory_nodes.planner.plan import MemoryHit, MemoryView

log = logging.getLogger(__name__)

#: Failures of a `put` that mean the object may be too big for the receptacle: a whole
#: loaf fits no plate, a slice of it does ("place the bread slices on a plate").
NO_FIT_REASONS = {'no_space', 'unstable'}
#: Failures that mean "memory was wrong about this object": mark it missing, re-plan.
STALE_REASONS = {'object_not_found', 'not_holding_target'}
#: Failures that mean the wanted state already holds: the step is done.
ALREADY_REASONS = {'already_open', 'already_closed', 'already_on', 'already_off',
                   'already_empty', 'already_sliced'}
#: Failures that mean "this receptacle will not do": try another instance.
AVOID_RECEPTACLE_REASONS = {'no_space', 'unstable', 'invalid_receptacle', 'not_a_receptacle'}
#: Containers believed lower than this (m, their centre) get a look inside once opened.
LOW_CONTAINER_Z = 0.7


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

    def look(self) -> None:
        """Take another camera frame from where the robot stands (to confirm detections)."""
        ...


@dataclass
class RunnerConfig:
    """Bounds of the loop: re-plans per sub-goal and skills per task."""

    max_replans: int = 6
    max_skills: int = 80
    max_explorations: int = 12


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
    #: Why the runner stopped short, for people: `sub-goal 2/3 ON(Apple, Sofa): <cause>`.
    #: Never empty when `believed_done` is False.
    error: str = ''
    subgoals_believed: int = 0
    #: The sub-goal it stopped at (its text) and the cause alone, for a results table.
    failed_subgoal: str = ''
    failure: str = ''


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
    if call.tilt is not None:
        args.append(f'tilt={math.degrees(call.tilt):.0f}deg')
    return f'{call.name}({", ".join(args)})'


def strip_instances(goal: GoalCondition) -> GoalCondition:
    """The goal by type only: memory has no simulator ids to match pinned instances."""
    return replace(goal, obj_id=None, target_id=None,
                   obj=goal.obj or (goal.obj_id or '').rsplit('_', 1)[0],
                   target=goal.target or ((goal.target_id or '').rsplit('_', 1)[0] or None))


def room_named(instruction: str, areas: Sequence[str]) -> str:
    """The one room `instruction` names ('' if none or several)."""
    text = instruction.lower()
    named = [a for a in areas if a.replace('_', ' ').lower() in text]
    return named[0] if len(named) == 1 else ''


def _follow_moves(call: SkillCall, moved: dict[str, tuple[float, float, float]]
                  ) -> SkillCall:
    """Point a call's target at where this plan itself put that object."""
    target = call.target
    if target is None or target.object_type not in moved or target.object_id:
        return call
    return replace(call, target=replace(target, position=moved[target.object_type]))


class TaskRunner:
    """Plans each sub-goal from memory, executes it, explores and re-plans as needed."""

    def __init__(self, memory: MemoryView, robot: SkillExecutor, areas: Sequence[str],
                 config: RunnerConfig | None = None,
                 on_skill: Callable[[SkillCall, SkillResult], None] | None = None,
                 ontology: Ontology = HOUSEHOLD) -> None:
        self.memory = memory
        self.ontology = ontology
        self.robot = robot
        self.areas = list(areas)
        self.config = config or RunnerConfig()
        self.on_skill = on_skill
        self.room_hint = ''
        self.hints: dict[str, PlaceHint] = {}
        self.relaxed: set[str] = set()  # types whose place hint no longer applies
        #: Called with every memory hit a compiled plan used (the evaluation's lookups).
        self.on_lookup: Callable[[MemoryHit], None] | None = None

    @property
    def holding(self) -> SkillTarget | None:
        """What the gripper holds, as a target without a position (it moves with us)."""
        held = self.robot.held_type()
        return None if held is None else SkillTarget(object_type=held)

    # -- exploration ---------------------------------------------------------------
    def _explore_order(self, object_types: Sequence[str], explored: set[str]) -> list[str]:
        likely = []
        for t in object_types:
            spec = self.ontology.get(t)
            likely += list(spec.rooms) if spec else []
        rest = [a for a in self.areas if a not in explored]

        def prior(area: str) -> int:
            return 0 if any(area == r or area.startswith(r) for r in likely) else 1

        return sorted(rest, key=lambda a: (prior(a), rest.index(a)))

    def _search_spots(self, object_types: Sequence[str], searched: set[str],
                      only: Sequence[str] = ()) -> list[MemoryHit]:
        """Remembered receptacles where these types are usually kept, not yet searched.

        With `only`, just receptacles of those types (where the instruction said).
        """
        kinds: list[str] = list(only)
        for t in () if only else object_types:
            spec = self.ontology.get(t)
            kinds += [r for r in (spec.kept_on if spec else ()) if r not in kinds]
        found = [hit for kind in kinds for hit in self.memory.find(label=kind, top_k=10)
                 if hit.id not in searched]
        xy = self.robot.robot_xy()
        return sorted(found, key=lambda h: math.dist(h.position[:2], xy))

    def search(self, missing: Sequence[str], explored: set[str], searched: set[str],
               out: TaskOutcome) -> bool:
        """One search step for unknown objects; False when nowhere is left to look.

        Likely rooms first (common knowledge of where a type lives), then a close look at
        the remembered receptacles that usually hold it (opening closed ones), then every
        other room.
        """
        hinted = {t: self.hints[t] for t in missing
                  if t in self.hints and t not in self.relaxed}
        if len(explored) + len(searched) >= self.config.max_explorations:
            self.relaxed.update(hinted)
            return bool(hinted)
        rooms = [h.room for h in hinted.values() if h.room and h.room not in explored]
        if rooms:
            return self._explore(rooms[0], explored, out)
        kinds = [h.support for h in hinted.values() if h.support]
        if kinds and self._look_at(self._search_spots(missing, searched, kinds), searched, out):
            return True
        if hinted:
            # Rooms where the object or the named receptacle usually is, then give up the
            # hint: not where the instruction said (or not seen there), any will do.
            wanted = list(missing) + kinds
            likely = [a for a in self._explore_order(wanted, explored)
                      if self._likely(wanted, a)]
            if likely:
                return self._explore(likely[0], explored, out)
            self.relaxed.update(hinted)
            return True
        order = self._explore_order(missing, explored)
        likely = [a for a in order if self._likely(missing, a)]
        if likely:
            return self._explore(likely[0], explored, out)
        if self._look_at(self._search_spots(missing, searched), searched, out):
            return True
        if order:
            return self._explore(order[0], explored, out)
        return False

    def _look_at(self, spots: Sequence[MemoryHit], searched: set[str], out: TaskOutcome
                 ) -> bool:
        """Go to the first spot, open it if it is closed, take a second look."""
        if not spots:
            return False
        spot = spots[0]
        searched.add(spot.id)
        object_type = self.ontology.canonical_type(spot.label) or spot.label
        target = SkillTarget(object_type=object_type, position=tuple(spot.position))
        out.explorations += 1
        nav = self.execute(SkillCall('navigate_to', target=target), out)
        spec = self.ontology.get(object_type)
        if nav.success and spec is not None and spec.openable \
                and not spot.states.get('open', False):
            self.execute(SkillCall('open', target=target), out)
        if not nav.success or not self.look_into(target, out):
            self.robot.look()
        return True

    def look_into(self, target: SkillTarget, out: TaskOutcome) -> bool:
        """Point the head into `target` so memory sees what is in it; False if it could not."""
        return self.execute(SkillCall('look_at', target=target), out).success

    def _verify(self, goal: GoalCondition, resolver: MemoryResolver, out: TaskOutcome
                ) -> bool:
        """Look at the goal's object where memory says it is; False if there is nothing to see."""
        if goal.kind == 'HOLDING' or self.robot.held_type() == goal.obj:
            return False
        for hit in resolver.used.values():
            if self.ontology.canonical_type(hit.label) == goal.obj:
                target = SkillTarget(object_type=goal.obj, position=tuple(hit.position))
                if self.execute(SkillCall('navigate_to', target=target), out).success:
                    self.robot.look()
                return True
        return False

    def _low(self, target: SkillTarget) -> bool:
        """A container memory believes is low (a drawer, a low cabinet): look in once open."""
        spec = self.ontology.get(target.object_type or '')
        return spec is not None and spec.receptacle == 'in' and target.position is not None \
            and target.position[2] < LOW_CONTAINER_Z

    def _likely(self, missing: Sequence[str], area: str) -> bool:
        rooms = [r for t in missing
                 for r in (self.ontology[t].rooms if t in self.ontology else ())]
        return any(area == r or area.startswith(r) for r in rooms)

    def _explore(self, area: str, explored: set[str], out: TaskOutcome) -> bool:
        explored.add(area)
        out.explorations += 1
        self.execute(SkillCall('explore', area=area), out)
        return True

    # -- one skill -----------------------------------------------------------------
    def execute(self, call: SkillCall, out: TaskOutcome) -> SkillResult:
        """Run one skill on the robot and log it in `out` (and to `on_skill`)."""
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
        """Reach one sub-goal; on False, `out.failure` says why."""
        cfg = self.config
        last = ''  # the last failed skill and its reason, for the failure text
        looking = ''  # what memory did not know at the last try, for the failure text
        explored: set[str] = set()
        searched: set[str] = set()
        avoid: set[str] = set()
        replans = 0
        verified = False
        slice_first: GoalCondition | None = None  # STATE(X, sliced), reached before `goal`
        slice_tried = False  # slicing first is tried once per goal
        while replans <= cfg.max_replans and len(out.skills) < cfg.max_skills:
            resolver = MemoryResolver(self.memory, self.holding, self.robot.robot_xy(), avoid,
                                      self.robot.now(), self.room_hint, self.hints,
                                      self.relaxed, self.ontology)
            try:
                plan = PlanState()
                calls = compile_goal(slice_first, resolver, plan) if slice_first else []
                calls += compile_goal(goal, resolver, plan)
            except GoalCompileError as err:
                why = (f'{goal.obj} fits no {goal.target} whole and it cannot be sliced: '
                       if slice_first else '')
                if not resolver.missing:
                    out.failure = f'{why}no plan from memory: {err}'
                    return False
                looking = ', '.join(resolver.missing)
                if not self.search(resolver.missing, explored, searched, out):
                    out.failure = (f'{why}{", ".join(resolver.missing)} not found after '
                                   f'searching everywhere ({len(explored)} room(s), '
                                   f'{len(searched)} receptacle(s) looked at): {err}')
                    return False
                continue
            looking = ''
            if not calls and not verified:
                # Memory says it already holds; memory may be stale (a person switched the
                # TV on): go and look once before believing it.
                verified = True
                if self._verify(goal, resolver, out):
                    continue
            out.memory_lookups += len(resolver.used)
            if self.on_lookup is not None:
                for hit in resolver.used.values():
                    self.on_lookup(hit)
            failed = None
            cut = False
            moved: dict[str, tuple[float, float, float]] = {}
            for call in calls:
                if len(out.skills) >= cfg.max_skills:
                    cut = True
                    break
                call = _follow_moves(call, moved)
                result = self.execute(call, out)
                if result.success and call.name == 'open' and call.target is not None \
                        and self._low(call.target):
                    self.look_into(call.target, out)  # what else is in there, for memory
                if result.success and call.name == 'pick_up' and call.target is not None:
                    # Once moved, the instruction's "on the shelf" no longer says where it is.
                    self.relaxed.add(call.target.object_type or '')
                if result.success and call.name == 'put' and call.receptacle is not None \
                        and call.receptacle.position is not None and call.target is not None:
                    # Where we just put it is where it is now, whatever the plan believed.
                    moved[call.target.object_type or ''] = call.receptacle.position
                if result.success and slice_first is not None and call.name == 'slice' \
                        and call.target is not None and call.target.object_type == goal.obj:
                    slice_first = None  # cut: a re-plan only puts the slice
                if not result.success and result.reason not in ALREADY_REASONS:
                    failed = (call, result)
                    break
            if cut:
                break  # the skill budget ran out mid-plan: said below
            if failed is None:
                return True
            call, result = failed
            last = f'{call_text(call)} failed: {result.reason or "no reason given"}'
            replans += 1
            out.replans += 1
            cut_first = not slice_tried and self._slice_would_fit(goal, call, result, resolver)
            if cut_first:
                # Too big whole (a loaf on a plate): slice it, then put the slice there.
                slice_tried = True
                slice_first = GoalCondition('STATE', goal.obj, 'sliced')
            for target in (call.target, call.receptacle):
                hit = resolver.hit_for(target)
                if hit is None:
                    continue
                if result.reason in STALE_REASONS and target is call.target:
                    out.stale_hits += 1
                    self.memory.report_missing(hit, self.robot.now())
                    avoid.add(hit.id)
                if result.reason in AVOID_RECEPTACLE_REASONS and target is call.receptacle \
                        and not cut_first:
                    avoid.add(hit.id)
            log.info('re-planning %s after %s failed: %s', goal.to_text(), call_text(call),
                     result.reason)
        if len(out.skills) >= cfg.max_skills:
            out.failure = f'skill budget exhausted ({cfg.max_skills} skills)' + (
                f' while still looking for {looking}' if looking else '')
        else:
            out.failure = f're-plan budget exhausted ({cfg.max_replans} re-plans)'
        out.failure += f'; last: {last}' if last else ''
        return False

    def _slice_would_fit(self, goal: GoalCondition, call: SkillCall, result: SkillResult,
                         resolver: MemoryResolver) -> bool:
        """Whether a failed `put` of the goal's object calls for slicing it first.

        The put found no room for the object (`NO_FIT_REASONS`), the object is a sliceable
        type and memory does not know it (or, held, every one it knows) as sliced already: a
        slice may fit where the whole did not. The planner knows no sizes, so this is a
        guess, tried once per goal.
        """
        if goal.kind not in ('ON', 'INSIDE') or goal.negated or call.name != 'put' \
                or result.reason not in NO_FIT_REASONS or call.target is None \
                or call.target.object_type != goal.obj:
            return False
        spec = self.ontology.get(goal.obj)
        if spec is None or not spec.sliceable:
            return False
        hit = resolver.hit_for(call.target)
        known = [hit] if hit is not None else self.memory.find(label=goal.obj, top_k=10)
        return not (known and all(h.states.get('sliced') for h in known))

    def run(self, goals: Sequence[GoalCondition], instruction: str = '') -> TaskOutcome:
        """Work through `goals` in order; stop at the first sub-goal that cannot be done.

        Place phrases in `instruction` ("the lamp in the living room", "the cloth on the
        toilet") pick the instance of a goal's object: only one there will do, searched for
        there first; if none is found there, any instance. A single room named anywhere in
        `instruction` still breaks ties among several remembered instances.
        """
        t0 = time.perf_counter()
        self.room_hint = room_named(instruction, self.areas)
        self.hints = place_hints(instruction, [strip_instances(g) for g in goals], self.areas,
                                 self.ontology)
        self.relaxed = set()
        out = TaskOutcome(believed_done=False)
        for index, goal in enumerate(goals, 1):
            typed = strip_instances(goal)
            if not self._subgoal(typed, out):
                out.failed_subgoal = typed.to_text()
                out.failure = out.failure or 'stopped without a reason (a runner bug)'
                out.error = f'sub-goal {index}/{len(goals)} {out.failed_subgoal}: {out.failure}'
                break
            out.subgoals_believed += 1
        out.believed_done = out.subgoals_believed == len(goals)
        out.wall_time_s = time.perf_counter() - t0
        return out
