"""Labelled simulator renders as an ultralytics segmentation dataset.

Many generated homes (one seed each), many viewpoints per home (place-graph waypoints with
yaw, pitch and height jitter), varied lighting (TinyRenderer's light direction, colour and
coefficients, sometimes shadows) and clutter (objects per room scaled per home). Each
visible catalog instance becomes one polygon label: the largest outer contour of its
instance mask, normalised to [0, 1]. Homes, not images, are split into train and val, so
validation homes are unseen during training. Everything follows from one seed.

Classes are every catalog type, furniture included: the memory stores receptacles
(Fridge, CounterTop, ...) from the same detections as small objects, so a detector that
only knew small objects would leave the scene graph without the places objects rest on.
"""

from __future__ import annotations

import json
import math
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pybullet as p

from memory_nodes.domain.household import HOUSEHOLD
from sim.camera import optical_pose
from sim.home_generator import LayoutSpec, generate_home
from sim.robot import CAMERA_FORWARD, CAMERA_HEIGHT, CAMERA_PITCH

#: Class list of the detector we train: the household ontology's furniture types, then its
#: small object types, in table order. Trained weights carry it (their `names`), so the
#: runtime detector reads it from the weights, never from here.
CLASS_NAMES: tuple[str, ...] = tuple(HOUSEHOLD.furniture_types() + HOUSEHOLD.object_types())

#: Clutter levels: factor applied to the generator's objects per room.
CLUTTER_LEVELS = (0.6, 1.0, 1.6)


@dataclass
class DatasetConfig:
    """What to render: homes, views per home, split, image size and label filters."""

    out: Path
    homes: int = 60
    views_per_home: int = 40
    seed: int = 0
    val_fraction: float = 0.2
    width: int = 320
    height: int = 240
    min_pixels: int = 20
    jpeg_quality: int = 92
    class_names: tuple[str, ...] = CLASS_NAMES


@dataclass
class DatasetSummary:
    """What was written: image and instance counts per split, instances per class."""

    out: Path
    images: dict[str, int] = field(default_factory=lambda: {'train': 0, 'val': 0})
    instances: dict[str, int] = field(default_factory=lambda: {'train': 0, 'val': 0})
    per_class: dict[str, int] = field(default_factory=dict)
    homes: dict[str, list[int]] = field(default_factory=lambda: {'train': [], 'val': []})

    @property
    def data_yaml(self) -> Path:
        """The ultralytics dataset file."""
        return self.out / 'data.yaml'


def home_seeds(seed: int, homes: int, val_fraction: float) -> dict[str, list[int]]:
    """Generator seeds of the train and val homes (disjoint, deterministic from `seed`)."""
    if homes < 2:
        raise ValueError(f'need at least 2 homes (one per split), got {homes}')
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f'val_fraction must be in (0, 1), got {val_fraction}')
    seeds = [seed * 10007 + 101 + i for i in range(homes)]
    random.Random(seed).shuffle(seeds)
    n_val = min(homes - 1, max(1, round(homes * val_fraction)))
    return {'train': sorted(seeds[n_val:]), 'val': sorted(seeds[:n_val])}


def mask_polygon(mask: np.ndarray, epsilon: float = 0.8) -> np.ndarray | None:
    """Largest outer contour of a bool mask as (N, 2) pixel (x, y), or None if degenerate."""
    import cv2

    m = np.ascontiguousarray(mask.astype(np.uint8))
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    best = max(contours, key=cv2.contourArea)
    if epsilon > 0:
        best = cv2.approxPolyDP(best, epsilon, True)
    poly = best.reshape(-1, 2).astype(np.float64)
    if len(poly) < 3:
        return None
    return poly


def polygon_labels(segmentation: np.ndarray, labels: dict[int, str],
                   class_index: dict[str, int], min_pixels: int) -> list[str]:
    """Ultralytics segment label lines ('cls x1 y1 x2 y2 ...', normalised) for one image."""
    h, w = segmentation.shape
    ids, counts = np.unique(segmentation[segmentation >= 0], return_counts=True)
    lines = []
    for inst, count in zip(ids.tolist(), counts.tolist()):
        label = labels.get(int(inst))
        if label not in class_index or count < min_pixels:
            continue
        poly = mask_polygon(segmentation == inst)
        if poly is None:
            continue
        # Pixel corners: a contour through pixel centres spans [0, w - 1]; normalise by w.
        xs = np.clip((poly[:, 0] + 0.5) / w, 0.0, 1.0)
        ys = np.clip((poly[:, 1] + 0.5) / h, 0.0, 1.0)
        coords = ' '.join(f'{x:.5f} {y:.5f}' for x, y in zip(xs, ys))
        lines.append(f'{class_index[label]} {coords}')
    return lines


def random_lighting(rng: random.Random) -> dict[str, object]:
    """Light arguments for getCameraImage; about a quarter of views keep the default light."""
    if rng.random() < 0.25:
        return {}
    az, el = rng.uniform(0, 2 * math.pi), rng.uniform(0.3, 1.4)
    warm = rng.uniform(-0.25, 0.25)
    return {
        'lightDirection': [math.cos(az) * math.cos(el), math.sin(az) * math.cos(el),
                           math.sin(el)],
        'lightColor': [min(1.0, 0.85 + warm), 0.85 + rng.uniform(-0.1, 0.1),
                       min(1.0, 0.85 - warm)],
        'lightAmbientCoeff': rng.uniform(0.35, 0.75),
        'lightDiffuseCoeff': rng.uniform(0.3, 0.8),
        'lightSpecularCoeff': rng.uniform(0.0, 0.3),
        'shadow': int(rng.random() < 0.3),
    }


def colour_jitter(rgb: np.ndarray, rng: random.Random) -> np.ndarray:
    """Gain, bias and a little sensor noise (what the renderer's light does not vary)."""
    gain = rng.uniform(0.85, 1.15)
    bias = rng.uniform(-12, 12)
    noise_rng = np.random.default_rng(rng.randrange(2 ** 31))
    out = rgb.astype(np.float32) * gain + bias
    out += noise_rng.normal(0.0, rng.uniform(0.0, 4.0), size=out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


class ViewRenderer:
    """Renders jittered views of one home: lit RGB plus catalog labels per instance."""

    def __init__(self, sim, rng: random.Random) -> None:
        self.sim = sim
        self.rng = rng
        truth = sim.ground_truth()
        self.types = {oid: t.object_type for oid, t in truth.items()}
        self.furniture = [(t.position[0], t.position[1]) for t in truth.values()
                          if t.kind == 'furniture']
        self.positions = {oid: np.asarray(t.position, dtype=float) for oid, t in truth.items()}
        #: The camera's position (map) of the last view rendered.
        self.last_eye = np.zeros(3)
        #: Instance id -> object id of the last view rendered.
        self.last_objects: dict[int, object] = {}

    def _viewpoint(self) -> tuple[float, float, float, float, float]:
        rng = self.rng
        # Objects rest on furniture, so most views face furniture from its approach point.
        approach = [w for w in self.sim.home.waypoints if w.kind == 'approach']
        pool = approach if approach and rng.random() < 0.7 else self.sim.home.waypoints
        w = rng.choice(pool)
        if w.kind == 'approach' and self.furniture:
            fx, fy = min(self.furniture, key=lambda f: math.hypot(f[0] - w.x, f[1] - w.y))
            yaw = math.atan2(fy - w.y, fx - w.x) + rng.uniform(-0.5, 0.5)
        else:
            yaw = rng.uniform(-math.pi, math.pi)
        x, y = w.x + rng.uniform(-0.15, 0.15), w.y + rng.uniform(-0.15, 0.15)
        pitch = CAMERA_PITCH + math.radians(rng.uniform(-12, 15))
        z = CAMERA_HEIGHT + rng.uniform(-0.1, 0.05)
        return x, y, yaw, pitch, z

    def render(self) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        """One view: (rgb, instance segmentation, instance id -> type)."""
        x, y, yaw, pitch, z = self._viewpoint()
        self.sim.robot.set_pose(x, y, yaw)
        pose = optical_pose(x + CAMERA_FORWARD * math.cos(yaw),
                            y + CAMERA_FORWARD * math.sin(yaw), z, yaw, pitch)
        frame = self.sim.camera.render(pose, 0.0)
        self.last_eye = pose[:3, 3].copy()
        light = random_lighting(self.rng)
        rgb = frame.rgb
        if light:
            cam = self.sim.camera
            eye = pose[:3, 3]
            view = p.computeViewMatrix(eye.tolist(), (eye + pose[:3, 2]).tolist(),
                                       (-pose[:3, 1]).tolist(), physicsClientId=cam.cid)
            rgba = p.getCameraImage(cam.width, cam.height, view, cam._proj,
                                    renderer=p.ER_TINY_RENDERER, physicsClientId=cam.cid,
                                    flags=p.ER_NO_SEGMENTATION_MASK, **light)[2]
            rgb = np.asarray(rgba, dtype=np.uint8).reshape(cam.height, cam.width, 4)[:, :, :3]
        rgb = colour_jitter(rgb, self.rng)
        labels = {inst: self.types.get(oid, '') for inst, oid in
                  frame.instance_to_object.items()}
        self.last_objects = dict(frame.instance_to_object)
        return rgb, frame.segmentation, labels


def _clutter_layout(level: float) -> LayoutSpec:
    layout = LayoutSpec()
    layout.objects_per_room = {k: max(1, round(v * level))
                               for k, v in layout.objects_per_room.items()}
    return layout


def write_data_yaml(out: Path, class_names: tuple[str, ...]) -> Path:
    """data.yaml for ultralytics (absolute root, so it works from any working directory)."""
    lines = [f'path: {out.resolve()}', 'train: images/train', 'val: images/val',
             f'nc: {len(class_names)}', 'names:']
    lines += [f'  {i}: {name}' for i, name in enumerate(class_names)]
    path = out / 'data.yaml'
    path.write_text('\n'.join(lines) + '\n')
    return path


def make_dataset(config: DatasetConfig,
                 progress: Callable[[str], None] | None = None) -> DatasetSummary:
    """Render and write the dataset described by `config`; returns what was written."""
    from PIL import Image

    from sim.pybullet_sim import PyBulletSimulator

    if config.views_per_home < 1:
        raise ValueError(f'views_per_home must be >= 1, got {config.views_per_home}')
    out = Path(config.out)
    splits = home_seeds(config.seed, config.homes, config.val_fraction)
    class_index = {name: i for i, name in enumerate(config.class_names)}
    for split in splits:
        (out / 'images' / split).mkdir(parents=True, exist_ok=True)
        (out / 'labels' / split).mkdir(parents=True, exist_ok=True)
    summary = DatasetSummary(out=out, homes=splits)
    order = [(s, split) for split in ('train', 'val') for s in splits[split]]
    sim = PyBulletSimulator(config.width, config.height)
    try:
        for k, (home_seed, split) in enumerate(order):
            rng = random.Random(home_seed * 7919 + config.seed)
            level = rng.choice(CLUTTER_LEVELS)
            sim.reset(generate_home(home_seed, _clutter_layout(level)))
            renderer = ViewRenderer(sim, rng)
            n_inst = 0
            for v in range(config.views_per_home):
                rgb, seg, labels = renderer.render()
                lines = polygon_labels(seg, labels, class_index, config.min_pixels)
                stem = f'home{home_seed}_{v:03d}'
                Image.fromarray(rgb).save(out / 'images' / split / f'{stem}.jpg',
                                          quality=config.jpeg_quality)
                (out / 'labels' / split / f'{stem}.txt').write_text(
                    '\n'.join(lines) + ('\n' if lines else ''))
                for line in lines:
                    name = config.class_names[int(line.split(' ', 1)[0])]
                    summary.per_class[name] = summary.per_class.get(name, 0) + 1
                n_inst += len(lines)
            summary.images[split] += config.views_per_home
            summary.instances[split] += n_inst
            if progress is not None:
                progress(f'[{k + 1}/{len(order)}] home {home_seed} ({split}, clutter '
                         f'{level}): {config.views_per_home} views, {n_inst} instances')
    finally:
        sim.close()
    write_data_yaml(out, config.class_names)
    manifest = {'seed': config.seed, 'homes': splits, 'views_per_home': config.views_per_home,
                'val_fraction': config.val_fraction, 'size': [config.width, config.height],
                'images': summary.images, 'instances': summary.instances,
                'per_class': dict(sorted(summary.per_class.items())),
                'classes': list(config.class_names)}
    (out / 'manifest.json').write_text(json.dumps(manifest, indent=1) + '\n')
    return summary


def print_progress(message: str) -> None:
    """Progress to stdout, flushed (long jobs run under nohup)."""
    print(message, flush=True)
    sys.stdout.flush()
