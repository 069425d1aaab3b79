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
    t.add_argument('--sitting-epochs', type=int, default=None, metavar='N',
                   help='stop after N epochs of this sitting; continue later with --resume')
    t.add_argument('--resume', nargs='?', const='shipped', default=None, metavar='WEIGHTS',
                   help='more training: continue the interrupted run in --out if there is '
                   'one (same epochs, optimizer and schedule), else start from WEIGHTS '
                   '(default: the shipped models/detector weights) for --epochs more')
    t.set_defaults(func=_train)

    c = sub.add_parser('calibrate', help="measure the detector's recall by class and "
                       'distance and its label confusions on fresh homes; written into '
                       'metrics.json next to the weights (the memory reads it)')
    c.add_argument('--weights', required=True, help='.pt weights from perception train')
    c.add_argument('--homes', type=int, default=8, help='fresh homes (default 8)')
    c.add_argument('--views-per-home', type=int, default=24, help='views per home (24)')
    c.set_defaults(func=_calibrate)

    s = sub.add_parser('ship', help='copy a training run into models/detector (the weights '
                       'every detector:=yolo uses by default), with its metrics and classes')
    s.add_argument('--run', required=True, help='run folder of perception train (--out)')
    s.add_argument('--data', default=None, help='its data.yaml (records the dataset manifest)')
    s.add_argument('--to', default=None, help='destination folder (default models/detector)')
    s.set_defaults(func=_ship)

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
    from memory_nodes.perception.yolo_detector import shipped_weights
    from memory_nodes.tools.detector_training.training import TrainConfig, train

    init = None
    if args.resume is not None:
        init = shipped_weights() if args.resume == 'shipped' else Path(args.resume)
    config = TrainConfig(data=Path(args.data), out=Path(args.out), epochs=args.epochs,
                         imgsz=args.imgsz, batch=args.batch, workers=args.workers,
                         threads=args.threads, seed=args.seed, fraction=args.fraction,
                         time_hours=args.hours, lr0=args.lr0, nbs=args.nbs,
                         init_weights=init, resume=args.resume is not None,
                         stop_after_epochs=args.sitting_epochs)
    result = train(config, lambda m: print(m, flush=True))
    if not result.finished:
        print(f'sitting over: {result.weights} holds the run so far ({result.seconds / 60:.1f} '
              f'min of training); run the same command with --resume to continue')
        return 0
    print(f'weights {result.weights}; training {result.seconds / 60:.1f} min')
    print(f'val homes (unseen): mask mAP50 {result.map50:.3f} mAP50-95 {result.map50_95:.3f} '
          f'(box mAP50 {result.box_map50:.3f}); curves {result.curves}')
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from memory_nodes.tools.detector_training.calibration import (
        CalibrationConfig,
        calibrate_weights,
    )

    record = calibrate_weights(Path(args.weights), CalibrationConfig(
        homes=args.homes, views_per_home=args.views_per_home), lambda m: print(m, flush=True))
    recalls = [sum(r) / len(r) for r in record['recall'].values()]
    print(f"{record['frames']} views, {len(record['recall'])} classes: mean recall "
          f"{(sum(recalls) / len(recalls)) if recalls else 0.0:.3f}; confusions "
          + ', '.join(f'{a}->{b} {r:.2f}' for a, b, r in record['confusions'][:6]))
    return 0


def _ship(args: argparse.Namespace) -> int:
    from memory_nodes.tools.detector_training.shipping import ship_run

    shipped = ship_run(Path(args.run), Path(args.to) if args.to else None,
                       Path(args.data) if args.data else None)
    print(f'shipped {shipped.weights} ({shipped.weights.stat().st_size / 1e6:.1f} MB), '
          f'mask mAP50 {shipped.map50:.3f} on the val homes; {len(shipped.classes)} classes')
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
