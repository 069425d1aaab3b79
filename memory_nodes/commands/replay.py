"""`embodied-memory replay BAG`: a robot's bag through perception and memory.

Offline (default): reads the bag, runs the detector + ObservationBuilder + RobotMemory
core as fast as possible (or `--rate R`), writes `memory.db`, `memory.json`,
`scene_graph.png` and `summary.json` to `--out`. With `--publish`: plays the bag onto
ROS 2 topics with `/clock`, like `ros2 bag play`, for the live nodes (use_sim_time).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from memory_nodes.bags.reader import BagError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `replay` subcommand."""
    p = subparsers.add_parser(
        'replay', help='replay an MCAP bag into memory (or publish it with --publish)',
        description='Run perception + memory on a bag (MCAP file or rosbag2 folder).')
    p.add_argument('bag', help='an .mcap file or a rosbag2 folder with one')
    p.add_argument('--out', default='replay_out', help='output folder (offline mode)')
    p.add_argument('--map', action='append', default=[], metavar='TOPIC=NAME',
                   help='bag topic -> logical name: rgb, depth, camera_info, segmentation, '
                        'instances, tf, tf_static (repeatable)')
    p.add_argument('--map-frame', default='map', help='frame the memory is built in')
    p.add_argument('--camera-frame', default='',
                   help="camera frame for the TF lookup (default: the image header's)")
    p.add_argument('--detector', default='sim_segmentation', choices=('sim_segmentation',
                                                                      'yolo'))
    p.add_argument('--yolo-weights', default='', help='weights for --detector yolo')
    p.add_argument('--rate', type=float, default=0.0,
                   help='times real time (0: as fast as possible; publish mode: default 1)')
    p.add_argument('--sync-tolerance', type=float, default=0.02,
                   help='stamp difference pairing one frame (s)')
    p.add_argument('--tf-tolerance', type=float, default=0.05,
                   help='extrapolation allowed past the TF samples (s)')
    p.add_argument('--publish', action='store_true',
                   help='publish the bag on its topics with /clock instead')
    p.add_argument('--loop', action='store_true', help='publish mode: start over at the end')
    p.add_argument('--delay', type=float, default=1.0,
                   help='publish mode: seconds between making the publishers and playing')
    p.add_argument('--quiet', action='store_true', help='no progress line')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the offline replay or the publisher; 0 on success, 2 on a bad bag."""
    try:
        if args.publish:
            from memory_nodes.ros.bag_player import play_bag

            return play_bag(args.bag, rate=args.rate or 1.0, loop=args.loop,
                            remap=args.map, delay=args.delay)
        return replay_to_folder(args)
    except BagError as exc:
        print(f'[replay] error: {exc}', file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f'[replay] error: {exc}', file=sys.stderr)
        return 2


def replay_to_folder(args: argparse.Namespace) -> int:
    """The offline replay with the command's options; prints where things went."""
    from memory_nodes.bags.replay import ReplayOptions, replay_bag

    opts = ReplayOptions(map_frame=args.map_frame, camera_frame=args.camera_frame,
                         detector=args.detector, yolo_weights=args.yolo_weights,
                         rate=args.rate, sync_tolerance=args.sync_tolerance,
                         tf_tolerance=args.tf_tolerance, out=args.out,
                         progress=not args.quiet)
    opts.remap(args.map)
    result = replay_bag(args.bag, opts)
    png = write_scene_graph_png(result.memory, Path(args.out) / 'scene_graph.png',
                                f'memory replayed from {Path(args.bag).name}')
    s = result.summary
    print(f'[replay] {s["frames_used"]}/{s["frames_in_bag"]} frames used, dropped '
          f'{json.dumps(s["frames_dropped"])}; {s["confirmed_objects"]} confirmed objects; '
          f'bag {s["bag_duration_s"]:.1f} s in {s["wall_s"]:.1f} s ({s["speedup"]:.1f}x '
          f'real time)')
    for reason, examples in s['dropped_examples'].items():
        for ex in examples[:1]:
            print(f'[replay]   {reason}: {ex["topic"]} at {ex["stamp"]:.3f}: {ex["detail"]}')
    for problem in s['problems']:
        print(f'[replay]   {problem["kind"]}: {problem["topic"] or "-"} at '
              f'{problem["stamp"]:.3f}: {problem["detail"]}')
    print(f'[replay] wrote {args.out}/memory.db, memory.json, {png.name}, summary.json')
    return 0


def write_scene_graph_png(memory, path: Path, title: str) -> Path:  # noqa: ANN001
    """The project's scene-graph drawing of a replayed memory (no floor plan: a bag has none)."""
    from memory_nodes.evaluation.scene_graph_plot import plot_scene_graph

    return plot_scene_graph(memory.ltm.to_dict(), path, title=title)
