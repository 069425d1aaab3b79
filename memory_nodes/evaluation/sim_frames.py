"""Perception of simulator frames: the sim_segmentation detector + back-projection.

The in-process counterpart of the perception node fed by the sim bridge: the simulator
renders a frame, says which instance is which type and what states a camera could see on
each visible object, and this turns it into ObjectObservations in `map`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from memory_nodes.memory.observation import CameraView, ObjectObservation
from memory_nodes.perception.backprojection import BackprojectionConfig
from memory_nodes.perception.detection import Detector
from memory_nodes.perception.observation_builder import ObservationBuilder, RgbdFrame
from memory_nodes.perception.sim_segmentation import SimSegmentationDetector
from sim.interface import CameraFrame

#: Frames whose observations `SimFramePerception` keeps per process (0: none). The camera
#: hands out the very same frame again for an unchanged view of an unchanged home (the
#: same first look under every memory condition of an episode, a second look from where
#: the robot stands); the sim_segmentation detector and back-projection are deterministic,
#: so such a frame gives the same observations, re-stamped with the frame's time.
PERCEPTION_CACHE_FRAMES = 256
_PERCEIVED: OrderedDict[tuple, tuple[list[ObjectObservation], Counter]] = OrderedDict()


def _frame_key(frame: CameraFrame, instances: Mapping[int, Mapping[str, object]],
               detector: SimSegmentationDetector, config: BackprojectionConfig) -> tuple:
    """What the observations of `frame` depend on (all but the stamp)."""
    digest = hashlib.blake2b(digest_size=20)
    for array in (frame.depth, frame.segmentation, frame.intrinsics, frame.camera_to_map):
        a = np.ascontiguousarray(array)
        digest.update(f'{a.dtype}{a.shape}'.encode())
        digest.update(a.tobytes())
    seen = tuple(sorted(
        (int(i), str(v.get('label', '')), bool(v.get('held')),
         tuple(sorted((str(k), bool(x)) for k, x in dict(v.get('states') or {}).items())))
        for i, v in instances.items()))
    return (digest.digest(), tuple(frame.rgb.shape), seen, detector.min_pixels,
            tuple(sorted(detector.ignore)), repr(config))


@dataclass
class SimFramePerception:
    """CameraFrame (+ the sim's instance table) -> observations and the camera view."""

    #: Any `Detector`: the oracle by default, or e.g. `YoloDetector` (it ignores the extras).
    detector: Detector = field(default_factory=SimSegmentationDetector)
    builder: ObservationBuilder = field(default_factory=lambda: ObservationBuilder(
        BackprojectionConfig(pixel_stride=1)))
    frames: int = 0
    ms: list[float] = field(default_factory=list)
    #: Frames remembered with their observations (the sim_segmentation detector only).
    cache_frames: int = PERCEPTION_CACHE_FRAMES
    #: The detector's measured recall and confusions for the memory it feeds
    #: (`LongTermMemoryConfig.detector_profile`: '' for the oracle, or a metrics.json).
    detector_profile: str = ''

    def perceive(self, frame: CameraFrame, instances: Mapping[int, Mapping[str, object]]
                 ) -> tuple[list[ObjectObservation], CameraView]:
        """Detect, back-project and clean; returns observations and the camera view."""
        t0 = time.perf_counter()
        rgbd = RgbdFrame(frame.rgb, frame.depth, frame.intrinsics, frame.camera_to_map,
                         frame.stamp)
        key = None
        if self.cache_frames > 0 and type(self.detector) is SimSegmentationDetector:
            key = _frame_key(frame, instances, self.detector, self.builder.config)
        hit = _PERCEIVED.get(key) if key is not None else None
        if hit is not None:
            _PERCEIVED.move_to_end(key)
            rgbd.validate()
            observations = [_copy(o, frame.stamp) for o in hit[0]]
            self.builder.dropped.update(hit[1])
        else:
            before = Counter(self.builder.dropped)
            detections = self.detector.detect(frame.rgb, segmentation=frame.segmentation,
                                              instances=instances)
            observations = self.builder.build(
                rgbd, detections, getattr(self.detector, 'mask_edge_px', 0))
            if key is not None:
                _PERCEIVED[key] = ([_copy(o, o.stamp) for o in observations],
                                   self.builder.dropped - before)
                while len(_PERCEIVED) > self.cache_frames:
                    _PERCEIVED.popitem(last=False)
        self.frames += 1
        self.ms.append((time.perf_counter() - t0) * 1000.0)
        return observations, rgbd.camera_view(self.builder.config)


def _copy(observation: ObjectObservation, stamp: float) -> ObjectObservation:
    """A copy of `observation` at `stamp` that shares no mutable part with it."""
    return dataclasses.replace(
        observation, stamp=stamp, points=np.array(observation.points, copy=True),
        states=dict(observation.states),
        embedding=None if observation.embedding is None else observation.embedding.copy())
