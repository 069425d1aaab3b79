"""Measure a detector's recall by class and distance, and which labels it confuses.

The memory's fusion and absence rules read the result (memory/detector_profile.py): a miss
of a class the detector finds one time in five at three metres is weak evidence that the
object has gone; a phone labelled as a remote is still one thing. Views are rendered like
the training set's (jittered viewpoints and light) in homes that no training or benchmark
run uses (generator seeds from `CALIBRATION_SEED0`), so the numbers are the detector's on
unseen homes. Every visible catalog instance of at least `min_pixels` pixels is one
chance to be found; a detection finds the instance its mask overlaps best (mask IoU >=
`match_iou`), under the right label (a hit) or another one (a confusion).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: First generator seed of the calibration homes (training uses 101+, the perception
#: bench 9001+, the task suites their own fixed seeds).
CALIBRATION_SEED0 = 7001


@dataclass
class CalibrationConfig:
    """How many homes and views, distance bins (m) and matching rules."""

    homes: int = 8
    views_per_home: int = 24
    seed: int = 0
    distance_bins: tuple[float, ...] = (1.5, 3.0)
    match_iou: float = 0.5
    min_pixels: int = 20
    #: A bin with fewer chances than this takes the class's recall over all distances.
    min_per_bin: int = 5
    #: A class with fewer chances than this gets no recall (the memory then assumes 0.5).
    min_per_class: int = 5


def _bin(distance: float, edges: tuple[float, ...]) -> int:
    return sum(1 for edge in edges if distance >= edge)


def calibrate(detector, config: CalibrationConfig,
              progress: Callable[[str], None] | None = None) -> dict:
    """The `calibration` record of `detector` (a Detector) on fresh homes."""
    from memory_nodes.tools.detector_training.dataset import ViewRenderer
    from sim.pybullet_sim import PyBulletSimulator

    say = progress or (lambda _m: None)
    n_bins = len(config.distance_bins) + 1
    chances: dict[str, list[int]] = {}
    hits: dict[str, list[int]] = {}
    confused: Counter = Counter()
    false_positives: Counter = Counter()
    seeds = [CALIBRATION_SEED0 + config.seed * 1000 + i for i in range(config.homes)]
    sim = PyBulletSimulator()
    frames = 0
    try:
        for k, home in enumerate(seeds):
            sim.reset(home)
            renderer = ViewRenderer(sim, random.Random(home))
            for _ in range(config.views_per_home):
                rgb, seg, labels = renderer.render()
                detections = detector.detect(rgb)
                frames += 1
                ids, counts = np.unique(seg[seg >= 0], return_counts=True)
                truth = {int(i): labels.get(int(i), '') for i, c in zip(ids, counts)
                         if c >= config.min_pixels and labels.get(int(i))}
                found: dict[int, str] = {}
                for det in detections:
                    best, best_iou = None, config.match_iou
                    for inst in truth:
                        gt = seg == inst
                        inter = int((gt & det.mask).sum())
                        if not inter:
                            continue
                        iou = inter / int((gt | det.mask).sum())
                        if iou >= best_iou:
                            best, best_iou = inst, iou
                    if best is None:
                        false_positives[det.label] += 1
                    elif found.get(best) != truth[best]:  # a right label wins over a wrong one
                        found[best] = det.label
                for inst, label in truth.items():
                    oid = renderer.last_objects.get(inst)
                    position = renderer.positions.get(oid)
                    distance = float(np.linalg.norm(position - renderer.last_eye)) \
                        if position is not None else 0.0
                    b = _bin(distance, config.distance_bins)
                    chances.setdefault(label, [0] * n_bins)[b] += 1
                    hits.setdefault(label, [0] * n_bins)
                    if found.get(inst) == label:
                        hits[label][b] += 1
                    elif inst in found:
                        confused[(label, found[inst])] += 1
            say(f'[{k + 1}/{len(seeds)}] home {home}: {frames} views so far')
    finally:
        sim.close()
    recall: dict[str, list[float]] = {}
    for label, n in sorted(chances.items()):
        total = sum(n)
        if total < config.min_per_class:
            continue
        overall = sum(hits[label]) / total
        recall[label] = [round(hits[label][b] / n[b], 3) if n[b] >= config.min_per_bin
                         else round(overall, 3) for b in range(n_bins)]
    confusions = sorted(([a, b, round(c / sum(chances[a]), 3)]
                         for (a, b), c in confused.items()), key=lambda e: -e[2])
    return {'distance_bins_m': list(config.distance_bins), 'recall': recall,
            'confusions': confusions, 'chances': {k: sum(v) for k, v in sorted(chances.items())},
            'false_positives': dict(sorted(false_positives.items())),
            'frames': frames, 'homes': seeds, 'match_iou': config.match_iou}


def calibrate_weights(weights: Path, config: CalibrationConfig,
                      progress: Callable[[str], None] | None = None) -> dict:
    """Calibrate the YOLO `weights`; write the record into their `metrics.json`."""
    import json

    from memory_nodes.perception.yolo_detector import YoloDetector

    detector = YoloDetector(weights)
    record = calibrate(detector, config, progress)
    record['score_threshold'] = detector.score_threshold
    path = Path(weights).parent / 'metrics.json'
    metrics = json.loads(path.read_text()) if path.exists() else {}
    metrics['calibration'] = record
    path.write_text(json.dumps(metrics, indent=1) + '\n')
    return record
