"""Bad input never crashes or corrupts the graph; each case has a named counter."""

import numpy as np
import pytest

from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import ObjectObservation
from memory_nodes.memory.state_change import StateChange


def pts(n=100, center=(1, 1, 1), seed=0):
    rng = np.random.default_rng(seed)
    return np.asarray(center) + rng.uniform(-0.05, 0.05, (n, 3))


def run(mem, o):
    mem.integrate([o])
    st = mem.stats()['input']
    return st['rejected'], st['repaired']


@pytest.mark.parametrize('make, reason', [
    (lambda: ObjectObservation('mug', 0.9, np.zeros((0, 3)), 1.0), 'empty_cloud'),
    (lambda: ObjectObservation('mug', 0.9, np.full((10, 3), np.nan), 1.0), 'empty_cloud'),
    (lambda: ObjectObservation('mug', 0.9, pts(), 1.0, frame_id='odom'), 'unknown_frame'),
    (lambda: ObjectObservation('', 0.9, pts(), 1.0), 'empty_label'),
    (lambda: ObjectObservation('mug', float('nan'), pts(), 1.0), 'bad_score'),
    (lambda: ObjectObservation('mug', 0.9, pts(), float('inf')), 'bad_stamp'),
    (lambda: ObjectObservation('mug', 0.9, np.ones((10, 2)), 1.0), 'bad_points_shape'),
    (lambda: ObjectObservation('mug', 0.9, 'garbage', 1.0), 'bad_points'),
    (lambda: ObjectObservation('mug', 0.9, pts(2), 1.0), 'too_few_points'),
])
def test_rejections_are_counted(make, reason):
    mem = LongTermMemory()
    rejected, _ = run(mem, make())
    assert rejected == {reason: 1}
    assert not [n for n in mem.graph.nodes.values() if n.layer == 'object']


def test_nonfinite_points_are_dropped_and_rest_fused():
    mem = LongTermMemory()
    p = pts()
    p[::7] = np.nan
    p[1] = np.inf
    _, repaired = run(mem, ObjectObservation('mug', 0.9, p, 1.0))
    assert repaired == {'nonfinite_points_dropped': 1}
    node = mem.by_label('mug')[0]
    assert np.isfinite(node.points).all() and np.isfinite(node.position).all()


def test_score_out_of_range_is_clipped():
    mem = LongTermMemory()
    _, repaired = run(mem, ObjectObservation('mug', 3.5, pts(), 1.0))
    assert repaired == {'score_clipped': 1}
    assert mem.by_label('mug')[0].confidence <= 1.0


def test_cloud_over_cap_is_subsampled():
    cfg = LongTermMemoryConfig()
    cfg.input.max_points = 500
    mem = LongTermMemory(cfg)
    _, repaired = run(mem, ObjectObservation('table', 0.9, pts(20000), 1.0))
    assert repaired == {'cloud_over_cap': 1}


def test_unknown_label_kept_or_rejected_by_config():
    cfg = LongTermMemoryConfig()
    cfg.input.vocabulary = ('mug', 'table')
    mem = LongTermMemory(cfg)
    _, repaired = run(mem, ObjectObservation('gizmo', 0.9, pts(), 1.0))
    assert repaired == {'unknown_label_kept': 1}
    cfg.input.reject_unknown_labels = True
    mem = LongTermMemory(cfg)
    rejected, _ = run(mem, ObjectObservation('gizmo', 0.9, pts(), 1.0))
    assert rejected == {'unknown_label': 1}


def test_out_of_order_stamps_never_move_last_seen_back():
    mem = LongTermMemory()
    mem.integrate([ObjectObservation('mug', 0.9, pts(seed=0), 10.0)])
    _, repaired = run(mem, ObjectObservation('mug', 0.9, pts(seed=1), 9.0))
    assert repaired == {'out_of_order_stamp': 1}
    node = mem.by_label('mug')[0]
    assert node.last_seen == 10.0 and node.first_seen == 9.0
    rejected, _ = run(mem, ObjectObservation('mug', 0.9, pts(seed=2), -100.0))
    assert rejected == {'stale_stamp': 1}


def test_bad_embedding_is_dropped():
    mem = LongTermMemory()
    _, repaired = run(mem, ObjectObservation('mug', 0.9, pts(), 1.0, embedding=np.ones(7)))
    assert repaired == {'bad_embedding_dropped': 1}
    assert mem.by_label('mug')[0].embedding is None


def test_label_is_normalized():
    mem = LongTermMemory()
    mem.integrate([ObjectObservation(' Coffee_Mug ', 0.9, pts(), 1.0)])
    assert mem.by_label('coffee mug')


def test_bad_state_changes():
    mem = LongTermMemory()
    assert mem.record_state_change(StateChange('', 1.0)) == ''
    assert mem.record_state_change(StateChange('mug', float('nan'))) == ''
    oid = mem.record_state_change(StateChange('mug', 1.0, position=(np.nan, 0, 0)))
    assert oid and mem.get(oid).attrs.get('position_unknown')
    rej = mem.stats()['input']['rejected']
    assert rej == {'state_change_without_label': 1, 'state_change_bad_stamp': 1}
