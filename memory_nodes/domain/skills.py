"""The skill interface between a planner and whatever acts: a simulator or a robot's skill server.

A planner emits `SkillCall`s naming targets the way memory knows them (a type and where it
is believed to be); the executor answers with a `SkillResult`, a named failure reason when
it failed, and the `ObjectEvent`s its action caused (what the robot itself changed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: How an object rests on a receptacle: inside it or on top of it.
Relation = Literal['in', 'on']

#: Primitive skills an executor runs. Composites (heat, cool, clean) are planner macros.
PRIMITIVE_SKILLS = (
    'navigate_to',
    'explore',
    'pick_up',
    'put',
    'open',
    'close',
    'toggle_on',
    'toggle_off',
    'slice',
    'look_at',
    'pour_out',
)


@dataclass
class SkillTarget:
    """What a skill acts on, as memory describes it: a type and where it is believed to be.

    Backends resolve it to the nearest object of that type within `tolerance` metres of
    `position` (memory has no simulator ids). `object_id` may be given instead by callers
    that do have ground truth (oracle plans, tests).
    """

    object_type: str | None = None
    position: tuple[float, float, float] | None = None
    object_id: str | None = None
    tolerance: float = 0.6


@dataclass
class SkillCall:
    """One primitive skill: e.g. put(target=mug, receptacle=sink, relation='in').

    `tilt` is the head camera's pitch below horizontal (radians, REP 103; negative looks
    up) for `navigate_to` (held on arrival), `explore` (every view) and `look_at`; None
    keeps the robot's own choice (its default tilt, plus lower views of low furniture
    while exploring, and the pitch that centres the target for `look_at`).
    """

    name: str
    target: SkillTarget | None = None
    receptacle: SkillTarget | None = None
    relation: Relation | None = None
    area: str | None = None
    tilt: float | None = None


@dataclass
class ObjectEvent:
    """A change the robot's own action caused (published as an object-state event)."""

    object_id: str
    object_type: str
    stamp: float
    position: tuple[float, float, float]
    states: dict[str, bool]
    changed: list[str]
    parent: str | None = None
    relation: Relation | None = None
    held: bool = False  # True while the object is in the robot's hand


@dataclass
class SkillResult:
    """Outcome of a skill: success, or a named failure reason (e.g. 'receptacle_closed')."""

    success: bool
    skill: str
    reason: str | None = None
    message: str = ''
    duration_s: float = 0.0
    path_length_m: float = 0.0
    events: list[ObjectEvent] = field(default_factory=list)
    resolved_object_id: str | None = None
