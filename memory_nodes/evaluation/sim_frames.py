"""Perception of simulator frames: the sim_segmentation detector + back-projection.

The in-process counterpart of the perception node fed by the sim bridge: the simulator
renders a frame, says which instance is which type and what states a camera could see on
each visible object, and this turns it into ObjectObservations in `map`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from memory_nodes.memory.observation import CameraView, ObjectObservation
from memory_nodes.perception.backprojection import BackprojectionConfig
from memory_nodes.perception.detection import Detector
from memory_nodes.perception.observation_builder import ObservationBuilder, RgbdFrame
from memory_nodes.perception.sim_segmentation import SimSegmentationDetector
from sim.interface import CameraFrame


@dataclass
class SimFramePerception:
    """CameraFrame (+ the sim's instance table) -> observations and the camera view."""

    #: Any `Detector`: the oracle by default, or e.g. `YoloDetector` (it ignores the extras).
    detector: Detector = field(default_factory=SimSegmentationDetector)
    builder: ObservationBuilder = field(default_factory=lambda: ObservationBuilder(
        BackprojectionConfig(pixel_stride=1)))
    frames: int = 0
    ms: list[float] = field(default_factory=list)

    def perceive(self, frame: CameraFrame, instances: Mapping[int, Mapping[str, object]]
                 ) -> tuple[list[ObjectObservation], CameraView]:
        """Detect, back-project and clean; returns observations and the camera view."""
        t0 = time.perf_counter()
        rgbd = RgbdFrame(frame.rgb, frame.depth, frame.intrinsics, frame.camera_to_map,
                         frame.stamp)
        detections = self.detector.detect(frame.rgb, segmentation=frame.segmentation,
                                          instances=instances)
        observations = self.builder.build(rgbd, detections)
        self.frames += 1
        self.ms.append((time.perf_counter() - t0) * 1000.0)
        return observations, rgbd.camera_view(self.builder.config)
