"""The simulator as the robot: skills, a camera, and memory fed from both.

`SimRobot` is the in-process `SkillExecutor`: it runs a skill in the simulator, perceives
what the camera saw (every frame of an explore, one frame after every other skill),
writes the robot's own state changes into memory, and measures whether each memory
lookup was right. The planner never sees the simulator, only memory and skill results.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from memory_nodes.domain.skills import SkillCall, SkillResult, SkillTarget
from memory_nodes.evaluation.sim_frames import SimFramePerception
from memory_nodes.memory.robot_memory import RobotMemory
from memory_nodes.memory.state_change import StateChange
from memory_nodes.planner.memory_views import HistoryView, LogEntry
from sim.camera import visible_instances
from sim.interface import CameraFrame, Simulator


@dataclass
class RobotCounters:
    """What the robot did and how memory served it."""

    skills: int = 0
    frames: int = 0
    observations: int = 0
    lookups: int = 0
    lookups_correct: int = 0
    fusion_ms: list[float] = field(default_factory=list)
    perception_ms: list[float] = field(default_factory=list)


class SimRobot:
    """SkillExecutor over a `Simulator`, perceiving into `RobotMemory` and/or a history log."""

    def __init__(self, sim: Simulator, memory: RobotMemory | None,
                 history: HistoryView | None = None,
                 perception: SimFramePerception | None = None) -> None:
        self.sim = sim
        self.memory = memory
        self.history = history
        self.perception = perception or SimFramePerception()
        self.counters = RobotCounters()
        self.held_node: str | None = None  # memory id of what the gripper holds
        if hasattr(sim, 'observer'):
            sim.observer = self.perceive_frame  # frames rendered during explore

    # -- SkillExecutor ---------------------------------------------------------------
    def robot_xy(self) -> tuple[float, float]:
        """Base position in `map`."""
        x, y, _ = self.sim.robot_pose()
        return (x, y)

    def now(self) -> float:
        """Simulated time, seconds."""
        return self.sim.time

    def held_type(self) -> str | None:
        """Type of the object in the gripper."""
        held = self.sim.holding()
        if held is None:
            return None
        truth = self.sim.ground_truth().get(held)
        return truth.object_type if truth else None

    def look(self) -> None:
        """Half a second later, another frame from the same pose."""
        self.sim.step(0.5)
        self.perceive_frame(self.sim.render())

    def execute(self, call: SkillCall) -> SkillResult:
        """Run the skill, check the memory lookups it used, perceive, record own changes."""
        self._check_lookup(call)
        acted = self._memory_id(call.target)
        result = self.sim.execute(call)
        self.counters.skills += 1
        if call.name != 'explore':
            self.perceive_frame(self.sim.render())
        self._record_events(result, call, acted)
        if result.success and call.name == 'pick_up':
            self.held_node = acted
        elif self.sim.holding() is None:
            self.held_node = None
        return result

    def _memory_id(self, target: SkillTarget | None) -> str | None:
        """The memory node the planner meant by `target` (the robot knows what it acts on).

        A target with a believed position is the remembered node of its type nearest that
        position; a target without one is what the gripper holds. Own-action changes then
        update that node instead of guessing by label and position.
        """
        if self.memory is None or target is None or target.object_type is None:
            return None
        if target.object_type == self.held_type() and self.held_node is not None:
            return self.held_node
        if target.position is None:
            return None
        best, best_d = None, target.tolerance
        for node in self.memory.ltm.by_label(target.object_type):
            d = math.dist(tuple(node.position), target.position)
            if d <= best_d:
                best, best_d = node.id, d
        return best

    # -- memory accuracy -------------------------------------------------------------
    def _check_lookup(self, call: SkillCall) -> None:
        """Count a memory lookup (a target with a believed position) and if it was right."""
        if call.name not in ('navigate_to', 'pick_up') or call.target is None:
            return
        target = call.target
        if target.position is None or target.object_type is None:
            return
        self.counters.lookups += 1
        for truth in self.sim.ground_truth().values():
            if truth.object_type != target.object_type:
                continue
            if math.dist(truth.position, target.position) <= target.tolerance:
                self.counters.lookups_correct += 1
                return

    # -- perception ------------------------------------------------------------------
    def perceive_frame(self, frame: CameraFrame) -> None:
        """Perceive one frame into memory (and the history log)."""
        truth = self.sim.ground_truth()
        observations, view = self.perception.perceive(
            frame, visible_instances(frame, truth, self.sim.holding()))
        self.counters.frames += 1
        self.counters.observations += len(observations)
        self.counters.perception_ms.append(self.perception.ms[-1])
        if self.memory is not None:
            t0 = time.perf_counter()
            self.memory.observe(observations, view)
            self.counters.fusion_ms.append((time.perf_counter() - t0) * 1000.0)
        if self.history is not None:
            for obs in observations:
                c = obs.centroid
                self.history.append(LogEntry(obs.stamp, obs.label,
                                             (float(c[0]), float(c[1]), float(c[2])),
                                             dict(obs.states)))

    def _record_events(self, result: SkillResult, call: SkillCall | None = None,
                       acted: str | None = None) -> None:
        """The robot's own changes, as its skill server reports them."""
        truth = None
        want = call.target.object_type if call is not None and call.target else None
        held = (self.held_type(), self.held_node) if self.held_node else (None, None)
        for ev in result.events:
            object_id = None
            if acted is not None and ev.object_type == want:
                object_id, acted = acted, None  # the acted-on object's first event only
            elif held[1] is not None and ev.object_type == held[0]:
                object_id = held[1]  # what the gripper carries moves with the robot
            parent_label = None
            if ev.parent:
                truth = truth or self.sim.ground_truth()
                parent = truth.get(ev.parent)
                parent_label = parent.object_type if parent else None
            change = StateChange(label=ev.object_type, stamp=ev.stamp, object_id=object_id,
                                 position=tuple(ev.position), states=dict(ev.states),
                                 changed=list(ev.changed), source='own_action',
                                 receptacle=parent_label)
            if self.memory is not None:
                self.memory.record(change)
            if self.history is not None:
                self.history.append(LogEntry(ev.stamp, ev.object_type, tuple(ev.position),
                                             dict(ev.states), 'own_action'))
