"""A learned instance-segmentation detector: YOLOv8-seg weights from a local file.

The robot's counterpart of the simulator's oracle masks. The weights come from
`embodied-memory perception train` (trained on simulator renders, see docs/perception.md);
nothing is downloaded. Labels are the class list the weights carry (ontology types: the
training tool writes it into them); `class_names`, when given, is checked against it.
Masks come back at the image's size so depth back-projection and fusion downstream are
unchanged. The detector sees only the
RGB image: it reports no object states (a state estimator may add them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.domain.ontology import Ontology
from memory_nodes.perception.detection import Detection

log = logging.getLogger(__name__)


class WeightsError(ValueError):
    """The weights file is missing, unreadable, not a segmentation model or has other classes."""


def load_segmentation_model(weights: str | Path):
    """An ultralytics YOLO segmentation model from a local `.pt`; WeightsError otherwise."""
    path = Path(weights)
    if not path.is_file():
        raise WeightsError(f'YOLO weights not found: {path} (train them with '
                           f'`embodied-memory perception train`)')
    from memory_nodes.perception.ultralytics_offline import import_ultralytics

    import_ultralytics()
    from ultralytics import YOLO

    try:
        model = YOLO(str(path), task='segment')
        names = model.names
    except Exception as exc:  # torch/pickle raise many types for a damaged file
        raise WeightsError(f'cannot load YOLO weights {path}: {type(exc).__name__}: '
                           f'{exc}') from exc
    if getattr(model, 'task', 'segment') != 'segment':
        raise WeightsError(f'{path} is a {model.task} model, not a segmentation model')
    if not names:
        raise WeightsError(f'{path} has no class names')
    return model


def check_class_names(path: str | Path, model_names: Sequence[str],
                      expected: Sequence[str]) -> None:
    """Refuse weights whose class list differs from `expected` (order matters)."""
    if list(model_names) == list(expected):
        return
    missing = [n for n in expected if n not in model_names][:5]
    extra = [n for n in model_names if n not in expected][:5]
    detail = f'missing {missing}, unexpected {extra}' if missing or extra else 'order differs'
    raise WeightsError(f'class list of {path} ({len(model_names)} classes) does not match '
                       f'the expected {len(expected)} classes: {detail}')


def check_known_types(path: str | Path, model_names: Sequence[str],
                      ontology: Ontology) -> None:
    """Refuse weights whose classes are not all types of `ontology` (a robot's words)."""
    unknown = [n for n in model_names if n not in ontology]
    if unknown:
        raise WeightsError(f'class list of {path} ({len(model_names)} classes) does not match '
                           f'the {ontology.name} ontology: unknown types {unknown[:5]}')


#: File name of the weights shipped in the repository (`models/detector/`).
SHIPPED_WEIGHTS_NAME = 'household_yolov8n_seg.pt'


def shipped_weights() -> Path:
    """The detector weights shipped in the repository: what `detector:=yolo` loads by default.

    Produced by `embodied-memory perception train` then `perception ship` (docs/perception.md).
    """
    return Path(__file__).resolve().parents[2] / 'models' / 'detector' / SHIPPED_WEIGHTS_NAME


def weights_metrics(weights: str | Path) -> dict:
    """The `metrics.json` next to the weights as a dict ({} when missing or unreadable)."""
    import json

    try:
        data = json.loads((Path(weights).parent / 'metrics.json').read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def detector_profile_of(weights: str | Path) -> str:
    """The memory's `detector_profile` for these weights.

    Their metrics.json when it holds a calibration (`perception calibrate`), else ''.
    """
    has = 'calibration' in weights_metrics(weights)
    return str(Path(weights).parent / 'metrics.json') if has else ''


#: Score threshold when the weights come without a calibrated one.
DEFAULT_SCORE_THRESHOLD = 0.35
#: A calibrated threshold is kept within these bounds (a barely trained model peaks its F1
#: near 0, which would flood fusion with noise).
CALIBRATED_RANGE = (0.1, 0.9)


def calibrated_threshold(weights: str | Path) -> float | None:
    """The best-F1 score threshold `perception train` measured for these weights, if any.

    It is read from `metrics.json` next to the weights (written by `training.train`,
    measured on the validation homes) and clamped to `CALIBRATED_RANGE`.
    """
    value = weights_metrics(weights).get('score_threshold')
    if not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        return None
    lo, hi = CALIBRATED_RANGE
    return min(hi, max(lo, float(value)))


class YoloDetector:
    """YOLOv8-seg on CPU: RGB (H, W, 3) uint8 -> catalog-labelled instance masks."""

    name = 'yolo'
    #: Learned masks bleed a pixel or two past the outline: erode them at depth edges.
    mask_edge_px = 2

    def __init__(self, weights: str | Path,
                 class_names: Sequence[str] | None = None,
                 ontology: Ontology | None = HOUSEHOLD,
                 score_threshold: float | None = None, iou_threshold: float = 0.5,
                 imgsz: int = 320, device: str = 'cpu', min_pixels: int = 12,
                 max_detections: int = 60) -> None:
        if score_threshold is not None and not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f'score_threshold must be in [0, 1], got {score_threshold}')
        self.weights = Path(weights)
        self.model = load_segmentation_model(self.weights)
        names = self.model.names
        self.labels = [names[i] for i in sorted(names)]
        if class_names is not None:
            check_class_names(self.weights, self.labels, class_names)
        elif ontology is not None:
            check_known_types(self.weights, self.labels, ontology)
        # None: the threshold calibrated on the val homes when the weights were trained.
        calibrated = calibrated_threshold(self.weights) if score_threshold is None else None
        if score_threshold is not None:
            self.score_threshold, self.score_source = score_threshold, 'given'
        elif calibrated is not None:
            self.score_threshold, self.score_source = calibrated, 'calibrated on val homes'
        else:
            self.score_threshold, self.score_source = DEFAULT_SCORE_THRESHOLD, 'default'
        self.iou_threshold = iou_threshold
        self.imgsz = imgsz
        self.device = device
        self.min_pixels = min_pixels
        self.max_detections = max_detections
        self.ms: list[float] = []

    def detect(self, rgb: np.ndarray, **_: object) -> list[Detection]:
        """Detections in `rgb`; extras (the sim's segmentation, ...) are ignored."""
        img = np.asarray(rgb)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'expected an (H, W, 3) RGB image, got shape {img.shape}')
        h, w = img.shape[:2]
        t0 = time.perf_counter()
        # ultralytics reads numpy images as BGR (OpenCV order).
        result = self.model.predict(
            np.ascontiguousarray(img[:, :, ::-1]), imgsz=self.imgsz, conf=self.score_threshold,
            iou=self.iou_threshold, device=self.device, retina_masks=True, verbose=False,
            max_det=self.max_detections)[0]
        out = []
        if result.masks is not None and result.boxes is not None:
            masks = result.masks.data.cpu().numpy() > 0.5
            classes = result.boxes.cls.cpu().numpy().astype(int)
            scores = result.boxes.conf.cpu().numpy()
            for mask, cls, score in zip(masks, classes, scores):
                if mask.shape != (h, w):
                    mask = _resize_mask(mask, w, h)
                if int(mask.sum()) < self.min_pixels:
                    continue
                out.append(Detection(label=self.labels[cls], score=float(score), mask=mask))
        self.ms.append((time.perf_counter() - t0) * 1000.0)
        return out


def _resize_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """Nearest-neighbour resize of a bool mask to (height, width)."""
    ys = (np.arange(height) * mask.shape[0] / height).astype(int)
    xs = (np.arange(width) * mask.shape[1] / width).astype(int)
    return mask[ys][:, xs]


def make_detector(name: str, weights: str | Path | None = None, **kwargs: object):
    """A detector by name: 'sim_segmentation' (the oracle) or 'yolo'.

    Without `weights`, 'yolo' loads the weights shipped in the repository.
    """
    if name == 'sim_segmentation':
        from memory_nodes.perception.sim_segmentation import SimSegmentationDetector

        return SimSegmentationDetector()
    if name == 'yolo':
        return YoloDetector(weights if weights else shipped_weights(), **kwargs)
    raise ValueError(f'unknown detector {name!r} (known: sim_segmentation, yolo)')
