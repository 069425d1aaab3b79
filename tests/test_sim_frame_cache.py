"""The camera's frame cache and perception's frame cache give what a fresh run would."""

from __future__ import annotations

import numpy as np

import sim.camera as camera
from memory_nodes.domain.skills import SkillCall, SkillTarget
from memory_nodes.evaluation import sim_frames
from memory_nodes.evaluation.sim_frames import SimFramePerception
from sim.camera import visible_instances
from sim.pybullet_sim import PyBulletSimulator


def _same(a, b) -> bool:
    return (np.array_equal(a.rgb, b.rgb) and np.array_equal(a.segmentation, b.segmentation)
            and np.array_equal(a.depth, b.depth, equal_nan=True)
            and a.instance_to_object == b.instance_to_object)


def test_a_cached_frame_is_the_fresh_one_and_a_change_is_seen():
    sim = PyBulletSimulator(width=160, height=120)
    try:
        sim.reset(2)
        table = next(o for o, t in sim.things.items() if t.object_type == 'CounterTop')
        assert sim.execute(SkillCall('navigate_to', SkillTarget(object_id=table))).success
        hits = camera._RENDERS.hits
        first = sim.render()
        again = sim.render()
        assert camera._RENDERS.hits == hits + 1 and _same(first, again)
        # Something in view moves: the next frame is rendered anew, and matches an
        # uncached render of the same state.
        seen = [o for o in first.instance_to_object.values()
                if sim.things[o].kind == 'object']
        assert seen, 'the counter should show at least one object'
        (x, y, z), yaw = sim.pose_of(seen[0])
        sim.set_pose(seen[0], (x, y, z + 0.3), yaw)
        moved = sim.render()
        assert not _same(first, moved)
        sim.camera.render_cache_frames = 0
        assert _same(moved, sim.render())
    finally:
        sim.close()


def test_perception_of_an_identical_frame_is_the_same_but_restamped():
    sim = PyBulletSimulator(width=160, height=120)
    try:
        sim.reset(2)
        frame = sim.render()
        truth = sim.ground_truth()
        instances = visible_instances(frame, truth)
        fresh = SimFramePerception(cache_frames=0).perceive(frame, instances)[0]
        sim_frames._PERCEIVED.clear()
        cached = SimFramePerception()
        cached.perceive(frame, instances)
        sim.step(0.5)
        later = sim.render()
        assert len(sim_frames._PERCEIVED) == 1
        again = cached.perceive(later, instances)[0]
        assert len(sim_frames._PERCEIVED) == 1  # a hit: nothing new remembered
        assert [o.label for o in again] == [o.label for o in fresh] and fresh
        for a, b in zip(again, fresh):
            assert np.array_equal(a.points, b.points) and a.states == b.states
            assert a.track_id == b.track_id and a.stamp == later.stamp != b.stamp
    finally:
        sim.close()
