"""`embodied-memory`: the project's command-line tool.

Each area registers its own subcommands (`register(subparsers)`), so this file only wires
them together: `launch` (the pip-install launcher), `sim` and `tasks` (simulator tools),
`bench` and later areas add theirs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Where subcommands come from: 'module' (its `register`) or 'module:function'.
COMMAND_MODULES = (
    'memory_nodes.launch.launcher',
    'memory_nodes.commands.smoke',
    'memory_nodes.commands.demo',
    'sim.cli',
    'sim.tasks_cli:register_tasks',
    'memory_nodes.commands.serve_model',
    'memory_nodes.commands.record',
    'memory_nodes.commands.memory_cli',
    'memory_nodes.evaluation.bench_cli',
    'memory_nodes.tools.detector_training.commands',
    'memory_nodes.commands.replay',
    'memory_nodes.commands.fleet_server',
    'memory_nodes.tools.goal_reader_training.commands',
    'memory_nodes.evaluation.fleet_demo',
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every area's subcommands."""
    parser = argparse.ArgumentParser(
        prog='embodied-memory',
        description='Embodied memory stack for household robots on ROS 2.',
    )
    subparsers = parser.add_subparsers(dest='command', required=True)
    for entry in COMMAND_MODULES:
        module, _, function = entry.partition(':')
        getattr(importlib.import_module(module), function or 'register')(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, dispatch to the chosen subcommand's `func`, return its code."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == '__main__':
    sys.exit(main())
