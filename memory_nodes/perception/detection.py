"""What a detector reports for one image: labelled instance masks with visible states."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class Detection:
    """One object instance in an image: `mask` is (H, W) bool, `score` in [0, 1]."""

    label: str
    score: float
    mask: np.ndarray
    instance_id: int | None = None
    states: dict[str, bool] = field(default_factory=dict)


class Detector(Protocol):
    """Anything that turns an RGB image (and what else it gets) into detections."""

    name: str
    #: Pixels to erode from its masks at depth edges (0: its masks are exact).
    mask_edge_px: int

    def detect(self, rgb: np.ndarray, **extras: object) -> list[Detection]:
        """Detections in `rgb` ((H, W, 3) uint8)."""
        ...
