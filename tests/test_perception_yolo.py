"""The learned-perception pipeline, small: a tiny dataset, one epoch, the detector in the loop.

Two homes, a few views each, one epoch at imgsz 160 on the CPU: proves that dataset ->
training -> weights -> `YoloDetector` -> observations works end to end, and that bad
weights are refused with errors that name the file. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memory_nodes.perception.dataset import (
    CLASS_NAMES,
    DatasetConfig,
    home_seeds,
    make_dataset,
    mask_polygon,
)
from memory_nodes.perception.detection import Detection

pytest.importorskip('ultralytics')
pytest.importorskip('cv2')


@pytest.fixture(scope='module')
def tiny_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('perception') / 'dataset'
    make_dataset(DatasetConfig(out=out, homes=2, views_per_home=4, seed=3, val_fraction=0.5))
    return out


@pytest.fixture(scope='module')
def tiny_weights(tiny_dataset: Path, tmp_path_factory) -> Path:
    from memory_nodes.perception.training import TrainConfig, train

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
    from memory_nodes.perception.sim_frames import SimFramePerception, visible_instances
    from memory_nodes.perception.yolo_detector import YoloDetector
    from sim.pybullet_sim import PyBulletSimulator

    detector = YoloDetector(tiny_weights, score_threshold=0.0, imgsz=160)
    sim = PyBulletSimulator()
    try:
        sim.reset(3)
        frame = sim.render()
        detections = detector.detect(frame.rgb)
        for det in detections:
            assert isinstance(det, Detection)
            assert det.label in CLASS_NAMES
            assert det.mask.shape == (240, 320) and det.mask.dtype == bool
            assert 0.0 <= det.score <= 1.0
        perception = SimFramePerception(detector=detector)
        observations, view = perception.perceive(frame, visible_instances(
            frame, sim.ground_truth()))
        assert isinstance(observations, list)
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
    # A model built from the yaml (COCO's 80 names), saved to .pt: refused for our classes,
    # accepted when the caller opts out of the check.
    import_ultralytics()
    from ultralytics import YOLO

    coco = tmp_path / 'yolov8n-seg-config.pt'
    YOLO('yolov8n-seg.yaml').save(coco)
    with pytest.raises(WeightsError, match='does not match'):
        YoloDetector(coco)
    detector = YoloDetector(coco, class_names=None, score_threshold=0.5)
    assert isinstance(detector.detect(np.zeros((240, 320, 3), np.uint8)), list)
