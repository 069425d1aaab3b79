"""The detector shipped in models/detector: its files, where it is used by default, and
that it finds the known objects of rendered frames, in process and in the perception node
over DDS (no training step anywhere)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from memory_nodes.perception.ultralytics_offline import import_ultralytics
from memory_nodes.perception.yolo_detector import (
    SHIPPED_WEIGHTS_NAME,
    YoloDetector,
    detector_profile_of,
    make_detector,
    shipped_weights,
)
from memory_nodes.tools.detector_training.dataset import CLASS_NAMES

import_ultralytics()

WEIGHTS = shipped_weights()
METRICS = json.loads((WEIGHTS.parent / 'metrics.json').read_text())
#: A home no training, calibration or suite uses (the perception bench's range).
HOME_SEED = 9001
#: An object counts as "known" in a frame when it is big there and its class is one the
#: weights detect well on the val homes.
KNOWN_MIN_PIXELS = 1500
KNOWN_MIN_MAP50 = 0.8


def test_the_shipped_files_are_small_complete_and_portable():
    folder = WEIGHTS.parent
    assert WEIGHTS.name == SHIPPED_WEIGHTS_NAME and WEIGHTS.is_file()
    assert WEIGHTS.stat().st_size < 10e6
    assert (folder / 'classes.txt').read_text().split() == list(CLASS_NAMES)
    for key in ('map50', 'map50_95', 'score_threshold', 'per_class_map50', 'config',
                'sittings', 'seconds', 'dataset', 'calibration'):
        assert key in METRICS, key
    assert set(METRICS['calibration']['recall']) <= set(CLASS_NAMES)
    text = (folder / 'metrics.json').read_text()
    assert '/work/' not in text and '/home/' not in text and '/tmp/' not in text


def test_yolo_without_a_path_is_the_shipped_detector():
    from memory_nodes.evaluation.bench_runner import make_perception
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.long_term import LongTermMemory

    detector = make_detector('yolo')
    assert detector.weights == WEIGHTS and detector.labels == list(CLASS_NAMES)
    assert detector.score_source == 'calibrated on val homes'
    perception = make_perception('yolo', None)
    assert perception.detector.weights == WEIGHTS
    assert perception.detector_profile == detector_profile_of(WEIGHTS) != ''
    memory = LongTermMemory(LongTermMemoryConfig(detector_profile='shipped'))
    assert memory.detector_profile is not None
    assert memory.detector_profile.recall_by_bin


def test_the_robot_stack_runs_the_shipped_detector_by_default():
    from memory_nodes.launch.launcher import plan

    nodes = {p.name: p.parameters for p in plan('robot_stack')}
    assert nodes['perception']['detector'] == 'yolo'
    assert nodes['perception']['yolo_weights'] == ''
    assert nodes['memory']['ltm.detector_profile'] == 'shipped'
    oracle = {p.name: p.parameters for p in plan(
        'robot_stack', arguments={'detector': 'sim_segmentation', 'detector_profile': ''})}
    assert oracle['perception']['detector'] == 'sim_segmentation'
    assert oracle['memory']['ltm.detector_profile'] == ''


def rendered_frames(n: int = 4):
    """Frames facing furniture from approach points of an unseen home, with ground truth."""
    from sim.pybullet_sim import PyBulletSimulator

    sim = PyBulletSimulator()
    try:
        sim.reset(HOME_SEED)
        truth = sim.ground_truth()
        furniture = [t.position for t in truth.values() if t.kind == 'furniture']
        types = {oid: t.object_type for oid, t in truth.items()}
        frames = []
        for w in [w for w in sim.home.waypoints if w.kind == 'approach'][:n]:
            fx, fy = min(furniture, key=lambda p: math.hypot(p[0] - w.x, p[1] - w.y))[:2]
            sim.robot.set_pose(w.x, w.y, math.atan2(fy - w.y, fx - w.x))
            frame = sim.render()
            labels = {inst: types.get(oid, '') for inst, oid in
                      frame.instance_to_object.items()}
            frames.append((frame, labels))
        return frames
    finally:
        sim.close()


def known_objects(segmentation: np.ndarray, labels: dict[int, str]) -> dict[int, str]:
    """Instance id -> type of the big, well-detected objects in a frame."""
    per_class = METRICS['per_class_map50']
    ids, counts = np.unique(segmentation[segmentation >= 0], return_counts=True)
    return {int(i): labels[int(i)] for i, c in zip(ids, counts)
            if c >= KNOWN_MIN_PIXELS and per_class.get(labels.get(int(i), ''), 0.0)
            >= KNOWN_MIN_MAP50}


@pytest.fixture(scope='module')
def frames():
    got = rendered_frames()
    assert sum(len(known_objects(f.segmentation, lab)) for f, lab in got) >= 3, \
        'the test frames show too few known objects to test anything'
    return got


def test_the_shipped_weights_find_the_known_objects_of_rendered_frames(frames):
    detector = YoloDetector(WEIGHTS)
    found = total = 0
    for frame, labels in frames:
        detections = detector.detect(frame.rgb)
        for inst, label in known_objects(frame.segmentation, labels).items():
            gt = frame.segmentation == inst
            total += 1
            found += any(d.label == label and (gt & d.mask).sum() / (gt | d.mask).sum() >= 0.5
                         for d in detections)
    assert found >= 0.75 * total, f'{found} of {total} known objects found'


@pytest.mark.ros
def test_the_perception_node_runs_the_shipped_weights_over_dds(frames, ros_env):
    """detector:=yolo with no weights path: the shipped file; observations name the known
    objects of the frames, in `map`, with the frames' stamps."""
    import time

    from embodied_memory_msgs.msg import ObjectObservationArray
    from ros_processes import NodeProcess, RosClient
    from test_perception_yolo import _publish_sim_frames

    from memory_nodes.domain.household import HOUSEHOLD
    from memory_nodes.ros import conversions as conv
    from memory_nodes.ros.qos import sensor_qos

    in_process = YoloDetector(WEIGHTS)
    expected = set()
    for frame, labels in frames:
        detected = {d.label for d in in_process.detect(frame.rgb)}
        expected |= set(known_objects(frame.segmentation, labels).values()) & detected
    assert expected
    node = NodeProcess('memory_nodes.ros.perception_node',
                       {'use_tf': False, 'detector': 'yolo', 'reliable_sensors': True},
                       ros_env)
    client = RosClient('shipped_detector_input')
    try:
        node.wait_for('perception ready: detector yolo')
        assert SHIPPED_WEIGHTS_NAME in node.output()
        got: list = []
        client.node.create_subscription(ObjectObservationArray, 'observations', got.append,
                                        sensor_qos(True))
        _publish_sim_frames(client, [f for f, _ in frames])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(got) < len(frames):
            time.sleep(0.1)
        assert node.alive(), node.output()
        assert got, node.output()
        assert all(m.header.frame_id == 'map' for m in got)
        stamps = {conv.stamp_to_seconds(m.header.stamp) for m in got}
        assert stamps <= {1.0 + i for i in range(len(frames))}
        seen = {HOUSEHOLD.canonical_type(o.label) or o.label
                for m in got for o in m.observations}
        assert expected <= seen, f'known objects {sorted(expected)}, observed {sorted(seen)}'
    finally:
        client.close()
        node.stop()


def test_weights_path_names_in_the_shipped_metrics_are_file_names():
    assert METRICS['weights'] == SHIPPED_WEIGHTS_NAME
    assert not Path(str(METRICS['config'].get('data', 'x'))).is_absolute()
