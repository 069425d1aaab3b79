"""Ship a training run: its weights, metrics and class list into `models/detector/`.

The shipped folder is what `detector:=yolo` loads when no weights path is given (see
`memory_nodes.perception.yolo_detector.shipped_weights`): the stripped fp16 weights, the
`metrics.json` of the run (val-homes mAP, per-class mAP50, the calibrated score threshold,
the training settings and sittings), the class list as text and the training curves.
Absolute paths of the machine that trained are cut to file names, so the folder can be
committed.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from memory_nodes.perception.yolo_detector import (
    SHIPPED_WEIGHTS_NAME,
    load_segmentation_model,
    shipped_weights,
)
from memory_nodes.tools.detector_training.training import epoch_column


@dataclass
class ShippedDetector:
    """What was shipped: the weights file, its val-homes mAP50 and its classes."""

    weights: Path
    map50: float
    classes: list[str]


def _portable(value: object) -> object:
    """Absolute paths cut to their file name, recursively (nothing machine-specific ships)."""
    if isinstance(value, dict):
        return {k: _portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_portable(v) for v in value]
    if isinstance(value, str) and value.startswith('/'):
        return Path(value).name
    return value


def ship_run(run: Path, to: Path | None = None, data: Path | None = None) -> ShippedDetector:
    """Copy `run` (a `perception train --out` folder) to `to` (default: the shipped folder)."""
    run = Path(run)
    weights = run / 'best.pt'
    metrics_path = run / 'metrics.json'
    if not weights.is_file() or not metrics_path.is_file():
        raise FileNotFoundError(f'{run} is not a finished training run (needs best.pt and '
                                f'metrics.json from `embodied-memory perception train`)')
    model = load_segmentation_model(weights)  # refuses a damaged or non-segmentation file
    classes = [model.names[i] for i in sorted(model.names)]
    dest = Path(to) if to is not None else shipped_weights().parent
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / SHIPPED_WEIGHTS_NAME
    shutil.copyfile(weights, target)
    metrics = json.loads(metrics_path.read_text())
    metrics['weights'] = SHIPPED_WEIGHTS_NAME
    if not metrics.get('epoch_map50'):
        metrics['epoch_map50'] = epoch_column(run / 'train' / 'results.csv', 'metrics/mAP50(M)')
    if data is not None:
        manifest = Path(data).parent / 'manifest.json'
        if manifest.is_file():
            full = json.loads(manifest.read_text())
            metrics['dataset'] = {k: full[k] for k in ('seed', 'homes', 'views_per_home',
                                                       'val_fraction', 'size', 'images',
                                                       'instances') if k in full}
    (dest / 'metrics.json').write_text(json.dumps(_portable(metrics), indent=1) + '\n')
    (dest / 'classes.txt').write_text('\n'.join(classes) + '\n')
    if (run / 'curves.png').is_file():
        shutil.copyfile(run / 'curves.png', dest / 'curves.png')
    return ShippedDetector(weights=target, map50=float(metrics.get('map50', 0.0)),
                           classes=classes)
