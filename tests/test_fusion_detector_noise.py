"""Fusion rules that keep the memory right when a learned detector is wrong.

Each rule is a parameter; each test shows the rule's effect and fails with it switched off:
label votes, confusable labels, confirmation by detection strength, absence weighted by
the detector's measured recall, and mask erosion at depth discontinuities.
"""

import json

import numpy as np
import pytest

from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.detector_profile import (
    DetectorProfile,
    confusion_groups,
    load_detector_profile,
)
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import CameraView, ObjectObservation
from memory_nodes.memory.robot_memory import ObjectQuery, RobotMemory
from memory_nodes.perception.backprojection import BackprojectionConfig, backproject

W, H = 160, 120
K = np.array([[100.0, 0, 80], [0, 100.0, 60], [0, 0, 1]])


def cloud(center, size=(0.1, 0.1, 0.1), n=200, seed=0):
    rng = np.random.default_rng(seed)
    return np.asarray(center) + rng.uniform(-0.5, 0.5, (n, 3)) * np.asarray(size)


def obs(label, center, score=0.9, stamp=0.0, seed=0, size=(0.1, 0.1, 0.1)):
    return ObjectObservation(label, score, cloud(center, size, seed=seed), stamp)


def objects(mem):
    return [n for n in mem.graph.nodes.values() if n.layer in ('object', 'furniture')]


def memory(**fusion) -> LongTermMemory:
    cfg = LongTermMemoryConfig()
    for key, value in fusion.items():
        setattr(cfg.fusion, key, value)
    return LongTermMemory(cfg)


# ---- label histogram --------------------------------------------------------------
@pytest.mark.parametrize('vote', [True, False])
def test_the_label_is_the_vote_of_the_views(vote):
    mem = memory(vote_labels=vote)
    mem.integrate([obs('CellPhone', [1, 1, 0.8], score=0.4)])  # first view: wrong, weak
    for t in range(1, 4):
        mem.integrate([obs('RemoteControl', [1, 1, 0.8], stamp=t, seed=t)])
    (node,) = objects(mem)
    if vote:
        assert node.label == 'remote control'
        assert node.label_share == pytest.approx(2.7 / 3.1)
        assert node.summary()['label_share'] == pytest.approx(2.7 / 3.1, abs=1e-4)
    else:
        assert node.label == 'cell phone'


# ---- confusable labels ------------------------------------------------------------
@pytest.mark.parametrize('groups', [('RemoteControl,CellPhone',), ()])
def test_a_confused_label_with_partial_overlap_joins_the_node(groups):
    """Half the cloud overlaps (below `strong_geometric_overlap`) under a swapped label."""
    mem = memory(confusable_labels=groups)
    for t in range(2):
        mem.integrate([obs('RemoteControl', [1, 1, 0.8], stamp=t, seed=t,
                           size=(0.2, 0.1, 0.05))])
    # Shifted by 70 % of its length: some overlap (0.33), below the strong 0.45.
    mem.integrate([obs('CellPhone', [1.14, 1, 0.8], stamp=2, seed=5, size=(0.2, 0.1, 0.05))])
    nodes = objects(mem)
    assert len(nodes) == (1 if groups else 2)


def test_unrelated_labels_with_the_same_overlap_stay_apart():
    mem = memory()
    for t in range(2):
        mem.integrate([obs('RemoteControl', [1, 1, 0.8], stamp=t, seed=t,
                           size=(0.2, 0.1, 0.05))])
    mem.integrate([obs('Book', [1.14, 1, 0.8], stamp=2, seed=5, size=(0.2, 0.1, 0.05))])
    assert len(objects(mem)) == 2


def test_confusions_measured_for_the_detector_are_used(tmp_path):
    """Apple/Pear is not a configured group: the profile's measured confusion adds it."""
    path = tmp_path / 'metrics.json'
    path.write_text(json.dumps({'map50': 0.5, 'calibration': {
        'distance_bins_m': [1.5], 'recall': {'Apple': [0.9, 0.5]},
        'confusions': [['Apple', 'Pear', 0.2], ['Apple', 'Bread', 0.01]]}}))
    cfg = LongTermMemoryConfig(detector_profile=str(path))
    cfg.fusion.confusable_labels = ()
    mem = LongTermMemory(cfg)
    for t in range(2):  # two apples, 2 m apart
        mem.integrate([obs('Apple', [1, y, 0.8], stamp=t, seed=t, size=(0.2, 0.1, 0.05))
                       for y in (1, 3)])
    mem.integrate([obs('Pear', [1.14, 1, 0.8], stamp=2, seed=5, size=(0.2, 0.1, 0.05))])
    mem.integrate([obs('Bread', [1.14, 3, 0.8], stamp=3, seed=6, size=(0.2, 0.1, 0.05))])
    assert sorted(n.label for n in objects(mem)) == ['apple', 'apple', 'bread']


def test_swapped_labels_side_by_side_are_not_merged_as_duplicates():
    """A fork and a knife 5 cm apart (2 cm gap): close centroids, no common voxels, two things."""
    mem = memory()
    for t in range(3):
        mem.integrate([obs('Fork', [1, 1, 0.8], stamp=t, seed=t, size=(0.03, 0.18, 0.02)),
                       obs('Knife', [1.05, 1, 0.8], stamp=t, seed=t + 9,
                           size=(0.03, 0.18, 0.02))])
    assert sorted(n.label for n in objects(mem)) == ['fork', 'knife']


# ---- confirmation by detection strength ---------------------------------------------
@pytest.mark.parametrize('evidence', [1.5, 0.0])
def test_weak_detections_need_more_views_to_confirm(evidence):
    mem = memory(confirm_evidence=evidence)
    for t in range(2):
        mem.integrate([obs('Mug', [1, 1, 0.8], score=0.3, stamp=t, seed=t)])
    (node,) = objects(mem)
    assert node.status == ('tentative' if evidence else 'confirmed')
    for t in range(2, 5):
        mem.integrate([obs('Mug', [1, 1, 0.8], score=0.3, stamp=t, seed=t)])
    assert node.status == 'confirmed'  # five weak views: 1.5 of evidence


def test_two_strong_detections_confirm():
    mem = memory()
    for t in range(2):
        mem.integrate([obs('Mug', [1, 1, 0.8], score=0.8, stamp=t, seed=t)])
    assert objects(mem)[0].status == 'confirmed'


# ---- absence weighted by the detector's recall -------------------------------------
def camera_view(stamp, depth_value=2.05):
    pose = np.eye(4)
    pose[:3, :3] = [[0, 0, 1], [-1, 0, 0], [0, -1, 0]]
    pose[:3, 3] = (0, 0, 1)
    return CameraView(K, pose, np.full((H, W), depth_value), stamp)


def profile_file(tmp_path, recall):
    path = tmp_path / 'metrics.json'
    path.write_text(json.dumps({'calibration': {
        'distance_bins_m': [1.0, 3.0], 'recall': {'Mug': [1.0, recall, recall]},
        'confusions': []}}))
    return str(path)


@pytest.mark.parametrize('weighted', [True, False])
def test_misses_of_a_class_the_detector_rarely_finds_hardly_count(tmp_path, weighted):
    cfg = LongTermMemoryConfig(detector_profile=profile_file(tmp_path, 0.2))
    cfg.absence.min_projected_px = 4.0
    cfg.absence.weight_by_recall = weighted
    mem = LongTermMemory(cfg)
    for t in range(3):
        mem.integrate([obs('Mug', [2, 0, 1], stamp=float(t), seed=t)])
    (mug,) = objects(mem)
    # A surface just behind the mug (the table top, not seen through): a detector miss.
    for t in range(3, 9):
        mem.integrate([], camera_view(float(t)))
    assert mug.status == ('confirmed' if weighted else 'absent')


def test_misses_of_a_class_the_detector_always_finds_count_fully(tmp_path):
    cfg = LongTermMemoryConfig(detector_profile=profile_file(tmp_path, 1.0))
    cfg.absence.min_projected_px = 4.0
    mem = LongTermMemory(cfg)
    for t in range(3):
        mem.integrate([obs('Mug', [2, 0, 1], stamp=float(t), seed=t)])
    (mug,) = objects(mem)
    for t in range(3, 6):
        mem.integrate([], camera_view(float(t)))
    assert mug.status == 'absent'  # 0.6 per view: three views are enough


def test_recall_bins_by_distance():
    profile = DetectorProfile.from_dict({'distance_bins_m': [1.5, 3.0],
                                         'recall': {'GarbageCan': [0.9, 0.6, 0.2]}})
    assert profile.recall('garbage can', 0.5) == 0.9
    assert profile.recall('GarbageCan', 2.0) == 0.6
    assert profile.recall('garbage_can', 7.0) == 0.2
    assert profile.recall('Mug', 1.0) is None


@pytest.mark.parametrize('bad, words', [
    ({'distance_bins_m': [3.0, 1.0], 'recall': {}}, 'must rise'),
    ({'distance_bins_m': [1.0], 'recall': {'Mug': [0.5]}}, "recall of 'Mug' needs 2"),
    ({'distance_bins_m': [1.0], 'recall': {'Mug': [0.5, 1.5]}}, 'in [0, 1]'),
    ({'recall': {}, 'confusions': [['Mug']]}, 'is not [label, label, rate]'),
])
def test_a_bad_profile_is_refused_by_name(tmp_path, bad, words):
    path = tmp_path / 'p.json'
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r'.*') as err:
        load_detector_profile(path)
    assert words in str(err.value) and str(path) in str(err.value)


def test_a_missing_profile_names_the_file(tmp_path):
    with pytest.raises(ValueError, match='nothing.json'):
        LongTermMemory(LongTermMemoryConfig(detector_profile=str(tmp_path / 'nothing.json')))
    with pytest.raises(ValueError, match='name two or more labels'):
        confusion_groups(['Fork'])


# ---- mask erosion at depth discontinuities -----------------------------------------
def bleeding_mask_scene():
    """A box 1 m away in front of a wall at 3 m; the mask bleeds 2 px onto the wall."""
    depth = np.full((H, W), 3.0)
    depth[50:70, 70:90] = 1.0
    mask = np.zeros((H, W), bool)
    mask[48:72, 68:92] = True
    return depth, mask


@pytest.mark.parametrize('edge_px', [2, 0])
def test_mask_pixels_at_a_depth_edge_are_dropped(edge_px):
    depth, mask = bleeding_mask_scene()
    cfg = BackprojectionConfig(depth_edge_px=edge_px)
    pts = backproject(depth, mask, K, np.eye(4), cfg)
    far = int((pts[:, 2] > 2.0).sum())
    if edge_px:
        assert far == 0 and len(pts) > 100
    else:
        assert far > 50


def test_erosion_keeps_a_mask_it_would_empty():
    depth = np.full((H, W), 3.0)
    depth[60:63, 80:83] = 1.0  # a 3x3 px object: erosion would leave nothing
    mask = np.zeros((H, W), bool)
    mask[60:63, 80:83] = True
    pts = backproject(depth, mask, K, np.eye(4), BackprojectionConfig(depth_edge_px=2))
    assert len(pts) == 9


# ---- look-alikes: a label the detector never gave, asked for ------------------------
def lookalike_memory(tmp_path, profile=True):
    path = tmp_path / 'metrics.json'
    path.write_text(json.dumps({'calibration': {
        'distance_bins_m': [], 'recall': {},
        'confusions': [['RemoteControl', 'CellPhone', 0.3]]}}))
    mem = RobotMemory(LongTermMemoryConfig(detector_profile=str(path) if profile else ''))
    for t in range(3):  # a remote control the detector calls a phone
        mem.observe([obs('CellPhone', [1, 1, 0.8], stamp=t, seed=t)])
    for t in range(3):  # a mug voted 'cup' once in four views
        mem.observe([obs('Mug' if t else 'Cup', [3, 1, 0.8], stamp=t, seed=t)])
    mem.observe([obs('Mug', [3, 1, 0.8], stamp=4, seed=4)])
    return mem


def test_a_query_for_a_label_never_detected_offers_its_lookalikes(tmp_path):
    mem = lookalike_memory(tmp_path)
    hits = mem.query(ObjectQuery(label='RemoteControl'))
    assert [h.node.label for h in hits] == ['cell phone']
    hits = mem.query(ObjectQuery(label='Cup'))  # the mug's vote gave 'cup' 0.9 of 3.6
    assert [h.node.label for h in hits] == ['mug']
    assert [h.node.label for h in mem.query(ObjectQuery(label='CellPhone'))] == ['cell phone']
    assert mem.query(ObjectQuery(label='Book')) == []


def test_without_a_detector_profile_labels_are_taken_as_given(tmp_path):
    mem = lookalike_memory(tmp_path, profile=False)
    assert mem.query(ObjectQuery(label='RemoteControl')) == []
    assert mem.query(ObjectQuery(label='Cup')) == []


def test_the_detector_decides_the_erosion_unless_the_config_does():
    """Learned masks (YoloDetector.mask_edge_px 2) are eroded, exact ones (the simulator's,
    0) are not: erosion only cuts into an exact mask (oracle fusion got worse with it)."""
    from memory_nodes.perception.detection import Detection
    from memory_nodes.perception.observation_builder import ObservationBuilder, RgbdFrame
    from memory_nodes.perception.sim_segmentation import SimSegmentationDetector
    from memory_nodes.perception.yolo_detector import YoloDetector

    assert YoloDetector.mask_edge_px == 2 and SimSegmentationDetector.mask_edge_px == 0
    depth, mask = bleeding_mask_scene()
    frame = RgbdFrame(np.zeros((H, W, 3), np.uint8), depth, K, np.eye(4), 0.0)
    det = [Detection('Mug', 0.9, mask)]
    cfg = BackprojectionConfig(outlier_neighbors=0, voxel_size=0.0, max_points=10_000)

    def far_points(builder, edge_px):
        (o,) = builder.build(frame, det, edge_px)
        return int((o.points[:, 2] > 2.0).sum())

    assert far_points(ObservationBuilder(cfg), 2) == 0
    assert far_points(ObservationBuilder(cfg), 0) > 50
    forced = BackprojectionConfig(outlier_neighbors=0, voxel_size=0.0, max_points=10_000,
                                  depth_edge_px=0)
    assert far_points(ObservationBuilder(forced), 2) > 50
