"""Absence evidence: frustum + depth occlusion -> confidence decay -> absent event."""

import numpy as np
import pytest

from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import CameraView, ObjectObservation

W, H = 160, 120
K = np.array([[100.0, 0, 80], [0, 100.0, 60], [0, 0, 1]])


def camera_pose(position):
    """Optical frame looking along map +x (x right = -y, y down = -z)."""
    t = np.eye(4)
    t[:3, :3] = [[0, 0, 1], [-1, 0, 0], [0, -1, 0]]
    t[:3, 3] = position
    return t


def view(depth_value, stamp, position=(0, 0, 1)):
    return CameraView(K, camera_pose(position), np.full((H, W), depth_value), stamp)


def box(center, size, n=200, seed=0):
    rng = np.random.default_rng(seed)
    return np.asarray(center) + rng.uniform(-0.5, 0.5, (n, 3)) * np.asarray(size)


def small_camera_memory() -> LongTermMemory:
    # The test camera is tiny (f = 100 px): a 10 cm mug at 2 m spans 5 px, which this
    # detector is assumed to see (the default threshold suits a 320x240 camera).
    cfg = LongTermMemoryConfig()
    cfg.absence.min_projected_px = 4.0
    return LongTermMemory(cfg)


@pytest.fixture
def mem():
    m = small_camera_memory()
    for t in range(3):
        m.integrate([ObjectObservation('mug', 0.9, box([2, 0, 1], [0.1, 0.1, 0.1], seed=t),
                                       float(t))])
    return m


def test_seen_through_decays_to_absent_with_event(mem):
    mug = mem.by_label('mug')[0]
    c0 = mug.confidence
    r = mem.integrate([], view(5.0, 3.0))
    assert mug.confidence < c0 and mug.status == 'confirmed'
    absent = []
    for t in range(4, 12):
        absent += mem.integrate([], view(5.0, float(t))).absent
    assert absent == [mug.id]
    assert mug.status == 'absent'
    ev = [e for e in mem.history(mug.id) if e.kind == 'absent'][0]
    assert ev.detail['reason'] == 'moved'
    assert r.absent == []
    assert mem.by_label('mug') == [] and mem.by_label('mug', include_absent=True)


def test_occluded_object_keeps_confidence(mem):
    mug = mem.by_label('mug')[0]
    c0 = mug.confidence
    for t in range(3, 10):
        mem.integrate([], view(1.0, float(t)))  # a wall 1 m in front hides the mug
    assert mug.confidence == c0 and mug.status == 'confirmed'


def test_outside_frustum_keeps_confidence(mem):
    mug = mem.by_label('mug')[0]
    c0 = mug.confidence
    for t in range(3, 10):
        mem.integrate([], view(5.0, float(t), position=(0, 10, 1)))
    assert mug.confidence == c0


def test_no_depth_return_is_no_evidence(mem):
    mug = mem.by_label('mug')[0]
    c0 = mug.confidence
    mem.integrate([], view(np.nan, 3.0))
    mem.integrate([], view(0.0, 4.0))
    assert mug.confidence == c0


def test_surface_still_there_decays_slower(mem):
    mug = mem.by_label('mug')[0]
    c0 = mug.confidence
    mem.integrate([], view(2.0, 3.0))  # depth matches the mug: a detector miss, maybe
    weak = mug.confidence
    assert weak < c0
    other = small_camera_memory()
    for t in range(3):
        other.integrate([ObjectObservation('mug', 0.9, box([2, 0, 1], [0.1] * 3, seed=t),
                                           float(t))])
    other.integrate([], view(5.0, 3.0))
    assert other.by_label('mug')[0].confidence < weak


def test_reobserved_after_absent_reappears(mem):
    mug = mem.by_label('mug')[0]
    for t in range(3, 15):
        mem.integrate([], view(5.0, float(t)))
    assert mug.status == 'absent'
    mem.integrate([ObjectObservation('mug', 0.9, box([2, 0, 1], [0.1] * 3, seed=9), 20.0)])
    assert mug.status == 'confirmed'
    assert mem.history(mug.id)[-1].kind == 'reappeared'


def test_bad_camera_view_is_counted_not_raised(mem):
    bad = CameraView(K, np.eye(4), np.zeros((0,)), 3.0)
    mem.integrate([], bad)
    assert mem.stats()['input']['rejected'].get('bad_camera_view') == 1


def test_objects_too_small_in_the_image_get_no_absence_evidence():
    """A miss is only evidence where the detector could have seen the object."""
    m = LongTermMemory()  # default: at least 14 px; the mug spans 5 px at 2 m here
    for t in range(3):
        m.integrate([ObjectObservation('mug', 0.9, box([2, 0, 1], [0.1, 0.1, 0.1], seed=t),
                                       float(t))])
    mug = m.by_label('mug')[0]
    c0 = mug.confidence
    for t in range(3, 12):
        m.integrate([], view(10.0, float(t)))
    assert mug.confidence == c0 and mug.status == 'confirmed'


def test_objects_beyond_the_absence_range_get_no_evidence():
    cfg = LongTermMemoryConfig()
    cfg.absence.min_projected_px = 0.0
    cfg.absence.max_distance = 1.5
    m = LongTermMemory(cfg)
    for t in range(3):
        m.integrate([ObjectObservation('mug', 0.9, box([2, 0, 1], [0.1, 0.1, 0.1], seed=t),
                                       float(t))])
    mug = m.by_label('mug')[0]
    for t in range(3, 12):
        m.integrate([], view(10.0, float(t)))
    assert mug.status == 'confirmed'
