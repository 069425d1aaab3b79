"""The head camera tilts: look_at and the tilt argument, joint limits, what each tilt sees."""

from __future__ import annotations

import math

import numpy as np
import pytest

from memory_nodes.domain.skills import SkillCall, SkillTarget
from memory_nodes.evaluation.sim_robot import SimRobot
from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.robot_memory import RobotMemory
from memory_nodes.memory.short_term import ShortTermConfig
from sim.camera import visible_instances
from sim.pybullet_sim import PyBulletSimulator
from sim.robot import CAMERA_PITCH, TILT_MAX

#: Home seed 0: a low cabinet with one object inside, below the default view up close.
CABINET = 'Cabinet_2'


@pytest.fixture
def sim():
    s = PyBulletSimulator(width=160, height=120)
    s.reset(0)
    yield s
    s.close()


def frame_tilt(frame) -> float:
    """Pitch below horizontal of a frame's optical axis (z), from its pose in `map`."""
    forward = frame.camera_to_map[:3, 2]
    return math.atan2(-forward[2], math.hypot(forward[0], forward[1]))


def seen(sim, object_ids) -> list[bool]:
    frame = sim.render()
    instances = visible_instances(frame, sim.ground_truth(), sim.holding())
    visible = {frame.instance_to_object[i] for i in instances}
    return [o in visible for o in object_ids]


def at_open_cabinet(sim) -> list[str]:
    inside = [o for o, t in sim.things.items() if t.parent == CABINET]
    assert inside and sim.things[CABINET].states['open'] is False
    assert sim.execute(SkillCall('navigate_to', SkillTarget(object_id=CABINET))).success
    assert sim.execute(SkillCall('open', SkillTarget(object_id=CABINET))).success
    return inside


def test_an_object_in_an_open_low_cabinet_is_seen_only_with_the_head_tilted_down(sim):
    inside = at_open_cabinet(sim)
    assert sim.head_tilt() == pytest.approx(CAMERA_PITCH)
    assert seen(sim, inside) == [False] * len(inside)  # the default view looks over it
    result = sim.execute(SkillCall('look_at', SkillTarget(object_id=CABINET)))
    assert result.success and result.resolved_object_id == CABINET
    assert CAMERA_PITCH + math.radians(15) < sim.head_tilt() <= TILT_MAX
    assert result.duration_s > 0.5  # the head and a look take time
    assert seen(sim, inside) == [True] * len(inside)
    # Each frame's pose is the camera's at that frame: the tilt is in it.
    assert frame_tilt(sim.render()) == pytest.approx(sim.head_tilt(), abs=1e-6)


def test_tilt_argument_and_its_joint_limits(sim):
    table = next(o for o, t in sim.things.items() if t.object_type == 'CounterTop')
    pose = sim.robot_pose()
    bad = sim.execute(SkillCall('navigate_to', SkillTarget(object_id=table),
                                tilt=math.radians(75)))
    assert not bad.success and bad.reason == 'tilt_out_of_range'
    assert '75.0 deg' in bad.message and '-10..60 deg' in bad.message
    assert sim.robot_pose() == pose and bad.path_length_m == 0.0  # nothing moved
    for value in (math.radians(-20), float('nan')):
        r = sim.execute(SkillCall('look_at', tilt=value))
        assert r.reason == 'tilt_out_of_range' and repr(value) in r.message
    nothing = sim.execute(SkillCall('look_at'))
    assert nothing.reason == 'missing_argument'
    with pytest.raises(ValueError, match='1.5 rad'):
        sim.robot.set_tilt(1.5)

    ok = sim.execute(SkillCall('navigate_to', SkillTarget(object_id=table),
                               tilt=math.radians(45)))
    assert ok.success and frame_tilt(sim.render()) == pytest.approx(math.radians(45))
    up = sim.execute(SkillCall('look_at', tilt=math.radians(-10)))
    assert up.success and sim.head_tilt() == pytest.approx(math.radians(-10))
    # Driving returns the head to its default: no tilt asked, nothing changes.
    fridge = next(o for o, t in sim.things.items() if t.object_type == 'Fridge')
    assert sim.execute(SkillCall('navigate_to', SkillTarget(object_id=fridge))).success
    assert sim.head_tilt() == pytest.approx(CAMERA_PITCH)


def test_look_at_a_point(sim):
    x, y, yaw = sim.robot_pose()
    point = (x + 2 * math.cos(yaw + 1.0), y + 2 * math.sin(yaw + 1.0), 0.0)
    r = sim.execute(SkillCall('look_at', SkillTarget(position=point)))
    assert r.success and r.resolved_object_id is None
    frame = sim.render()
    axis = frame.camera_to_map[:3, 2]
    to_point = np.asarray(point) - frame.camera_to_map[:3, 3]
    assert np.dot(axis, to_point / np.linalg.norm(to_point)) > 0.999


def test_exploring_adds_lower_and_higher_views_of_furniture_the_default_view_misses(sim):
    tilts = []
    sim.observer = lambda frame: tilts.append(frame_tilt(frame))
    assert sim.execute(SkillCall('explore', area='kitchen')).success
    default = [t for t in tilts if t == pytest.approx(CAMERA_PITCH)]
    extra = [t for t in tilts if t != pytest.approx(CAMERA_PITCH)]
    assert len(default) % 4 == 0 and extra  # four headings per place, and further looks
    assert all(math.radians(-10) - 1e-9 <= t <= TILT_MAX + 1e-9 for t in extra)
    assert sim.head_tilt() == pytest.approx(CAMERA_PITCH)
    tilts.clear()
    assert sim.execute(SkillCall('explore', area='kitchen', tilt=math.radians(40))).success
    assert tilts and all(t == pytest.approx(math.radians(40)) for t in tilts)


def test_memory_fuses_what_the_tilted_camera_sees_at_its_real_pose(sim):
    cfg = LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    memory = RobotMemory(cfg, ShortTermConfig(capacity=10))
    robot = SimRobot(sim, memory)
    inside = at_open_cabinet(sim)
    truth = sim.ground_truth()[inside[0]]
    assert not memory.ltm.by_label(truth.object_type)
    robot.execute(SkillCall('look_at', SkillTarget(object_type='Cabinet',
                                                   position=truth.position)))
    nodes = memory.ltm.by_label(truth.object_type)
    assert nodes, 'the object in the cabinet was not fused'
    # A constant (default-tilt) camera pose would put it ~0.5 m off: it is where it is.
    assert min(math.dist(tuple(n.position), truth.position) for n in nodes) < 0.1
