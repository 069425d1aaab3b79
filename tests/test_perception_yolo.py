"""The learned-perception pipeline, small: a tiny dataset, one epoch, the detector in the loop.

Two homes, a few views each, one epoch at imgsz 160 on the CPU: proves that dataset ->
training -> weights -> `YoloDetector` -> observations works end to end, and that bad
weights are refused with errors that name the file. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import cv2  # noqa: F401 - pinned by make setup: a missing one is a broken setup, not a skip
import numpy as np
import pytest

from memory_nodes.perception.detection import Detection
from memory_nodes.perception.ultralytics_offline import import_ultralytics
from memory_nodes.tools.detector_training.dataset import (
    CLASS_NAMES,
    DatasetConfig,
    home_seeds,
    make_dataset,
    mask_polygon,
)

# Offline before anything imports ultralytics; pinned, so an ImportError fails the file.
import_ultralytics()


@pytest.fixture(scope='module')
def tiny_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('perception') / 'dataset'
    make_dataset(DatasetConfig(out=out, homes=2, views_per_home=4, seed=3, val_fraction=0.5))
    return out


@pytest.fixture(scope='module')
def tiny_weights(tiny_dataset: Path, tmp_path_factory) -> Path:
    from memory_nodes.tools.detector_training.training import TrainConfig, train

    run = tmp_path_factory.mktemp('run')
    result = train(TrainConfig(data=tiny_dataset / 'data.yaml', out=run, epochs=1, imgsz=160,
                               batch=4, workers=0, close_mosaic=0))
    assert result.weights.is_file()
    assert result.curves is not None and result.curves.is_file()
    assert 0.0 <= result.map50 <= 1.0
    assert (run / 'metrics.json').is_file()
    return result.weights


def test_split_is_by_home_and_deterministic():
    a, b = home_seeds(5, 10, 0.2), home_seeds(5, 10, 0.2)
    assert a == b
    assert len(a['val']) == 2 and len(a['train']) == 8
    assert not set(a['train']) & set(a['val'])
    with pytest.raises(ValueError):
        home_seeds(5, 1, 0.2)


def test_mask_polygon_of_a_square():
    mask = np.zeros((20, 30), bool)
    mask[5:10, 8:18] = True
    mask[15, 2] = True  # a stray pixel: the largest contour wins
    poly = mask_polygon(mask)
    assert poly is not None
    assert poly[:, 0].min() == 8 and poly[:, 0].max() == 17
    assert poly[:, 1].min() == 5 and poly[:, 1].max() == 9


def test_dataset_layout_and_labels(tiny_dataset: Path):
    text = (tiny_dataset / 'data.yaml').read_text()
    assert f'nc: {len(CLASS_NAMES)}' in text and '  0: Fridge' in text
    train_imgs = sorted((tiny_dataset / 'images' / 'train').glob('*.jpg'))
    val_imgs = sorted((tiny_dataset / 'images' / 'val').glob('*.jpg'))
    assert len(train_imgs) == 4 and len(val_imgs) == 4
    homes = {split: {p.name.split('_')[0] for p in imgs}
             for split, imgs in (('train', train_imgs), ('val', val_imgs))}
    assert not homes['train'] & homes['val']
    lines = [line for p in (tiny_dataset / 'labels').rglob('*.txt')
             for line in p.read_text().splitlines()]
    assert lines
    for line in lines:
        cls, *coords = line.split()
        assert 0 <= int(cls) < len(CLASS_NAMES)
        assert len(coords) >= 6 and len(coords) % 2 == 0
        assert all(0.0 <= float(c) <= 1.0 for c in coords)


def test_dataset_is_deterministic(tmp_path: Path):
    for name in ('a', 'b'):
        make_dataset(DatasetConfig(out=tmp_path / name, homes=2, views_per_home=2, seed=9,
                                   val_fraction=0.5))
    for label in (tmp_path / 'a' / 'labels').rglob('*.txt'):
        twin = tmp_path / 'b' / label.relative_to(tmp_path / 'a')
        assert twin.read_text() == label.read_text()


def test_detector_on_a_sim_frame_and_in_perception(tiny_weights: Path):
    from memory_nodes.evaluation.sim_frames import SimFramePerception
    from memory_nodes.perception.yolo_detector import YoloDetector
    from sim.camera import visible_instances
    from sim.pybullet_sim import PyBulletSimulator

    # At threshold 0 every candidate the model proposes is kept: even a one-epoch model
    # proposes some, so the checks below run on real detections.
    detector = YoloDetector(tiny_weights, score_threshold=0.0, imgsz=160)
    sim = PyBulletSimulator()
    try:
        sim.reset(3)
        frame = sim.render()
        detections = detector.detect(frame.rgb)
        assert detections, 'a threshold of 0 kept no detection'
        assert len(detections) <= detector.max_detections
        for det in detections:
            assert isinstance(det, Detection)
            assert det.label in CLASS_NAMES
            assert det.mask.shape == (240, 320) and det.mask.dtype == bool
            assert int(det.mask.sum()) >= detector.min_pixels
            assert 0.0 <= det.score <= 1.0

        # The score threshold keeps exactly the detections scoring above it.
        scores = sorted(d.score for d in detections)
        cut = scores[len(scores) // 2]
        above = sorted((d.label, d.score) for d in detections if d.score > cut)
        assert 0 < len(above) < len(detections)
        strict = YoloDetector(tiny_weights, score_threshold=cut, imgsz=160)
        kept = sorted((d.label, d.score) for d in strict.detect(frame.rgb))
        assert [label for label, _ in kept] == [label for label, _ in above]
        assert [score for _, score in kept] == pytest.approx([score for _, score in above])

        perception = SimFramePerception(detector=detector)
        observations, view = perception.perceive(frame, visible_instances(
            frame, sim.ground_truth()))
        # Every observation is one of the detector's masks, back-projected with depth.
        assert observations and len(observations) <= len(detections)
        assert {o.label for o in observations} <= {d.label for d in detections}
    finally:
        sim.close()
    with pytest.raises(ValueError, match='RGB'):
        detector.detect(np.zeros((240, 320), np.uint8))


def test_missing_and_corrupt_weights_name_the_path(tmp_path: Path):
    from memory_nodes.perception.yolo_detector import WeightsError, YoloDetector

    missing = tmp_path / 'nope' / 'best.pt'
    with pytest.raises(WeightsError, match=str(missing)):
        YoloDetector(missing)
    corrupt = tmp_path / 'corrupt.pt'
    corrupt.write_bytes(b'not a checkpoint' * 10)
    with pytest.raises(WeightsError, match=str(corrupt)):
        YoloDetector(corrupt)


def test_class_list_must_match_the_weights(tiny_weights: Path, tmp_path: Path):
    from memory_nodes.perception.ultralytics_offline import import_ultralytics
    from memory_nodes.perception.yolo_detector import WeightsError, YoloDetector

    with pytest.raises(WeightsError, match='does not match'):
        YoloDetector(tiny_weights, class_names=CLASS_NAMES[:-1])
    with pytest.raises(WeightsError, match='order differs'):
        YoloDetector(tiny_weights, class_names=tuple(reversed(CLASS_NAMES)))
    # A model built from the yaml (80 classes named '0' to '79'), saved to .pt: refused for
    # our classes, accepted when the caller opts out of the check.
    import_ultralytics()
    from ultralytics import YOLO

    coco = tmp_path / 'yolov8n-seg-config.pt'
    YOLO('yolov8n-seg.yaml').save(coco)
    with pytest.raises(WeightsError, match='does not match'):
        YoloDetector(coco)
    detector = YoloDetector(coco, ontology=None, score_threshold=0.0)
    assert detector.labels == [str(i) for i in range(80)]
    # The labels of its detections are the weights' own names.
    detections = detector.detect(np.full((240, 320, 3), 128, np.uint8))
    assert detections and {d.label for d in detections} <= set(detector.labels)


def _publish_sim_frames(client, frames, stamp0: float = 1.0) -> None:
    """Publish rendered simulator frames as the sim bridge would (rgb, depth, info, pose)."""
    import time

    from geometry_msgs.msg import PoseStamped
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import Header

    from memory_nodes.ros import conversions as conv
    from memory_nodes.ros.qos import sensor_qos

    # Reliable, as the sim stack runs it: best-effort drops large images on loopback.
    q = sensor_qos(True)
    pubs = {name: client.node.create_publisher(t, topic, q) for name, t, topic in [
        ('rgb', Image, 'rgb/image_raw'), ('depth', Image, 'depth/image_raw'),
        ('info', CameraInfo, 'camera_info'), ('pose', PoseStamped, 'camera/pose')]}
    time.sleep(1.5)
    for i, frame in enumerate(frames):
        stamp = stamp0 + i
        header = Header(stamp=conv.seconds_to_stamp(stamp), frame_id='head_camera_optical_frame')
        h, w = frame.depth.shape
        pubs['rgb'].publish(conv.image_to_msg(frame.rgb, 'rgb8', header))
        pubs['depth'].publish(conv.image_to_msg(frame.depth.astype(np.float32), '32FC1',
                                                header))
        pubs['info'].publish(conv.camera_info_to_msg(frame.intrinsics, w, h, header))
        pose = PoseStamped(pose=conv.matrix_to_pose(frame.camera_to_map))
        pose.header = Header(stamp=conv.seconds_to_stamp(stamp), frame_id='map')
        pubs['pose'].publish(pose)
        time.sleep(0.8)


@pytest.mark.ros
def test_perception_node_runs_the_yolo_weights_over_dds(tiny_weights: Path, tmp_path: Path,
                                                        ros_env: dict[str, str]):
    """The perception node in its own process with detector=yolo: frames in, observations out.

    The tiny model scores everything near 0, so the node runs at threshold 0 (every
    candidate kept): every good frame goes through the learned detector and comes back as
    an ObjectObservationArray in `map` with the frame's stamp, carrying observations
    labelled with the weights' classes; and a missing weights file stops the node with an
    error that names the path. (Malformed frames are refused before any detector runs:
    test_node_resilience.)
    """
    import time

    from embodied_memory_msgs.msg import ObjectObservationArray
    from ros_processes import NodeProcess, RosClient

    from memory_nodes.ros import conversions as conv
    from memory_nodes.ros.qos import sensor_qos
    from sim.pybullet_sim import PyBulletSimulator

    env = ros_env
    sim = PyBulletSimulator()
    try:
        sim.reset(3)
        frames = []
        for w in [w for w in sim.home.waypoints if w.kind == 'approach'][:3]:
            sim.robot.set_pose(w.x, w.y, 0.0)
            frames.append(sim.render())
    finally:
        sim.close()

    missing = tmp_path / 'no_such_dir' / 'best.pt'
    bad = NodeProcess('memory_nodes.ros.perception_node',
                      {'use_tf': False, 'detector': 'yolo', 'yolo_weights': str(missing)}, env)
    node = NodeProcess('memory_nodes.ros.perception_node',
                       {'use_tf': False, 'detector': 'yolo', 'yolo_weights': str(tiny_weights),
                        'yolo_score_threshold': 0.0, 'reliable_sensors': True}, env)
    client = RosClient('yolo_perception_input')
    try:
        node.wait_for('perception ready: detector yolo')
        got = []
        client.node.create_subscription(ObjectObservationArray, 'observations', got.append,
                                        sensor_qos(True))
        _publish_sim_frames(client, frames)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(got) < len(frames):
            time.sleep(0.1)
        assert node.alive(), node.output()
        stats = client.stats('perception_stats')
        assert stats['worker']['processed'] >= len(frames) - 1, stats
        assert stats['worker']['failed'] == 0, node.output()
        assert got, f'no ObjectObservationArray came back; stats {stats}\n{node.output()}'
        stamps = {conv.stamp_to_seconds(m.header.stamp) for m in got}
        assert stamps <= {1.0 + i for i in range(len(frames))}
        assert all(m.header.frame_id == 'map' for m in got)
        labels = [obs.label for m in got for obs in m.observations]
        assert labels, 'threshold 0 and still no observation came back'
        assert set(labels) <= set(CLASS_NAMES)
        deadline = time.monotonic() + 30
        while bad.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not bad.alive(), 'a node with missing weights kept running'
        assert bad.proc.returncode != 0
        assert str(missing) in bad.output(), bad.output()
    finally:
        client.close()
        node.stop()
        bad.stop()


def test_score_threshold_calibrated_on_val_homes_is_read_next_to_the_weights(
        tiny_weights: Path, tmp_path: Path):
    import json
    import shutil

    from memory_nodes.perception.yolo_detector import (
        CALIBRATED_RANGE,
        DEFAULT_SCORE_THRESHOLD,
        YoloDetector,
        calibrated_threshold,
    )

    weights = tmp_path / 'best.pt'
    shutil.copyfile(tiny_weights, weights)
    assert calibrated_threshold(weights) is None          # no metrics.json
    assert YoloDetector(weights).score_threshold == DEFAULT_SCORE_THRESHOLD
    metrics = tmp_path / 'metrics.json'
    metrics.write_text(json.dumps({'score_threshold': 0.27}))
    detector = YoloDetector(weights)
    assert detector.score_threshold == pytest.approx(0.27)
    assert detector.score_source == 'calibrated on val homes'
    assert YoloDetector(weights, score_threshold=0.6).score_threshold == 0.6
    metrics.write_text(json.dumps({'score_threshold': 0.001}))  # a barely trained model
    assert calibrated_threshold(weights) == CALIBRATED_RANGE[0]
    for junk in ('{"score_threshold": "high"}', '{"score_threshold": 1.5}', 'not json', '[]'):
        metrics.write_text(junk)
        assert calibrated_threshold(weights) is None, junk
    with pytest.raises(ValueError, match='score_threshold'):
        YoloDetector(weights, score_threshold=1.2)


def test_best_f1_threshold_is_where_the_mean_f1_over_classes_peaks():
    from types import SimpleNamespace

    from memory_nodes.tools.detector_training.training import best_f1_threshold

    px = np.linspace(0, 1, 1000)
    f1 = np.stack([np.exp(-((px - 0.3) / 0.3) ** 2), np.exp(-((px - 0.5) / 0.3) ** 2)])
    assert best_f1_threshold(SimpleNamespace(seg=SimpleNamespace(f1_curve=f1, px=px))) \
        == pytest.approx(0.4, abs=0.01)
    zero = SimpleNamespace(seg=SimpleNamespace(f1_curve=np.zeros((2, 1000)), px=px))
    assert best_f1_threshold(zero) is None                # nothing detected: no calibration
    assert best_f1_threshold(SimpleNamespace()) is None


def test_class_list_does_not_depend_on_what_was_imported_before():
    """The AI2-THOR types are a separate ontology; the detector's classes stay put."""
    import subprocess
    import sys

    import sim.ai2thor.scene_importer  # noqa: F401 - the AI2-THOR ontology is built
    from sim.ai2thor.extra_types import EXTRA_TYPES
    from sim.catalog import CATALOG

    assert all(spec.object_type in CATALOG for spec in EXTRA_TYPES)
    assert not {spec.object_type for spec in EXTRA_TYPES} & set(CLASS_NAMES)
    fresh = subprocess.run(
        [sys.executable, '-c', 'from memory_nodes.tools.detector_training.dataset import '
         'CLASS_NAMES; print(",".join(CLASS_NAMES))'],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    assert fresh.stdout.strip().split(',') == list(CLASS_NAMES)


def test_a_sitting_stops_early_and_the_run_resumes_where_it_stopped(
        tiny_dataset: Path, tmp_path: Path):
    """`--sitting-epochs 1` then `--resume`: one run, two sittings, every epoch once."""
    import csv
    import json

    from memory_nodes.tools.detector_training.training import (
        TrainConfig,
        checkpoint_epoch,
        train,
    )

    run = tmp_path / 'run'
    config = dict(data=tiny_dataset / 'data.yaml', out=run, epochs=2, imgsz=160, batch=4,
                  workers=0, close_mosaic=0)
    first = train(TrainConfig(**config, stop_after_epochs=1))
    last = run / 'train' / 'weights' / 'last.pt'
    assert not first.finished and first.weights == last
    assert checkpoint_epoch(last) == 0                 # one epoch done, run unfinished
    assert not (run / 'metrics.json').exists()
    second = train(TrainConfig(**config, resume=True))
    assert second.finished and second.weights == run / 'best.pt'
    with (run / 'train' / 'results.csv').open() as f:
        epochs = [int(float({k.strip(): v for k, v in row.items()}['epoch']))
                  for row in csv.DictReader(f)]
    assert epochs == [1, 2]                             # epoch 2 came after epoch 1, once
    metrics = json.loads((run / 'metrics.json').read_text())
    assert [s['start'] for s in metrics['sittings']] == ['from scratch', 'resumed']
    assert metrics['seconds'] == pytest.approx(sum(s['seconds'] for s in metrics['sittings']),
                                               abs=0.5)
    assert len(metrics['epoch_map50']) == 2


def test_more_training_starts_from_given_weights_and_ships(
        tiny_dataset: Path, tiny_weights: Path, tmp_path: Path):
    """`--resume WEIGHTS` without an unfinished run: new epochs from those weights; then
    `perception ship` copies weights, metrics (no machine paths) and classes."""
    import json

    import torch

    from memory_nodes.perception.yolo_detector import SHIPPED_WEIGHTS_NAME, YoloDetector
    from memory_nodes.tools.detector_training.shipping import ship_run
    from memory_nodes.tools.detector_training.training import TrainConfig, train

    run = tmp_path / 'more'
    # Batch 2: two steps (the first step of a run has a learning rate of 0 in warm-up).
    result = train(TrainConfig(data=tiny_dataset / 'data.yaml', out=run, epochs=1, imgsz=160,
                               batch=2, workers=0, close_mosaic=0, init_weights=tiny_weights,
                               resume=True))
    assert result.finished
    metrics = json.loads((run / 'metrics.json').read_text())
    assert metrics['sittings'][0]['start'] == f'from {tiny_weights.name}'
    # The new weights differ from the ones training started from (it trained).
    before = torch.load(tiny_weights, map_location='cpu', weights_only=False)['model']
    after = torch.load(result.weights, map_location='cpu', weights_only=False)['model']
    assert any(not torch.equal(a.float(), b.float()) for a, b in
               zip(before.state_dict().values(), after.state_dict().values()))

    shipped = ship_run(run, tmp_path / 'models' / 'detector', tiny_dataset / 'data.yaml')
    assert shipped.weights.name == SHIPPED_WEIGHTS_NAME and shipped.weights.is_file()
    assert shipped.classes == list(CLASS_NAMES)
    folder = shipped.weights.parent
    assert (folder / 'classes.txt').read_text().split() == list(CLASS_NAMES)
    text = (folder / 'metrics.json').read_text()
    assert str(tmp_path) not in text and str(tiny_dataset) not in text
    assert json.loads(text)['dataset']['homes']['val']
    assert YoloDetector(shipped.weights).labels == list(CLASS_NAMES)
    with pytest.raises(FileNotFoundError, match='not a finished training run'):
        ship_run(tmp_path / 'nothing')


def test_calibration_counts_every_visible_instance_and_feeds_the_memory(
        tiny_weights: Path, tmp_path: Path):
    """`perception calibrate`: recall per class and distance bin into metrics.json, which a
    memory then loads as its detector profile."""
    import json
    import shutil

    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.long_term import LongTermMemory
    from memory_nodes.perception.yolo_detector import detector_profile_of
    from memory_nodes.tools.detector_training.calibration import (
        CalibrationConfig,
        calibrate,
        calibrate_weights,
    )

    config = CalibrationConfig(homes=1, views_per_home=3, min_per_class=1, min_per_bin=1)
    # A detector that finds nothing: recall 0 for every class that was visible.
    blind = type('Blind', (), {'name': 'blind', 'detect': lambda self, rgb, **_: []})()
    record = calibrate(blind, config)
    assert record['frames'] == 3 and record['recall']
    assert all(v == 0.0 for row in record['recall'].values() for v in row)
    assert all(len(row) == len(config.distance_bins) + 1 for row in record['recall'].values())
    assert record['confusions'] == [] and sum(record['chances'].values()) > 0

    weights = tmp_path / 'best.pt'
    shutil.copyfile(tiny_weights, weights)
    assert detector_profile_of(weights) == ''
    calibrate_weights(weights, config)
    profile = detector_profile_of(weights)
    assert profile == str(tmp_path / 'metrics.json')
    assert 'calibration' in json.loads(Path(profile).read_text())
    memory = LongTermMemory(LongTermMemoryConfig(detector_profile=profile))
    assert memory.detector_profile is not None
