"""Head camera: shapes, intrinsics, optical-frame pose, segmentation agrees with geometry."""

from __future__ import annotations

import numpy as np
import pytest

from memory_nodes.domain.skills import SkillCall, SkillTarget
from sim.pybullet_sim import PyBulletSimulator


@pytest.fixture(scope='module')
def frame_and_sim():
    sim = PyBulletSimulator(width=160, height=120)
    sim.reset(2)
    table = next(o for o, t in sim.things.items() if t.object_type == 'CounterTop')
    assert sim.execute(SkillCall('navigate_to', SkillTarget(object_id=table))).success
    yield sim.render(), sim
    sim.close()


def test_shapes_and_types(frame_and_sim):
    frame, sim = frame_and_sim
    assert frame.rgb.shape == (120, 160, 3) and frame.rgb.dtype == np.uint8
    assert frame.depth.shape == (120, 160) and frame.depth.dtype == np.float32
    assert frame.segmentation.shape == (120, 160) and frame.segmentation.dtype == np.int32
    assert frame.stamp == sim.time
    assert np.isfinite(frame.depth[frame.segmentation >= 0]).all()
    present = {int(i) for i in np.unique(frame.segmentation) if i >= 0}
    assert set(frame.instance_to_object) == present


def test_intrinsics_and_pose(frame_and_sim):
    frame, sim = frame_and_sim
    k = frame.intrinsics
    assert k.shape == (3, 3) and k[0, 0] == pytest.approx(k[1, 1])
    assert k[0, 2] == pytest.approx(79.5) and k[1, 2] == pytest.approx(59.5)
    r = frame.camera_to_map[:3, :3]
    assert np.allclose(r @ r.T, np.eye(3), atol=1e-9) and np.linalg.det(r) == pytest.approx(1)
    x, y, yaw = sim.robot_pose()
    forward = frame.camera_to_map[:3, 2]
    assert forward[2] < 0  # looks down a little
    assert np.dot(forward[:2], [np.cos(yaw), np.sin(yaw)]) > 0.8
    assert frame.camera_to_map[:3, 1][2] < 0  # optical y points down
    assert np.hypot(frame.camera_to_map[0, 3] - x, frame.camera_to_map[1, 3] - y) < 0.3


def test_segmented_pixels_back_project_into_their_object(frame_and_sim):
    frame, sim = frame_and_sim
    truth = sim.ground_truth()
    kinv = np.linalg.inv(frame.intrinsics)
    checked = 0
    for inst, oid in frame.instance_to_object.items():
        vs, us = np.nonzero(frame.segmentation == inst)
        if len(us) < 5:
            continue
        d = frame.depth[vs, us]
        rays = kinv @ np.stack([us, vs, np.ones_like(us)]).astype(float)
        pts = frame.camera_to_map[:3, :3] @ (rays * d) + frame.camera_to_map[:3, 3:4]
        lo = np.array(truth[oid].aabb_min) - 0.03
        hi = np.array(truth[oid].aabb_max) + 0.03
        inside = np.all((lo <= pts.T) & (hi >= pts.T), axis=1).mean()
        assert inside > 0.95, (oid, inside)
        checked += 1
    assert checked >= 2


def test_object_centre_projects_onto_its_mask(frame_and_sim):
    frame, sim = frame_and_sim
    truth = sim.ground_truth()
    hits = 0
    inv = np.linalg.inv(frame.camera_to_map)
    for inst, oid in frame.instance_to_object.items():
        if truth[oid].kind != 'object':
            continue
        c = inv @ np.array([*truth[oid].position, 1.0])
        if c[2] <= 0:
            continue
        u, v, _ = frame.intrinsics @ (c[:3] / c[2])
        ui, vi = int(round(u)), int(round(v))
        if 0 <= ui < 160 and 0 <= vi < 120 and (frame.segmentation == inst).sum() > 10:
            patch = frame.segmentation[max(0, vi - 1):vi + 2, max(0, ui - 1):ui + 2]
            if (patch == inst).any():
                hits += 1
            else:  # only something nearer may hide the centre
                assert frame.depth[vi, ui] < c[2], oid
    assert hits >= 1
