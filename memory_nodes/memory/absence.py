"""Absence evidence: objects that should be in view but were not detected fade out.

For each confirmed object near the camera we project a few of its points into the
depth image. A point counts as "should be visible" when it is inside the frustum and
the depth image does not show something closer in front of it (then it is occluded,
which is no evidence at all). If enough of the object should be visible and it was not
observed, its confidence decays -- faster when the camera sees *through* where it was
(the space is empty) than when a surface is still there (maybe a detector miss). Below
a threshold the node is marked absent with a change event; a later observation brings
it back. With a detector profile (its measured recall per class and distance) a miss with
a surface still there weighs as much as the detector's chance of having found the object:
a fork three metres away that the detector finds one time in five hardly fades.
"""

from __future__ import annotations

import numpy as np

from memory_nodes.memory.config import AbsenceConfig
from memory_nodes.memory.detector_profile import DetectorProfile
from memory_nodes.memory.observation import CameraView
from memory_nodes.memory.scene_graph import SceneGraph, SceneNode


class AbsenceTracker:
    """Applies frustum + depth-occlusion absence evidence to the scene graph."""

    def __init__(self, graph: SceneGraph, config: AbsenceConfig | None = None,
                 profile: DetectorProfile | None = None) -> None:
        self.graph = graph
        self.config = config or AbsenceConfig()
        self.profile = profile

    def miss_weight(self, node: SceneNode, distance: float) -> float:
        """How much a miss with a surface still in place counts (the decay's exponent).

        The detector's measured recall for the node's class at this distance when
        `weight_by_recall` and a profile has it; 0.5 otherwise.
        """
        if self.config.weight_by_recall and self.profile is not None:
            recall = self.profile.recall(node.label, distance)
            if recall is not None:
                return recall
        return 0.5

    def _samples(self, node: SceneNode) -> np.ndarray:
        n = self.config.sample_points
        if node.points is None or len(node.points) == 0:
            return node.position.reshape(1, 3)
        idx = np.linspace(0, len(node.points) - 1, min(n, len(node.points))).astype(int)
        return np.vstack([node.points[idx].astype(np.float64), node.position])

    def visibility(self, node: SceneNode, view: CameraView) -> tuple[float, float]:
        """(fraction that should be visible, fraction seen through) of `node`'s samples."""
        pts = self._samples(node)
        t = np.asarray(view.camera_to_map, dtype=float)
        cam = (pts - t[:3, 3]) @ t[:3, :3]
        k = np.asarray(view.intrinsics, dtype=float)
        depth = np.asarray(view.depth)
        h, w = depth.shape[:2]
        z = cam[:, 2]
        in_range = (z > view.min_range) & (z < view.max_range)
        if not in_range.any():
            return 0.0, 0.0
        zs = np.where(in_range, z, 1.0)
        u = np.round(k[0, 0] * cam[:, 0] / zs + k[0, 2]).astype(int)
        v = np.round(k[1, 1] * cam[:, 1] / zs + k[1, 2]).astype(int)
        b = self.config.image_border
        inside = in_range & (u >= b) & (u < w - b) & (v >= b) & (v < h - b)
        if not inside.any():
            return 0.0, 0.0
        measured = np.full(len(pts), np.nan)
        measured[inside] = depth[v[inside], u[inside]]
        valid = inside & np.isfinite(measured) & (measured > 0)
        margin = self.config.occlusion_margin
        visible = valid & (measured >= z - margin)
        through = valid & (measured > z + margin)
        n = len(pts)
        return float(visible.sum()) / n, float(through.sum()) / n

    def update(self, view: CameraView, observed: set[str]) -> list[str]:
        """Apply one frame of evidence; return ids that just became absent."""
        cfg = self.config
        graph = self.graph
        depth = np.asarray(view.depth)
        if depth.ndim != 2 or depth.size == 0:
            raise ValueError(f'camera view depth must be a 2-D image, got shape {depth.shape}')
        if np.asarray(view.intrinsics).shape != (3, 3) or \
                np.asarray(view.camera_to_map).shape != (4, 4):
            raise ValueError('camera view needs a 3x3 K and a 4x4 pose')
        cam_pos = np.asarray(view.camera_to_map, dtype=float)[:3, 3]
        newly_absent = []
        focal = float(np.asarray(view.intrinsics, dtype=float)[0, 0])
        radius = min(view.max_range, cfg.max_distance)
        for dist, node in graph.within_radius(cam_pos, radius, ('object',)):
            if node.id in observed or node.status != 'confirmed':
                continue
            size = float(np.max(node.extent)) if node.extent is not None else 0.0
            if focal * size / max(dist, 1e-3) < cfg.min_projected_px:
                continue  # too small at this range for the detector: no evidence
            visible, through = self.visibility(node, view)
            if visible < cfg.min_visible_fraction:
                continue
            # Seeing through the spot is strong evidence; a surface there is weak.
            strong = through >= 0.5 * visible
            node.confidence *= cfg.decay if strong else \
                cfg.decay ** self.miss_weight(node, dist)
            node.last_absent = view.stamp
            if node.first_absent is None:
                node.first_absent = view.stamp
            graph.touch(node.id)
            if node.confidence < cfg.absent_threshold:
                node.status = 'absent'
                graph.record(node.id, 'absent', view.stamp, {
                    'reason': 'moved' if strong else 'not_detected',
                    'last_position': [round(float(x), 4) for x in node.position],
                })
                newly_absent.append(node.id)
        return newly_absent

    def observed(self, node: SceneNode) -> None:
        """Clear absence bookkeeping when a node is seen again."""
        node.confidence = min(1.0, node.confidence + self.config.recover)
        node.first_absent = None
        self.graph.touch(node.id)
