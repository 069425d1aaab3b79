"""One whole request, in process: words in, goals read, a plan tried, skills executed.

`TaskPlanner.run(instruction, goal_conditions)` is what the planner node's ExecuteTask does,
without ROS: it reads the request into ALFRED-L goal conditions (the given conditions,
object words mapped through the ontology, or goals read from the instruction's controlled
grammar), lets a model backend plan first when one is configured and executes its steps,
and has the grounded `TaskRunner` finish whatever the model's plan did not reach (or do it
all when there is no model). Any backend can be run and benchmarked this way, in process;
the node only converts messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from memory_nodes.domain.goals import GoalCondition, GoalParseError, parse_condition
from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.domain.ontology import Ontology
from memory_nodes.domain.skills import SkillCall, SkillResult
from memory_nodes.planner.grounded_backend import execute_plan_steps
from memory_nodes.planner.instruction_grammar import goals_from_instruction
from memory_nodes.planner.language.input_guard import ungrounded_objects
from memory_nodes.planner.plan import MemoryView, PlannerBackend, PlanRequest
from memory_nodes.planner.task_runner import RunnerConfig, SkillExecutor, TaskOutcome, TaskRunner


class GoalReaderLike(Protocol):
    """Reads an instruction into goals (`language.GoalReader`)."""

    def read(self, instruction: str, memory: MemoryView | None = None) -> Any:
        """A reading with `.goals` (a list of GoalCondition, empty when none)."""
        ...


class InvalidRequest(ValueError):
    """The request cannot be read into goals; the message says what was wrong."""


@dataclass
class RequestOutcome:
    """What one request came to: the goals read, the runner's outcome, model tokens."""

    goals: list[GoalCondition]
    outcome: TaskOutcome
    prompt_tokens: int = 0
    note: str = ''


class TaskPlanner:
    """Reads requests into goals and carries them out from memory through a robot.

    `model` is any `PlannerBackend` (None: the grounded planner alone). `goal_reader`
    (a `language.GoalReader`, or anything with its `read(instruction, memory)`) reads an
    instruction given without goal conditions; without one the controlled grammar does.
    With a reader, what happens to an instruction is decided here, never silently:

    * the reader refused it unread (`reading.refusal`: empty, too long, addressed to the
      model, naming nothing known): `InvalidRequest` with that reason;
    * it read goals whose object neither the instruction nor memory names
      (`input_guard.ungrounded_objects`, a guess): `InvalidRequest` naming them;
    * it read goals: those are the request's goals (`last_source` 'language_model'); an
      object memory does not hold is then explored for by the runner;
    * it read nothing (its output held no complete condition): the controlled grammar,
      which reads only whole clauses it knows, gets the instruction (`last_source`
      'grammar'), and if it reads nothing either, `InvalidRequest` names both.

    `areas` are the rooms memory knows, passed on to the runner for exploration.
    """

    def __init__(self, memory: MemoryView, robot: SkillExecutor, *,
                 model: PlannerBackend | None = None, ontology: Ontology = HOUSEHOLD,
                 runner_config: RunnerConfig | None = None,
                 max_instruction_chars: int = 2000,
                 goal_reader: GoalReaderLike | None = None) -> None:
        self.memory = memory
        self.goal_reader = goal_reader
        #: The last reading of an instruction by `goal_reader` (None: none made).
        self.last_reading: Any = None
        #: Who gave the last request's goals: 'goal_conditions', 'language_model' or
        #: 'grammar'.
        self.last_source = ''
        self.robot = robot
        self.model = model
        self.ontology = ontology
        self.runner_config = runner_config or RunnerConfig()
        self.max_instruction_chars = max_instruction_chars

    def goals_for(self, instruction: str, goal_conditions: Sequence[str] = ()
                  ) -> list[GoalCondition]:
        """The request's goals; raises `InvalidRequest` naming what could not be read."""
        instruction = instruction.strip()
        if len(instruction) > self.max_instruction_chars:
            raise InvalidRequest(f'instruction is {len(instruction)} characters; at most '
                                 f'{self.max_instruction_chars}')
        if not instruction and not goal_conditions:
            raise InvalidRequest('empty request: give an instruction or goal conditions')
        goals = [self._condition(text) for text in goal_conditions]
        self.last_reading = None
        self.last_source = 'goal_conditions'
        if goals:
            return goals
        model_said = ''
        if self.goal_reader is not None:
            goals, model_said = self._read_with_model(self.goal_reader, instruction)
            if goals:
                return goals
        self.last_source = 'grammar'
        read = goals_from_instruction(instruction, self.ontology)
        if read.unread and not read.goals:
            raise InvalidRequest(f'{model_said}cannot read the instruction into goals '
                                 f'(clauses not understood: {read.unread}); give '
                                 'goal_conditions')
        return read.goals

    def _read_with_model(self, reader: GoalReaderLike, instruction: str
                         ) -> tuple[list[GoalCondition], str]:
        """The model's goals, or none and what it said; `InvalidRequest` on a refusal."""
        self.last_source = 'language_model'
        self.last_reading = reading = reader.read(instruction, self.memory)
        refusal = getattr(reading, 'refusal', '')
        if refusal:
            raise InvalidRequest(f'instruction refused: {refusal}')
        # A small model may repeat a condition ('STATE(Apple, sliced): 1' twice): once.
        goals = list({g.to_text(): g for g in reading.goals}.values())
        if not goals:
            why = reading.error or 'no complete condition'
            return [], f'the language model read no goals ({why}) and the controlled grammar '
        guessed = ungrounded_objects(goals, instruction, getattr(reading, 'context', ()),
                                     self.ontology)
        if guessed:
            raise InvalidRequest(
                f'instruction refused: the language model read '
                f'{", ".join(g.to_text() for g in goals)}, but neither the instruction nor '
                f'memory names {", ".join(guessed)} (a guess, not a request); name the object')
        return goals, ''

    def _condition(self, text: str) -> GoalCondition:
        try:
            goal = parse_condition(text, require_value=False)
        except GoalParseError as exc:
            raise InvalidRequest(f'goal condition {text!r}: {exc}') from exc
        # Object words go through the ontology; STATE's second word is a state.
        for attr in ('obj',) if goal.kind == 'STATE' else ('obj', 'target'):
            word = getattr(goal, attr)
            if word:
                alias = self.ontology.resolve(word)
                if not alias.ok:
                    raise InvalidRequest(f'goal condition {text!r}: unknown object {word!r}')
                goal = dataclasses.replace(goal, **{attr: alias.object_type})
        return goal

    def runner(self, on_skill: Callable[[SkillCall, SkillResult], None] | None = None
               ) -> TaskRunner:
        """A grounded runner over this planner's memory, robot and ontology."""
        return TaskRunner(self.memory, self.robot, self.memory.rooms(), self.runner_config,
                          on_skill, ontology=self.ontology)

    def run(self, instruction: str, goal_conditions: Sequence[str] = (), *,
            goals: Sequence[GoalCondition] | None = None,
            on_skill: Callable[[SkillCall, SkillResult], None] | None = None
            ) -> RequestOutcome:
        """Carry out one request; `goals` (already read) skips reading the request."""
        runner = self.runner(on_skill)
        if getattr(self.model, 'closed_loop', False):
            # Tool mode: the model asks memory and acts step by step from the words alone.
            words = instruction.strip()
            if not words or len(words) > self.max_instruction_chars:
                raise InvalidRequest(f'tool mode needs an instruction of 1..'
                                     f'{self.max_instruction_chars} characters, got '
                                     f'{len(words)}')
            goals = list(goals) if goals is not None else [
                self._condition(text) for text in goal_conditions]
            out = TaskOutcome(believed_done=False)
            run = self.model.run_tools(instruction, runner, out)  # type: ignore[union-attr]
            return RequestOutcome(goals, out, run.prompt_tokens,
                                  f'tool mode: {len(run.calls)} calls, stopped: {run.stop}')
        goals = list(goals) if goals is not None else self.goals_for(instruction,
                                                                     goal_conditions)
        if self.model is None:
            return RequestOutcome(goals, runner.run(goals, instruction))
        plan = self.model.plan(PlanRequest(instruction, [g.to_text() for g in goals]))
        out = TaskOutcome(believed_done=False)
        runner.room_hint = ''
        failure = execute_plan_steps(plan.steps, runner, out)
        tokens = plan.prompt_tokens
        if failure is None and plan.steps:
            out.believed_done = True
            return RequestOutcome(goals, out, tokens, f'plan by {plan.fallback or plan.backend}')
        # The model's plan did not get there: the grounded planner finishes the task.
        rest = runner.run(goals, instruction)
        rest.skills = out.skills + rest.skills
        rest.explorations += out.explorations
        rest.path_length_m += out.path_length_m
        why = failure.reason if failure else 'empty plan'
        return RequestOutcome(goals, rest, tokens,
                              f'model plan failed ({why}); grounded planner finished')
