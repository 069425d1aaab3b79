"""`embodied-memory perception make-dataset | train | detect`: the learned detector's tools."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `perception` group to the top-level parser."""
    group = subparsers.add_parser('perception', help='learned perception: dataset, training')
    sub = group.add_subparsers(dest='perception_command', required=True)

    d = sub.add_parser('make-dataset', help='render an ultralytics segmentation dataset')
    d.add_argument('--out', required=True, help='dataset folder (images/, labels/, data.yaml)')
    d.add_argument('--homes', type=int, default=60, help='generated homes (default 60)')
    d.add_argument('--views-per-home', type=int, default=40, help='views per home (40)')
    d.add_argument('--seed', type=int, default=0, help='seed for homes, views, lighting')
    d.add_argument('--val-fraction', type=float, default=0.2,
                   help='fraction of homes held out for validation (default 0.2)')
    d.set_defaults(func=_make_dataset)

    t = sub.add_parser('train', help='train yolov8n-seg from scratch on the CPU')
    t.add_argument('--data', required=True, help='data.yaml from make-dataset')
    t.add_argument('--out', required=True, help='run folder (weights, curves, metrics)')
    t.add_argument('--epochs', type=int, default=12)
    t.add_argument('--imgsz', type=int, default=320)
    t.add_argument('--batch', type=int, default=16)
    t.add_argument('--workers', type=int, default=1, help='dataloader workers (0-2)')
    t.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    t.add_argument('--hours', type=float, default=None,
                   help='wall-clock budget; overrides --epochs (ultralytics `time`)')
    t.add_argument('--fraction', type=float, default=1.0, help='fraction of train images')
    t.add_argument('--seed', type=int, default=0)
    t.add_argument('--lr0', type=float, default=0.002, help='initial learning rate (AdamW)')
    t.add_argument('--nbs', type=int, default=None,
                   help='nominal batch: one optimizer step per NBS images (default: --batch)')
    t.set_defaults(func=_train)

    v = sub.add_parser('validate', help='re-measure weights on the val homes; update '
                       'their metrics.json (mAP, per-class mAP50, calibrated score threshold)')
    v.add_argument('--weights', required=True, help='.pt weights from perception train')
    v.add_argument('--data', required=True, help='data.yaml from make-dataset')
    v.add_argument('--imgsz', type=int, default=320)
    v.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    v.set_defaults(func=_validate)

    r = sub.add_parser('detect', help='run a detector on a simulator view, write an overlay')
    r.add_argument('--weights', default=None, help='.pt weights (yolo); omit for the oracle')
    r.add_argument('--seed', type=int, default=0, help='home generator seed')
    r.add_argument('--waypoint', type=int, default=0, help='index of the waypoint to look from')
    r.add_argument('--score', type=float, default=None,
                   help='score threshold (default: calibrated when the weights were trained)')
    r.add_argument('--out', default='detections.png')
    r.set_defaults(func=_detect)


def _make_dataset(args: argparse.Namespace) -> int:
    from memory_nodes.tools.detector_training.dataset import (
        DatasetConfig,
        make_dataset,
        print_progress,
    )

    config = DatasetConfig(out=Path(args.out), homes=args.homes,
                           views_per_home=args.views_per_home, seed=args.seed,
                           val_fraction=args.val_fraction)
    summary = make_dataset(config, print_progress)
    print(f'wrote {summary.images} images with {summary.instances} instances of '
          f'{len(summary.per_class)} classes; {summary.data_yaml}')
    return 0


def _train(args: argparse.Namespace) -> int:
    from memory_nodes.tools.detector_training.training import TrainConfig, train

    config = TrainConfig(data=Path(args.data), out=Path(args.out), epochs=args.epochs,
                         imgsz=args.imgsz, batch=args.batch, workers=args.workers,
                         threads=args.threads, seed=args.seed, fraction=args.fraction,
                         time_hours=args.hours, lr0=args.lr0, nbs=args.nbs)
    result = train(config, lambda m: print(m, flush=True))
    print(f'weights {result.weights}; training {result.seconds / 60:.1f} min')
    print(f'val homes (unseen): mask mAP50 {result.map50:.3f} mAP50-95 {result.map50_95:.3f} '
          f'(box mAP50 {result.box_map50:.3f}); curves {result.curves}')
    return 0


def _validate(args: argparse.Namespace) -> int:
    from memory_nodes.tools.detector_training.training import validate

    record = validate(Path(args.weights), Path(args.data), imgsz=args.imgsz,
                      threads=args.threads, progress=lambda m: print(m, flush=True))
    threshold = record.get('score_threshold')
    print(f"val homes (unseen): mask mAP50 {record['map50']:.3f} mAP50-95 "
          f"{record['map50_95']:.3f} (box mAP50 {record['box_map50']:.3f}); score threshold "
          f"{'none' if threshold is None else f'{threshold:.3f}'}; "
          f'{Path(args.weights).parent / "metrics.json"}')
    return 0


def _detect(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from memory_nodes.perception.yolo_detector import make_detector
    from sim.camera import visible_instances
    from sim.pybullet_sim import PyBulletSimulator

    detector = (make_detector('yolo', args.weights, score_threshold=args.score)
                if args.weights else make_detector('sim_segmentation'))
    sim = PyBulletSimulator()
    try:
        sim.reset(args.seed)
        w = sim.home.waypoints[args.waypoint % len(sim.home.waypoints)]
        sim.robot.set_pose(w.x, w.y, 0.0)
        frame = sim.render()
        dets = detector.detect(frame.rgb, segmentation=frame.segmentation,
                               instances=visible_instances(frame, sim.ground_truth()))
    finally:
        sim.close()
    img = frame.rgb.astype(np.float32)
    rng = np.random.default_rng(0)
    for det in dets:
        img[det.mask] = 0.5 * img[det.mask] + 0.5 * rng.integers(40, 255, 3)
        print(f'{det.label:<16} {det.score:.2f} {int(det.mask.sum())} px')
    Image.fromarray(img.astype(np.uint8)).save(args.out)
    print(f'{len(dets)} detections ({detector.name}); overlay {args.out}')
    return 0
