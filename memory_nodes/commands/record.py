"""`embodied-memory record OUT.mcap`: record the running stack to an MCAP file.

The recording itself is the `recorder` node (`memory_nodes.ros.recorder_node`), run here
in this process; rclpy is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import sys

from memory_nodes.bags.mcap_writer import COMPRESSION
from memory_nodes.bags.recording import DEFAULT_TOPICS


def _ros_args(ns: argparse.Namespace) -> list[str]:
    """The recorder node's parameters for these command-line options."""
    args = ['--ros-args', '-p', f'output_path:={ns.output}',
            '-p', f'duration:={float(ns.duration)}',
            '-p', f'all_topics:={"true" if ns.all else "false"}',
            '-p', f'compression:={ns.compression}']
    if ns.topics:
        quoted = ','.join("'" + t.replace("'", "''") + "'" for t in ns.topics)
        args += ['-p', f'topics:=[{quoted}]']
    if ns.use_sim_time:
        args += ['-p', 'use_sim_time:=true']
    return args


def _cmd_record(ns: argparse.Namespace) -> int:
    if ns.duration < 0:
        raise SystemExit(f'--duration {ns.duration}: must be >= 0')
    from memory_nodes.ros.recorder_node import run

    return run([sys.argv[0], *_ros_args(ns)])


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `record OUT.mcap` to the command line."""
    p = subparsers.add_parser(
        'record', help='record topics to an MCAP file (opens in ros2 bag and Foxglove)',
        description='Record the running stack to MCAP (ROS 2 profile, CDR messages, full '
                    "message definitions, publishers' QoS). Stop with Ctrl-C or "
                    f'--duration. Default topics: {" ".join(DEFAULT_TOPICS)}.')
    p.add_argument('output', help='MCAP file to write')
    p.add_argument('--topics', nargs='+', metavar='T', help='record these topics instead')
    p.add_argument('--all', action='store_true', help='record every topic in the graph')
    p.add_argument('--duration', type=float, default=0.0, metavar='S',
                   help='stop after S seconds (default: until Ctrl-C / SIGTERM)')
    p.add_argument('--compression', choices=sorted(COMPRESSION), default='zstd',
                   help='chunk compression (default zstd)')
    p.add_argument('--use-sim-time', action='store_true',
                   help='log times from /clock instead of the wall clock')
    p.set_defaults(func=_cmd_record)
