"""Train a YOLOv8n-seg detector from scratch on the simulator dataset, on the CPU.

`YOLO('yolov8n-seg.yaml')` builds the network from its config (random weights: nothing is
downloaded, `pretrained=False`), AMP is off (its check would fetch a model), plots are
off (they would fetch a font; the curves PNG is drawn here from `results.csv`). The run
folder gets `weights/best.pt`, `results.csv`, `curves.png` and `metrics.json` with the
mask mAP50 / mAP50-95 of the best weights on the validation homes (unseen in training).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from memory_nodes.perception.ultralytics_offline import import_ultralytics


@dataclass
class TrainConfig:
    """Training settings; the defaults finish in under an hour on 2 CPU cores."""

    data: Path
    out: Path
    epochs: int = 12
    imgsz: int = 320
    batch: int = 16
    workers: int = 1
    threads: int = 2
    seed: int = 0
    fraction: float = 1.0
    patience: int = 50
    # ultralytics' 'auto' picks AdamW at 0.002 * 5 / (4 + nc): ~1e-4 for our 75 classes,
    # too slow from scratch in a few epochs.
    optimizer: str = 'AdamW'
    lr0: float = 0.002
    warmup_epochs: float = 1.0
    mosaic: float = 1.0
    close_mosaic: int = 3
    # Nominal batch for gradient accumulation. ultralytics' default 64 accumulates 4
    # batches of 16 per optimizer step; from scratch in an hour every step counts, so
    # the default here is one step per batch (None: nbs = batch).
    nbs: int | None = None
    time_hours: float | None = None
    cache: bool = True
    # Start from these weights instead of random ones (more training on a shipped file).
    init_weights: Path | None = None
    # Continue an interrupted run in `out` (its last.pt: epoch, optimizer, schedule); when
    # `out` holds no unfinished run, start from `init_weights` (or from scratch).
    resume: bool = False
    #: Stop this sitting after so many epochs, leaving the run to be resumed (`resume`)
    #: with its optimizer and schedule; None: train to the end.
    stop_after_epochs: int | None = None


class SittingOver(Exception):
    """Raised from the epoch callback to end a sitting early (the run stays resumable)."""


@dataclass
class TrainResult:
    """Where the weights went and how good they are on the validation homes."""

    weights: Path
    map50: float
    map50_95: float
    box_map50: float
    seconds: float
    curves: Path | None
    #: False when the sitting stopped early (`stop_after_epochs`): resume to finish.
    finished: bool = True


def train(config: TrainConfig, progress: Callable[[str], None] | None = None) -> TrainResult:
    """Train, validate the best weights on the val homes, draw curves; returns the result."""
    say = progress or (lambda _m: None)
    data = Path(config.data)
    if not data.is_file():
        raise FileNotFoundError(f'dataset file not found: {data} (run perception make-dataset)')
    out = Path(config.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    YOLO = _ultralytics_on_cpu(config.threads, out)  # noqa: N806 - the ultralytics class
    last = out / 'train' / 'weights' / 'last.pt'
    resuming = config.resume and unfinished_run(last)
    if resuming:
        model = YOLO(str(last))
        say(f'resuming the interrupted run {last} (epoch {checkpoint_epoch(last) + 1} done)')
    elif config.init_weights is not None:
        init = Path(config.init_weights)
        if not init.is_file():
            raise FileNotFoundError(f'weights to start from not found: {init}')
        model = YOLO(str(init))
        say(f'training yolov8n-seg from {init} on {data} for {config.epochs} more epochs '
            f'(imgsz {config.imgsz}, batch {config.batch}, cpu x{config.threads})')
    else:
        model = YOLO('yolov8n-seg.yaml')
        say(f'training yolov8n-seg from scratch on {data} for {config.epochs} epochs '
            f'(imgsz {config.imgsz}, batch {config.batch}, cpu x{config.threads})')
    t0 = time.perf_counter()
    start = ('resumed' if resuming else
             f'from {Path(config.init_weights).name}' if config.init_weights else 'from scratch')
    sittings = SittingsLog(out, start, resuming)
    kwargs = dict(
        data=str(data), epochs=config.epochs, imgsz=config.imgsz, batch=config.batch,
        device='cpu', workers=config.workers, pretrained=False, amp=False, plots=False,
        project=str(out), name='train', exist_ok=True, seed=config.seed, deterministic=False,
        fraction=config.fraction, patience=config.patience, lr0=config.lr0,
        optimizer=config.optimizer, warmup_epochs=config.warmup_epochs,
        mosaic=config.mosaic, close_mosaic=config.close_mosaic, val=True, verbose=False,
        nbs=config.nbs or config.batch,
        cache='ram' if config.cache else False)
    if config.time_hours:
        kwargs['time'] = config.time_hours
    seen: set[int] = set()

    def on_epoch(trainer) -> None:
        # The final validation fires this callback once more; report each epoch once.
        sittings.update()
        if trainer.epoch not in seen:
            seen.add(trainer.epoch)
            say(_epoch_line(trainer, len(seen)))
            # last.pt is saved before this callback: stopping here loses nothing.
            if config.stop_after_epochs and len(seen) >= config.stop_after_epochs \
                    and trainer.epoch + 1 < trainer.epochs:
                raise SittingOver

    batches = [0]

    def on_batch(trainer) -> None:
        batches[0] += 1
        per_epoch = max(1, len(trainer.train_loader))
        if batches[0] % 25 == 0:
            say(f'  epoch {trainer.epoch + 1}: batch {(batches[0] - 1) % per_epoch + 1}'
                f'/{per_epoch}, {time.perf_counter() - t0:.0f} s')

    model.add_callback('on_fit_epoch_end', on_epoch)
    model.add_callback('on_train_batch_end', on_batch)
    if resuming:
        # ultralytics takes the run's own settings from last.pt; the data path, the time
        # budget and the loader settings may change between sittings.
        kwargs = {k: kwargs[k] for k in ('data', 'device', 'workers', 'cache', 'time')
                  if k in kwargs}
        kwargs['resume'] = str(last)
    try:
        model.train(**kwargs)
    except SittingOver:
        sittings.update()
        say(f'sitting over after {len(seen)} epoch(s); {last} is resumable (--resume)')
        return TrainResult(weights=last, map50=float('nan'), map50_95=float('nan'),
                           box_map50=float('nan'), seconds=sittings.total_seconds,
                           curves=None, finished=False)
    sittings.update()
    seconds = sittings.total_seconds
    run = out / 'train'
    best = run / 'weights' / 'best.pt'
    if not best.exists():
        best = run / 'weights' / 'last.pt'
    weights = out / 'best.pt'
    shutil.copyfile(best, weights)
    say(f'validating {weights.name} on the val homes')
    measured = _val_record(YOLO, weights, data, config.imgsz, config.batch, config.workers)
    curves = plot_curves(run / 'results.csv', out / 'curves.png')
    result = TrainResult(weights=weights, map50=measured['map50'],
                         map50_95=measured['map50_95'], box_map50=measured['box_map50'],
                         seconds=seconds, curves=curves)
    record = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items()}
    record['config'] = {k: str(v) if isinstance(v, Path) else v
                        for k, v in asdict(config).items()}
    record.update(measured)
    if 'score_threshold' in measured:
        say('score threshold with the best mean mask F1 on the val homes: '
            f"{measured['score_threshold']:.3f}")
    record['sittings'] = sittings.sittings
    record['epoch_map50'] = epoch_column(run / 'results.csv', 'metrics/mAP50(M)')
    (out / 'metrics.json').write_text(json.dumps(record, indent=1) + '\n')
    return result


def checkpoint_epoch(path: Path) -> int:
    """The 0-based epoch a checkpoint was saved after; -1 for a finished (stripped) run."""
    import torch

    ckpt = torch.load(str(path), map_location='cpu', weights_only=False)
    return int(ckpt.get('epoch', -1))


def unfinished_run(last: Path) -> bool:
    """True when `last` is the checkpoint of a run that stopped before its last epoch."""
    return last.is_file() and checkpoint_epoch(last) >= 0


class SittingsLog:
    """`sittings.json` in a run folder: each sitting's start and seconds trained so far.

    Rewritten after every epoch, so a run stopped mid-way still knows how long its earlier
    sittings trained when it is resumed.
    """

    def __init__(self, out: Path, start: str, resumed: bool) -> None:
        self.path = out / 'sittings.json'
        before: list[dict] = []
        if resumed:
            try:
                before = list(json.loads(self.path.read_text()))
            except (OSError, ValueError, TypeError):
                before = []
        self.sittings = [*before, {'start': start, 'seconds': 0.0}]
        self.t0 = time.perf_counter()

    def update(self) -> None:
        """Record this sitting's seconds so far."""
        self.sittings[-1]['seconds'] = round(time.perf_counter() - self.t0, 1)
        self.path.write_text(json.dumps(self.sittings, indent=1) + '\n')

    @property
    def total_seconds(self) -> float:
        """Seconds trained over all sittings."""
        return float(sum(s['seconds'] for s in self.sittings))


def validate(weights: Path, data: Path, imgsz: int = 320, batch: int = 16, workers: int = 1,
             threads: int = 2, progress: Callable[[str], None] | None = None) -> dict:
    """Re-measure `weights` on the val homes of `data`; update `metrics.json` next to them.

    Writes mask/box mAP, per-class mAP50 and the best-F1 `score_threshold`, keeping what
    the training run recorded (its config and time). Returns the updated record.
    """
    say = progress or (lambda _m: None)
    weights, data = Path(weights).resolve(), Path(data)
    if not weights.is_file():
        raise FileNotFoundError(f'weights not found: {weights}')
    if not data.is_file():
        raise FileNotFoundError(f'dataset file not found: {data} (run perception make-dataset)')
    YOLO = _ultralytics_on_cpu(threads, weights.parent)  # noqa: N806 - the ultralytics class
    say(f'validating {weights} on the val homes of {data}')
    path = weights.parent / 'metrics.json'
    record = json.loads(path.read_text()) if path.exists() else {'weights': str(weights)}
    record.update(_val_record(YOLO, weights, data, imgsz, batch, workers))
    path.write_text(json.dumps(record, indent=1) + '\n')
    return record


def _ultralytics_on_cpu(threads: int, run_dir: Path):  # noqa: ANN202 - ultralytics.YOLO
    """Import ultralytics offline, on `threads` CPU threads; returns its YOLO class."""
    import torch

    os.environ.setdefault('YOLO_CONFIG_DIR', str(run_dir / '.ultralytics'))
    import_ultralytics()
    from ultralytics import YOLO
    from ultralytics.utils import torch_utils

    # ultralytics' select_device() resets torch to NUM_THREADS = cpu_count - 1 threads
    # for CPU training: one thread on a 2-core machine, half the machine idle.
    torch_utils.NUM_THREADS = max(1, threads)
    torch.set_num_threads(max(1, threads))
    return YOLO


def _val_record(YOLO, weights: Path, data: Path, imgsz: int, batch: int,  # noqa: N803
                workers: int) -> dict:
    """Validate `weights` on the val homes: mAPs, per-class mAP50, best-F1 threshold."""
    metrics = YOLO(str(weights)).val(
        data=str(data), imgsz=imgsz, batch=batch, device='cpu', workers=workers, plots=False,
        split='val', verbose=False, project=str(weights.parent), name='val', exist_ok=True)
    record = {'map50': float(metrics.seg.map50), 'map50_95': float(metrics.seg.map),
              'box_map50': float(metrics.box.map50), 'per_class_map50': _per_class(metrics)}
    threshold = best_f1_threshold(metrics)
    if threshold is not None:
        # YoloDetector's default score threshold for these weights (see yolo_detector.py).
        record['score_threshold'] = threshold
    return record


def _epoch_line(trainer, done: int) -> str:
    m = trainer.metrics or {}
    seg = m.get('metrics/mAP50(M)', float('nan'))
    seg95 = m.get('metrics/mAP50-95(M)', float('nan'))
    # With a time budget ultralytics re-plans `epochs` and may stop mid-epoch.
    return (f'epoch {done} (planned {trainer.epochs}): mask mAP50 {seg:.3f} '
            f'mAP50-95 {seg95:.3f}')


def best_f1_threshold(metrics) -> float | None:
    """The confidence at which the mean mask F1 over classes peaks on the val homes."""
    import numpy as np

    try:
        f1 = np.asarray(metrics.seg.f1_curve, dtype=float)
        px = np.asarray(metrics.seg.px, dtype=float)
    except AttributeError:
        return None
    if f1.ndim != 2 or not f1.size or f1.shape[1] != px.size:
        return None
    mean = f1.mean(axis=0)
    if not np.isfinite(mean).any() or mean.max() <= 0.0:
        return None
    return round(float(px[int(np.nanargmax(mean))]), 3)


def _per_class(metrics) -> dict[str, float]:
    try:
        names = metrics.names
        return {names[int(c)]: round(float(metrics.seg.class_result(i)[2]), 4)
                for i, c in enumerate(metrics.seg.ap_class_index)}
    except (AttributeError, IndexError, TypeError):
        return {}


def epoch_column(results_csv: Path, name: str) -> list[float]:
    """One column of ultralytics' results.csv, one value per epoch (rounded)."""
    if not results_csv.exists():
        return []
    with results_csv.open() as f:
        rows = [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(f)]
    return [round(float(r.get(name) or 'nan'), 4) for r in rows]


def plot_curves(results_csv: Path, png: Path) -> Path | None:
    """Losses and mask/box mAP per epoch from ultralytics' results.csv, as one PNG."""
    if not results_csv.exists():
        return None
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    with results_csv.open() as f:
        rows = [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(f)]
    if not rows:
        return None

    def col(name: str) -> list[float]:
        return [float(r.get(name) or 'nan') for r in rows]

    epochs = col('epoch')
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for name in ('train/box_loss', 'train/seg_loss', 'train/cls_loss', 'val/seg_loss',
                 'val/cls_loss'):
        if name in rows[0]:
            ax1.plot(epochs, col(name), label=name)
    ax1.set_xlabel('epoch')
    ax1.set_title('losses')
    ax1.legend(fontsize=7)
    for name in ('metrics/mAP50(M)', 'metrics/mAP50-95(M)', 'metrics/mAP50(B)'):
        if name in rows[0]:
            ax2.plot(epochs, col(name), marker='o', label=name)
    ax2.set_xlabel('epoch')
    ax2.set_title('validation homes (unseen)')
    ax2.set_ylim(0, 1)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png
