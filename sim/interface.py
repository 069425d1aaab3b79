"""What any simulator backend offers the rest of the stack (PyBullet here, AI2-THOR later).

Everything outside `sim/` that talks to a simulator uses only these types and the skill
interface of `memory_nodes.domain.skills` (which a real robot shares), so a new backend
implements `Simulator` and nothing else changes. Frames follow REP 103/105: `map` is
right-handed, x forward, y left, z up, metres; the camera pose is the optical frame
(z forward, x right, y down) in `map`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np

from memory_nodes.domain.ontology import ObjectKind
from memory_nodes.domain.skills import Relation, SkillCall, SkillResult


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
