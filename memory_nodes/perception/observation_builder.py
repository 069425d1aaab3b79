"""Detections + one RGB-D frame -> ObjectObservations in `map` (what memory fuses).

This is the perception pipeline minus the detector: back-project each detection's mask
with the frame's depth and camera pose, clean the cloud, and attach label, score, visible
states and the frame's stamp. Detections with too few valid depth points are dropped and
counted by reason.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from memory_nodes.memory.observation import CameraView, ObjectObservation
from memory_nodes.perception.backprojection import (
    BackprojectionConfig,
    backproject,
    clean_cloud,
    pixel_rays,
)
from memory_nodes.perception.detection import Detection


@dataclass
class RgbdFrame:
    """One synchronized RGB-D frame with its camera geometry (core type, no ROS)."""

    rgb: np.ndarray
    depth: np.ndarray
    intrinsics: np.ndarray
    camera_to_map: np.ndarray
    stamp: float
    frame_id: str = 'map'

    def validate(self) -> None:
        """Raise ValueError naming what is wrong with the frame."""
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3:
            raise ValueError(f'rgb must be (H, W, 3), got {self.rgb.shape}')
        if self.depth.shape != self.rgb.shape[:2]:
            raise ValueError(f'depth {self.depth.shape} does not match rgb {self.rgb.shape[:2]}')
        if self.rgb.size == 0:
            raise ValueError('empty image')
        k = np.asarray(self.intrinsics, dtype=float)
        if k.shape != (3, 3) or not np.isfinite(k).all() or k[0, 0] <= 0 or k[1, 1] <= 0:
            raise ValueError(f'intrinsics must be a valid 3x3 K, got {k.tolist()}')
        pose = np.asarray(self.camera_to_map, dtype=float)
        if pose.shape != (4, 4) or not np.isfinite(pose).all():
            raise ValueError('camera pose must be a finite 4x4 matrix')

    def camera_view(self, cfg: BackprojectionConfig) -> CameraView:
        """The frame as the long-term memory's absence-evidence input."""
        return CameraView(intrinsics=np.asarray(self.intrinsics, float),
                          camera_to_map=np.asarray(self.camera_to_map, float),
                          depth=self.depth, stamp=self.stamp, min_range=cfg.min_depth,
                          max_range=cfg.max_depth)


@dataclass
class ObservationBuilder:
    """Turns detections of one frame into ObjectObservations; counts what it drops."""

    config: BackprojectionConfig = field(default_factory=BackprojectionConfig)
    dropped: Counter = field(default_factory=Counter)
    _rays: np.ndarray | None = None
    _rays_key: tuple = ()

    def _rays_for(self, frame: RgbdFrame) -> np.ndarray:
        key = (frame.depth.shape, tuple(np.asarray(frame.intrinsics, float).ravel()))
        if self._rays is None or key != self._rays_key:
            self._rays = pixel_rays(frame.depth.shape[0], frame.depth.shape[1],
                                    frame.intrinsics)
            self._rays_key = key
        return self._rays

    def build(self, frame: RgbdFrame, detections: list[Detection],
              mask_edge_px: int = 0) -> list[ObjectObservation]:
        """Observations in the frame's `frame_id` (normally `map`).

        `mask_edge_px`: the detector's mask erosion at depth edges (its `mask_edge_px`),
        used unless the config sets `depth_edge_px`.
        """
        frame.validate()
        rays = self._rays_for(frame)
        cfg = self.config
        if cfg.depth_edge_px is None:
            cfg = dataclasses.replace(cfg, depth_edge_px=max(0, int(mask_edge_px)))
        out = []
        for det in detections:
            if det.mask.shape != frame.depth.shape:
                self.dropped['mask_size_mismatch'] += 1
                continue
            pts = backproject(frame.depth, det.mask, frame.intrinsics, frame.camera_to_map,
                              cfg, rays)
            if len(pts) < self.config.min_points:
                self.dropped['too_few_depth_points'] += 1
                continue
            pts = clean_cloud(pts, self.config)
            if len(pts) < self.config.min_points:
                self.dropped['too_few_points_after_cleaning'] += 1
                continue
            out.append(ObjectObservation(
                label=det.label, score=float(det.score), points=pts, stamp=frame.stamp,
                frame_id=frame.frame_id,
                track_id=det.instance_id, states=dict(det.states)))
        return out
