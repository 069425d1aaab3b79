"""Association, cloud merging, confirmation and duplicate rules of long-term fusion."""

import numpy as np
import pytest

from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.fusion import dbscan_keep_main, voxel_downsample
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import ObjectObservation


def box(center, size, n=200, seed=0, noise=0.005):
    """Points on the surface of a box (like a depth camera sees, but all sides)."""
    rng = np.random.default_rng(seed)
    s = np.asarray(size, dtype=float)
    p = rng.uniform(-0.5, 0.5, (n, 3)) * s
    ax = rng.integers(0, 3, n)
    p[np.arange(n), ax] = rng.choice([-0.5, 0.5], n) * s[ax]
    return np.asarray(center) + p + rng.normal(0, noise, (n, 3))


def obs(label, center, size=(0.1, 0.1, 0.1), stamp=0.0, seed=0, **kw):
    return ObjectObservation(label, kw.pop('score', 0.9), box(center, size, seed=seed),
                             stamp, **kw)


@pytest.fixture
def mem():
    return LongTermMemory()


def objects(mem):
    return [n for n in mem.graph.nodes.values() if n.layer in ('object', 'furniture')]


def test_same_label_overlap_associates(mem):
    for t in range(4):
        mem.integrate([obs('mug', [1, 1, 0.8], stamp=t, seed=t)])
    nodes = objects(mem)
    assert len(nodes) == 1
    assert nodes[0].observations == 4
    assert np.allclose(nodes[0].position, [1, 1, 0.8], atol=0.02)


def test_confirmation_after_min_observations(mem):
    r1 = mem.integrate([obs('mug', [1, 1, 0.8])])
    assert r1.created and not r1.confirmed
    assert mem.get(r1.created[0]).status == 'tentative'
    r2 = mem.integrate([obs('mug', [1, 1, 0.8], stamp=1, seed=1)])
    assert r2.confirmed == r1.created


def test_wrong_label_with_strong_overlap_associates_and_majority_wins(mem):
    for t in range(3):
        mem.integrate([obs('mug', [1, 1, 0.8], stamp=t, seed=t)])
    mem.integrate([obs('banana', [1, 1, 0.8], stamp=3, seed=3)])
    nodes = objects(mem)
    assert len(nodes) == 1
    assert nodes[0].label == 'mug'
    assert 'banana' in nodes[0].label_scores


def test_different_label_weak_overlap_creates(mem):
    mem.integrate([obs('mug', [1, 1, 0.8])])
    # A neighbour touching the mug's box a little: geometry alone is not enough.
    mem.integrate([obs('apple', [1.08, 1, 0.8], stamp=1, seed=2)])
    assert sorted(n.label for n in objects(mem)) == ['apple', 'mug']


def test_same_label_far_away_creates(mem):
    mem.integrate([obs('mug', [1, 1, 0.8])])
    mem.integrate([obs('mug', [3, 1, 0.8], stamp=1, seed=1)])
    assert len(mem.by_label('mug')) == 2


def test_two_same_label_objects_side_by_side_stay_apart(mem):
    for t in range(3):
        mem.integrate([obs('mug', [1, 1, 0.8], stamp=t, seed=t),
                       obs('mug', [1.25, 1, 0.8], stamp=t, seed=10 + t)])
    assert len(mem.by_label('mug')) == 2


def test_embedding_similarity_associates_synonyms(mem):
    e = np.zeros(384, dtype=np.float32)
    e[0] = 1.0
    mem.integrate([obs('mug', [1, 1, 0.8], embedding=e)])
    # Partial overlap (shifted 4 cm) is below the strong threshold, so semantics decide.
    mem.integrate([obs('cup', [1.04, 1, 0.8], stamp=1, seed=1, embedding=e)])
    assert len(objects(mem)) == 1


def test_track_id_associates(mem):
    mem.integrate([obs('mug', [1, 1, 0.8], track_id=7)])
    mem.integrate([obs('cup', [1.05, 1, 0.8], stamp=1, seed=1, track_id=7)])
    assert len(objects(mem)) == 1


def test_cloud_is_downsampled_and_capped():
    cfg = LongTermMemoryConfig()
    cfg.fusion.max_points_per_node = 100
    mem = LongTermMemory(cfg)
    for t in range(5):
        mem.integrate([ObjectObservation('table', 0.9, box([2, 2, 0.4], [1.2, 0.8, 0.8],
                                                           n=3000, seed=t), t)])
    node = objects(mem)[0]
    assert node.layer == 'furniture'
    assert len(node.points) <= 100
    assert node.points.dtype == np.float32


def test_voxel_downsample_averages_per_voxel():
    pts = np.array([[0.001, 0.001, 0.001], [0.002, 0.002, 0.002], [0.5, 0.5, 0.5]])
    out, keys = voxel_downsample(pts, 0.05)
    assert len(out) == 2 and len(keys) == 2
    assert np.allclose(sorted(out[:, 0]), [0.0015, 0.5], atol=1e-6)


def test_dbscan_drops_outliers():
    rng = np.random.default_rng(0)
    cluster = rng.normal(0, 0.02, (200, 3))
    outliers = rng.uniform(1, 2, (5, 3))
    mask = dbscan_keep_main(np.vstack([cluster, outliers]), 0.05, 4)
    assert mask[:200].mean() > 0.95 and not mask[200:].any()


def test_denoise_removes_stray_points_from_node():
    cfg = LongTermMemoryConfig()
    cfg.fusion.denoise_every = 2
    mem = LongTermMemory(cfg)
    for t in range(3):  # the third observation is the second update: a denoise pass
        pts = box([1, 1, 0.8], [0.1, 0.1, 0.1], seed=t)
        pts = np.vstack([pts, [[1.6, 1.6, 0.8]]])  # a background pixel
        mem.integrate([ObjectObservation('mug', 0.9, pts, float(t))])
    node = objects(mem)[0]
    assert node.points[:, 0].max() < 1.2


def test_duplicates_merge_and_old_id_resolves():
    cfg = LongTermMemoryConfig()
    cfg.fusion.duplicate_check_every = 0  # only the explicit pass below
    cfg.fusion.min_geometric_overlap = 0.99  # force a duplicate to be created
    cfg.fusion.strong_geometric_overlap = 1.0
    mem = LongTermMemory(cfg)
    a = mem.integrate([obs('mug', [1, 1, 0.8])]).created[0]
    b = mem.integrate([obs('mug', [1.01, 1, 0.8], stamp=1, seed=1)]).created[0]
    assert a != b
    merged = mem.merge_duplicates()
    assert len(merged) == 1
    dropped, kept = merged[0]
    assert mem.get(dropped).id == kept
    assert mem.graph.merged_into[dropped] == kept
    assert any(ev.kind == 'merged' for ev in mem.history(kept))
    assert mem.get(kept).observations == 2


def test_states_from_observations_are_recorded(mem):
    mem.integrate([obs('fridge', [3, 3, 0.9], size=(0.8, 0.7, 1.8), states={'open': False})])
    r = mem.integrate([obs('fridge', [3, 3, 0.9], size=(0.8, 0.7, 1.8), stamp=1, seed=1,
                           states={'open': True})])
    node = mem.by_label('fridge')[0]
    assert node.states == {'open': True}
    assert r.state_changes == [node.id]
    assert 'state' in [ev.kind for ev in mem.history(node.id)]
