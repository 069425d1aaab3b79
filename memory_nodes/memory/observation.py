"""What perception hands to memory: one detected object, and the camera view it came from.

These are the core's own types; `memory_nodes.ros.conversions` maps ROS messages onto them.
Units follow REP 103 (metres, seconds); points are in the `map` frame unless `frame_id`
says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ObjectObservation:
    """One detection of one object in one camera frame.

    `points` is an (N, 3) float array of the object's surface points in `frame_id`
    (normally `map`), metres. `score` is the detector's confidence in [0, 1].
    `states` are the states a camera could see on the object (e.g. {'open': True}).
    """

    label: str
    score: float
    points: np.ndarray
    stamp: float
    frame_id: str = 'map'
    embedding: np.ndarray | None = None
    track_id: int | None = None
    states: dict[str, bool] = field(default_factory=dict)
    room: str | None = None

    @property
    def centroid(self) -> np.ndarray:
        """Mean of the points (metres, `frame_id`)."""
        return np.asarray(self.points, dtype=float).reshape(-1, 3).mean(axis=0)

    @property
    def extent(self) -> np.ndarray:
        """Axis-aligned size of the points (metres)."""
        pts = np.asarray(self.points, dtype=float).reshape(-1, 3)
        return pts.max(axis=0) - pts.min(axis=0)


@dataclass
class CameraView:
    """A pinhole camera at a pose, with the depth image it saw (for absence evidence).

    `intrinsics` is the 3x3 K matrix, `camera_to_map` the 4x4 pose of the camera optical
    frame (z forward, x right, y down) in `map`, `depth` an (H, W) array in metres with
    NaN or 0 where there is no return.
    """

    intrinsics: np.ndarray
    camera_to_map: np.ndarray
    depth: np.ndarray
    stamp: float
    min_range: float = 0.1
    max_range: float = 6.0
