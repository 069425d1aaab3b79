"""What any simulator backend offers the rest of the stack (PyBullet here, AI2-THOR later).

Everything outside `sim/` that talks to a simulator uses only these types, so a new backend
implements `Simulator` and nothing else changes. Frames follow REP 103/105: `map` is
right-handed, x forward, y left, z up, metres; the camera pose is the optical frame
(z forward, x right, y down) in `map`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Relation = Literal['in', 'on']
ObjectKind = Literal['object', 'furniture']

#: Primitive skills a backend executes. Composites (heat, cool, clean) are planner macros.
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
)


@dataclass
class ObjectTruth:
    """Ground truth of one object or piece of furniture (for scoring, never for planning)."""

    object_id: str
    object_type: str
    kind: ObjectKind
    position: tuple[float, float, float]
    aabb_min: tuple[float, float, float]
    aabb_max: tuple[float, float, float]
    room: str
    states: dict[str, bool] = field(default_factory=dict)
    parent: str | None = None
    relation: Relation | None = None
    pickupable: bool = False
    receptacle: bool = False
    openable: bool = False
    toggleable: bool = False


@dataclass
class CameraFrame:
    """One rendered RGB-D frame with instance segmentation and the camera's geometry.

    `rgb` (H, W, 3) uint8; `depth` (H, W) float32 metres (NaN where nothing was hit);
    `segmentation` (H, W) int32 instance ids, -1 for background; `instance_to_object`
    maps instance id -> object id; `intrinsics` is K (3x3); `camera_to_map` is the 4x4
    pose of the optical frame in `map`; `stamp` is simulated time, seconds.
    """

    rgb: np.ndarray
    depth: np.ndarray
    segmentation: np.ndarray
    instance_to_object: dict[int, str]
    intrinsics: np.ndarray
    camera_to_map: np.ndarray
    stamp: float


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
    """One primitive skill: e.g. put(target=mug, receptacle=sink, relation='in')."""

    name: str
    target: SkillTarget | None = None
    receptacle: SkillTarget | None = None
    relation: Relation | None = None
    area: str | None = None


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


class Simulator(abc.ABC):
    """A household world with a mobile robot and a head RGB-D camera."""

    @abc.abstractmethod
    def reset(self, scene: object, seed: int = 0) -> None:
        """Load `scene` (a home spec or a backend scene name) and place the robot."""

    @abc.abstractmethod
    def step(self, seconds: float) -> None:
        """Advance simulated time (physics settles, timers run)."""

    @property
    @abc.abstractmethod
    def time(self) -> float:
        """Simulated time, seconds since reset."""

    @abc.abstractmethod
    def render(self) -> CameraFrame:
        """Render the head camera at the robot's current pose."""

    @abc.abstractmethod
    def execute(self, call: SkillCall) -> SkillResult:
        """Run one primitive skill to completion (bounded by a step budget)."""

    @abc.abstractmethod
    def ground_truth(self) -> dict[str, ObjectTruth]:
        """Every object and piece of furniture, by object id."""

    @abc.abstractmethod
    def robot_pose(self) -> tuple[float, float, float]:
        """Base pose (x, y, yaw) in `map`: metres, radians."""

    @abc.abstractmethod
    def holding(self) -> str | None:
        """Object id in the robot's hand, if any."""

    @abc.abstractmethod
    def rooms(self) -> dict[str, tuple[float, float, float, float]]:
        """Room name -> axis-aligned footprint (xmin, ymin, xmax, ymax) in `map`."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release backend resources."""
