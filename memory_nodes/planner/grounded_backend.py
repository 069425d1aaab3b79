"""The grounded planner as a `PlannerBackend`, and execution of any backend's plan steps.

`GroundedBackend` compiles the request's goal conditions against memory into plan steps
(the fallback of every model backend). `execute_plan_steps` grounds a model's named steps
through memory (composites heat / cool / clean / fill expand through the goal compiler),
runs them with the `TaskRunner`'s executor, and explores for names memory does not know.
"""

from __future__ import annotations

from dataclasses import dataclass

from memory_nodes.domain.goal_compiler import GoalCompileError, compile_goal
from memory_nodes.domain.goals import GoalParseError, parse_condition
from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.domain.ontology import Ontology
from memory_nodes.domain.skills import SkillCall
from memory_nodes.planner.memory_resolver import MemoryResolver
from memory_nodes.planner.plan import MemoryView, PlanRequest, PlanResult, PlanStep
from memory_nodes.planner.task_runner import TaskOutcome, TaskRunner, call_text

COMPOSITE_STATES = {'heat': 'hot', 'cool': 'cold', 'clean': 'clean', 'fill': 'filled'}


def call_to_step(call: SkillCall) -> PlanStep:
    """A grounded skill call back to a named plan step."""
    return PlanStep(skill=call.name,
                    object=(call.target.object_type or '') if call.target else '',
                    receptacle=(call.receptacle.object_type or '') if call.receptacle else '',
                    relation=call.relation or '', area=call.area or '')


class GroundedBackend:
    """Goal conditions -> plan steps through the goal compiler and memory (no model)."""

    name = 'grounded'

    def __init__(self, memory: MemoryView, ontology: Ontology = HOUSEHOLD) -> None:
        self.memory = memory
        self.ontology = ontology

    def plan(self, request: PlanRequest) -> PlanResult:
        """Compile every goal condition in order; errors are named in the result."""
        steps: list[PlanStep] = []
        errors: list[str] = []
        for text in request.goal_conditions:
            try:
                goal = parse_condition(text, require_value=False)
                calls = compile_goal(goal, MemoryResolver(self.memory, ontology=self.ontology))
                steps += [call_to_step(c) for c in calls]
            except (GoalParseError, GoalCompileError) as exc:
                errors.append(f'{text}: {exc}')
        return PlanResult(steps, self.name, errors=errors)


@dataclass
class StepFailure:
    """Why executing a model's plan stopped."""

    step: PlanStep
    reason: str


def execute_plan_steps(steps: list[PlanStep], runner: TaskRunner,
                       out: TaskOutcome) -> StepFailure | None:
    """Ground and run `steps` in order; None when every step succeeded."""
    for step in steps:
        resolver = MemoryResolver(runner.memory, runner.holding, runner.robot.robot_xy(),
                                  stamp=runner.robot.now(), room_hint=runner.room_hint,
                                  ontology=runner.ontology)
        try:
            calls = _ground(step, resolver, runner.ontology)
        except GoalCompileError as exc:
            if resolver.missing and runner.search(resolver.missing, set(), set(), out):
                return StepFailure(step, f'unknown_object: {exc} (explored for it)')
            return StepFailure(step, f'unknown_object: {exc}')
        for call in calls:
            result = runner.execute(call, out)
            if not result.success:
                return StepFailure(step, f'{call_text(call)} failed: {result.reason}')
    return None


def _ground(step: PlanStep, resolver: MemoryResolver, ontology: Ontology) -> list[SkillCall]:
    if step.skill in COMPOSITE_STATES:
        object_type = ontology.canonical_type(step.object) or step.object
        goal = parse_condition(f'STATE({object_type}, {COMPOSITE_STATES[step.skill]}): 1')
        return compile_goal(goal, resolver)
    if step.skill == 'explore':
        return [SkillCall('explore', area=step.area or None)]
    target = receptacle = None
    if step.object:
        object_type = ontology.canonical_type(step.object) or step.object
        target = resolver.find(object_type)
        if target is None:
            raise GoalCompileError(f'no object {step.object} is known')
    if step.receptacle:
        object_type = ontology.canonical_type(step.receptacle) or step.receptacle
        receptacle = resolver.find(object_type)
        if receptacle is None:
            raise GoalCompileError(f'no receptacle {step.receptacle} is known')
    relation = step.relation or (resolver.relation_for(receptacle) if receptacle else None)
    return [SkillCall(step.skill, target=target, receptacle=receptacle,
                      relation=relation or None, area=step.area or None)]
