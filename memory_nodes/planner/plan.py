"""The planner's shared vocabulary: plan steps, requests, results, and what memory offers.

Every backend (the grounded planner, a local transformers model, an OpenAI-compatible
server) turns a `PlanRequest` into a `PlanResult` of `PlanStep`s that name things as
people do ('apple', 'fridge'); grounding then resolves each name through a `MemoryView`
into a `sim.interface.SkillCall` with a believed position. `MemoryView` is implemented
in-process over `RobotMemory` and over ROS 2 by the planner node's service clients, so
the planner core never knows which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class PlanStep:
    """One skill call as a model or the grounded planner writes it (names, not ids)."""

    skill: str
    object: str = ''
    receptacle: str = ''
    relation: str = ''
    area: str = ''

    def text(self) -> str:
        """Readable form, e.g. put(apple, fridge, in)."""
        args = [a for a in (self.object, self.receptacle, self.relation, self.area) if a]
        return f'{self.skill}({", ".join(args)})'


@dataclass
class MemoryHit:
    """An object or piece of furniture as memory knows it."""

    id: str
    label: str
    position: tuple[float, float, float]
    room: str = ''
    states: dict[str, bool] = field(default_factory=dict)
    support: str = ''  # id of what it is on/in
    relation: str = ''  # 'on' | 'in' | ''
    score: float = 0.0
    last_seen: float = 0.0
    source: str = 'ltm'  # 'ltm' (scene graph) or 'stm' (recent state)


class MemoryView(Protocol):
    """What a planner may ask memory (never the simulator's ground truth)."""

    def find(self, label: str = '', text: str = '', room: str = '',
             near: tuple[float, float, float] | None = None, top_k: int = 5
             ) -> list[MemoryHit]:
        """Objects/furniture by label and/or free text, optionally in a room / near a point."""
        ...

    def get(self, node_id: str) -> MemoryHit | None:
        """One remembered object or piece of furniture by id."""
        ...

    def recall(self, instruction: str, top_k: int = 5) -> list[MemoryHit]:
        """Recent short-term entries most relevant to `instruction`."""
        ...

    def collapsed_graph(self, token_budget: int, focus: list[str]) -> str:
        """The scene graph collapsed to `token_budget` tokens, expanded around `focus`."""
        ...

    def rooms(self) -> list[str]:
        """Names of the rooms memory knows."""
        ...

    def report_missing(self, hit: MemoryHit, stamp: float) -> None:
        """The robot looked where memory said `hit` was and did not find it."""
        ...


@dataclass
class MemoryContext:
    """What a prompt may include from memory (already retrieved and cut to budget)."""

    short_term: list[str] = field(default_factory=list)
    graph_text: str = ''
    previous_tasks: list[str] = field(default_factory=list)


@dataclass
class PlanRequest:
    """One planning call: the task, what memory says, and why the last plan failed."""

    instruction: str
    goal_conditions: list[str] = field(default_factory=list)
    memory: MemoryContext = field(default_factory=MemoryContext)
    image: np.ndarray | None = None
    feedback: str = ''


@dataclass
class PlanResult:
    """A plan and what it cost. `fallback` names the backend that produced it if not ours."""

    steps: list[PlanStep]
    backend: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 1
    fallback: str = ''
    errors: list[str] = field(default_factory=list)


class PlannerBackend(Protocol):
    """Anything that turns a request into a plan."""

    name: str

    def plan(self, request: PlanRequest) -> PlanResult:
        """Plan for `request` (may raise nothing: failures are reported in the result)."""
        ...
