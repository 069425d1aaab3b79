"""The simulator's instance masks as a detector (the default in simulation).

The simulator renders an instance-id image and knows each instance's type; it also
reports the states a camera could see on each visible object (open/closed, on/off,
sliced, dirty, ...), the role KARMA gave GPT-4o. This is an oracle detector: perfect
masks and labels, so memory and planning can be measured apart from detection errors.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from memory_nodes.domain.ontology import VISIBLE_STATES
from memory_nodes.perception.detection import Detection


class SimSegmentationDetector:
    """Instance masks + labels straight from the simulator's segmentation image."""

    name = 'sim_segmentation'
    #: Exact masks: erosion at depth edges would only cut into them.
    mask_edge_px = 0

    def __init__(self, min_pixels: int = 12, ignore_labels: tuple[str, ...] = (
            'Floor', 'Wall', 'Ceiling', 'Doorway')) -> None:
        if min_pixels < 1:
            raise ValueError(f'min_pixels must be >= 1, got {min_pixels}')
        self.min_pixels = min_pixels
        self.ignore = {s.lower() for s in ignore_labels}

    def detect(self, rgb: np.ndarray, segmentation: np.ndarray | None = None,
               instances: Mapping[int, Mapping[str, object]] | None = None,
               **_: object) -> list[Detection]:
        """Detections from `segmentation` ((H, W) int instance ids, -1 background).

        `instances` maps instance id -> {'label': type, 'states': {name: bool}}.
        """
        if segmentation is None or instances is None:
            raise ValueError('sim_segmentation needs the segmentation image and instances')
        seg = np.asarray(segmentation)
        if seg.shape != rgb.shape[:2]:
            raise ValueError(f'segmentation {seg.shape} does not match image {rgb.shape[:2]}')
        ids, counts = np.unique(seg[seg >= 0], return_counts=True)
        out = []
        for inst, count in zip(ids.tolist(), counts.tolist()):
            info = instances.get(int(inst))
            if info is None or count < self.min_pixels or info.get('held'):
                continue
            label = str(info.get('label', ''))
            if not label or label.lower() in self.ignore:
                continue
            states = info.get('states') or {}
            visible = {k: bool(v) for k, v in dict(states).items() if k in VISIBLE_STATES}
            out.append(Detection(label=label, score=1.0, mask=seg == inst,
                                 instance_id=int(inst), states=visible))
        return out


def instances_from_json(data: object) -> dict[int, dict[str, object]]:
    """The `segmentation/instances` payload -> instance id -> {'label', 'states', 'held'}.

    `data` is the parsed JSON ({'stamp': ..., 'instances': {'3': {'label': 'Apple', ...}}});
    ValueError names what is malformed (the simulator bridge's format is checked whole, so
    the detector never meets a list, a number or a non-string label).
    """
    instances = data.get('instances') if isinstance(data, dict) else None
    if not isinstance(instances, dict):
        raise ValueError('instances: expected {"instances": {id: {...}}}')
    out: dict[int, dict[str, object]] = {}
    for key, info in instances.items():
        try:
            inst = int(key)
        except (TypeError, ValueError):
            raise ValueError(f'instances: id {key!r} is not an integer') from None
        if not isinstance(info, dict) or not isinstance(info.get('label', ''), str):
            raise ValueError(f'instances: entry {key!r} must be an object with a string label')
        states = info.get('states') or {}
        if not isinstance(states, dict):
            raise ValueError(f'instances: states of {key!r} must be an object')
        out[inst] = {'label': info.get('label', ''), 'states': states,
                     'held': bool(info.get('held', False))}
    return out
