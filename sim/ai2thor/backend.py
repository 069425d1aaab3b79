"""`AI2ThorSimulator`: the `Simulator` interface over a live `ai2thor.controller.Controller`.

Runs only where AI2-THOR runs: the `ai2thor` package, an X display (or Vulkan for
CloudRendering) and the Unity build it downloads on first start. `ai2thor` is imported
lazily in `reset`; when it is missing or the controller cannot start,
`AI2ThorUnavailable` says what is missing. All conversion is `sim.ai2thor.thor_mapping`
(the scene importer's code), tested without AI2-THOR.

Navigation teleports to the reachable grid position (AI2-THOR's `GetReachablePositions`)
nearest the target and faces it; `explore` visits a spread of reachable positions and
looks around; interaction skills are single AI2-THOR actions on resolved objectIds; the
scripted person's API uses `PlaceObjectAtPoint` and forced state actions.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from memory_nodes.domain.skills import SkillCall, SkillResult, SkillTarget
from sim.ai2thor.frames import rep103_to_unity, unity_to_rep103
from sim.ai2thor.thor_mapping import (
    SKILL_ACTIONS,
    STATE_ACTIONS,
    AI2ThorUnavailable,
    agent_pose,
    failure_reason,
    frame_from_event,
    import_controller,
    scene_name,
    skill_action,
    teleport_action,
    truth_from_metadata,
)
from sim.interface import CameraFrame, ObjectTruth, Simulator

log = logging.getLogger(__name__)

STEP_S = 1.0  # simulated seconds charged per AI2-THOR action
SPEED = 0.6  # m/s, to charge navigation time like the PyBullet robot
EXPLORE_POSITIONS = 12


class AI2ThorSimulator(Simulator):
    """A household world in AI2-THOR (iTHOR scenes), through the `Simulator` interface."""

    def __init__(self, width: int = 320, height: int = 240, vfov_deg: float = 90.0,
                 grid_size: float = 0.25, controller: Any = None,
                 **controller_kwargs: Any) -> None:
        self.width, self.height, self.vfov_deg = width, height, vfov_deg
        self.grid_size = grid_size
        self.controller = controller
        self.controller_kwargs = controller_kwargs
        self.event: Any = None
        self._time = 0.0
        self._reachable: list[tuple[float, float]] = []
        self._floor_y = 0.9

    # ---------------------------------------------------------------- lifecycle
    def reset(self, scene: object, seed: int = 0) -> None:
        """Load an AI2-THOR scene ('FloorPlan1', 'ai2thor:FloorPlan1' or 1)."""
        name = scene_name(scene)
        if self.controller is None:
            controller_cls = import_controller()
            try:
                self.controller = controller_cls(
                    scene=name, width=self.width, height=self.height,
                    fieldOfView=self.vfov_deg, gridSize=self.grid_size,
                    renderDepthImage=True, renderInstanceSegmentation=True,
                    **self.controller_kwargs)
            except Exception as err:  # Unity failed: no display, no Vulkan, no download
                raise AI2ThorUnavailable(
                    f'AI2-THOR could not start scene {name}: {err} (it needs an X display or '
                    'CloudRendering with Vulkan, and the Unity build download)') from err
            self.event = self.controller.last_event
        else:
            self.event = self.controller.reset(scene=name)
        self.event = self.controller.step(action='GetReachablePositions')
        points = self.event.metadata.get('actionReturn') or []
        self._reachable = [unity_to_rep103(p)[:2] for p in points]
        self._floor_y = float(self.event.metadata['agent']['position']['y'])
        if seed:
            self.event = self.controller.step(action='InitialRandomSpawn', randomSeed=seed)
        self._time = 0.0

    def close(self) -> None:
        """Stop the Unity process."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    # ---------------------------------------------------------------- Simulator API
    def step(self, seconds: float) -> None:
        """AI2-THOR is discrete: advance the clock (state changes happen per action)."""
        self._time += max(0.0, seconds)

    @property
    def time(self) -> float:
        """Simulated seconds since reset."""
        return self._time

    def render(self) -> CameraFrame:
        """The last event's RGB-D + instance segmentation frame."""
        return frame_from_event(self.event, self.vfov_deg, self._time)

    def ground_truth(self) -> dict[str, ObjectTruth]:
        """Every object from the event metadata, converted by the importer's code."""
        return truth_from_metadata(self.event.metadata['objects'], self.holding())

    def robot_pose(self) -> tuple[float, float, float]:
        """Agent base pose in `map`."""
        return agent_pose(self.event.metadata)

    def holding(self) -> str | None:
        """The objectId in the agent's hand, if any."""
        held = self.event.metadata.get('inventoryObjects') or []
        return held[0]['objectId'] if held else None

    def rooms(self) -> dict[str, tuple[float, float, float, float]]:
        """The scene's bounds as one room."""
        corners = self.event.metadata['sceneBounds']['cornerPoints']
        pts = [unity_to_rep103(c) for c in corners]
        return {'scene': (min(p[0] for p in pts), min(p[1] for p in pts),
                          max(p[0] for p in pts), max(p[1] for p in pts))}

    def execute(self, call: SkillCall) -> SkillResult:
        """Run one primitive skill as AI2-THOR actions."""
        start = self._time
        try:
            if call.name == 'navigate_to':
                oid = self._resolve(call.target)
                length = self._go_near(oid)
                return self._result(call, True, start, path=length, oid=oid)
            if call.name == 'explore':
                return self._result(call, True, start, path=self._explore())
            if call.name not in SKILL_ACTIONS:
                return self._result(call, False, start, 'unknown_skill')
            oid = None if call.name == 'put' else self._resolve(call.target)
            rid = self._resolve(call.receptacle) if call.name == 'put' else None
        except LookupError as err:
            return self._result(call, False, start, 'object_not_found', str(err))
        self.event = self.controller.step(**skill_action(call, oid, rid))
        self._time += STEP_S
        meta = self.event.metadata
        if not meta['lastActionSuccess']:
            return self._result(call, False, start, failure_reason(meta['errorMessage']),
                                meta['errorMessage'], oid=oid)
        return self._result(call, True, start, oid=oid or rid)

    # ---------------------------------------------------------------- scripted person
    def move_object(self, object_id: str, receptacle_id: str,
                    relation: str | None = None) -> None:
        """A person puts `object_id` on/in `receptacle_id` (at its box's top centre)."""
        truth = self.ground_truth()
        if object_id not in truth or receptacle_id not in truth:
            raise ValueError(f'move_object: unknown {object_id!r} or {receptacle_id!r}')
        r = truth[receptacle_id]
        point = ((r.aabb_min[0] + r.aabb_max[0]) / 2, (r.aabb_min[1] + r.aabb_max[1]) / 2,
                 r.aabb_max[2] + 0.05 if relation != 'in'
                 else (r.aabb_min[2] + r.aabb_max[2]) / 2)
        self.event = self.controller.step(action='PlaceObjectAtPoint', objectId=object_id,
                                          position=rep103_to_unity(point))
        if not self.event.metadata['lastActionSuccess']:
            raise ValueError(f'move_object: {self.event.metadata["errorMessage"]}')

    def set_state(self, object_id: str, key: str, value: bool) -> None:
        """A person changes a state with a forced AI2-THOR action."""
        on, off = STATE_ACTIONS.get(key, (None, None))
        action = on if value else off
        if action is None:
            raise ValueError(f'set_state: AI2-THOR cannot set {key}={value}')
        self.event = self.controller.step(action=action, objectId=object_id, forceAction=True)
        if not self.event.metadata['lastActionSuccess']:
            raise ValueError(f'set_state: {self.event.metadata["errorMessage"]}')

    # ---------------------------------------------------------------- helpers
    def _resolve(self, target: SkillTarget | None) -> str:
        if target is None:
            raise LookupError('no target given')
        truth = self.ground_truth()
        if target.object_id is not None:
            if target.object_id not in truth:
                raise LookupError(f'no object {target.object_id!r}')
            return target.object_id
        cands = [t for t in truth.values() if t.object_type == target.object_type]
        if target.position is not None:
            cands = [t for t in cands if math.dist(t.position, target.position)
                     <= target.tolerance + max(t.aabb_max[k] - t.aabb_min[k] for k in range(3))]
        if not cands:
            raise LookupError(f'no {target.object_type} there')
        x, y, _ = self.robot_pose()
        return min(cands, key=lambda t: math.dist((x, y), t.position[:2])).object_id

    def _go_near(self, object_id: str) -> float:
        box = self.ground_truth()[object_id]
        cx, cy = box.position[0], box.position[1]
        x0, y0, _ = self.robot_pose()
        for px, py in sorted(self._reachable, key=lambda p: math.dist(p, (cx, cy)))[:8]:
            yaw = math.atan2(cy - py, cx - px)
            self.event = self.controller.step(**teleport_action(px, py, yaw, self._floor_y))
            if self.event.metadata['lastActionSuccess']:
                length = math.dist((x0, y0), (px, py))
                self._time += length / SPEED + STEP_S
                return length
        raise LookupError(f'no reachable position near {object_id}')

    def _explore(self) -> float:
        if not self._reachable:
            return 0.0
        stride = max(1, len(self._reachable) // EXPLORE_POSITIONS)
        length, (x, y, _) = 0.0, self.robot_pose()
        for px, py in self._reachable[::stride]:
            for k in range(4):
                self.event = self.controller.step(**teleport_action(px, py, k * math.pi / 2,
                                                                    self._floor_y))
                self._time += STEP_S
            length += math.dist((x, y), (px, py))
            x, y = px, py
        return length

    def _result(self, call: SkillCall, ok: bool, start: float, reason: str | None = None,
                message: str = '', path: float = 0.0, oid: str | None = None) -> SkillResult:
        return SkillResult(ok, call.name, reason, message, self._time - start, path,
                           resolved_object_id=oid)
