"""The project's own launcher for pip installs: `embodied-memory launch <stack>`.

`launch`/`launch_ros` are not installable from PyPI, so this starts the same node set as
`launch/<stack>.launch.py` (both read `memory_nodes.launch.stacks`), each node in its own process,
with the same parameter files. Ctrl-C (SIGINT) or SIGTERM stops every node cleanly; if any
node dies, the others are stopped and the launcher exits non-zero.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from memory_nodes.launch.ros_env import remove_stale_shm_segments, ros_environment
from memory_nodes.launch.stacks import (
    STACKS,
    argument_parameters,
    config_dir,
    get_stack,
    node_parameters,
    resolve_arguments,
    started_nodes,
)


@dataclass
class NodeProcess:
    """How one node of a stack is started by this launcher."""

    name: str
    argv: list[str]
    params_file: str
    parameters: dict[str, object]


def _param_text(value: object) -> str:
    if value == '':
        return "''"  # YAML's empty string (a bare `name:=` would be null)
    return str(value).lower() if isinstance(value, bool) else str(value)


def plan(stack_name: str,
         overrides: dict[str, dict[str, object]] | None = None,
         arguments: dict[str, str] | None = None) -> list[NodeProcess]:
    """The processes `launch` would start for `stack_name` (no side effects).

    `arguments` are the stack's `name:=value` arguments (`record:=true`).
    """
    stack = get_stack(stack_name)
    values = resolve_arguments(stack, arguments)
    overrides = overrides or {}
    processes = []
    for spec in started_nodes(stack, values):
        params_file = str(config_dir() / spec.config)
        parameters = {**node_parameters(stack, spec), **argument_parameters(stack, spec, values),
                      **overrides.get(spec.name, {})}
        argv = [sys.executable, '-m', spec.module, '--ros-args', '-r', f'__node:={spec.name}']
        argv += ['--params-file', params_file]
        for key, value in parameters.items():
            argv += ['-p', f'{key}:={_param_text(value)}']
        for src, dst in spec.remappings:
            argv += ['-r', f'{src}:={dst}']
        processes.append(NodeProcess(spec.name, argv, params_file, parameters))
    return processes


def _pump(name: str, stream, out, quiet: bool) -> None:  # noqa: ANN001 - file objects
    for line in iter(stream.readline, ''):
        # Quiet mode keeps warnings and errors only (the demo prints its own progress).
        if quiet and '[INFO]' in line:
            continue
        out.write(f'[{name}] {line}')
        out.flush()


class Launcher:
    """Starts, watches and stops the node processes of one stack."""

    def __init__(self, processes: list[NodeProcess], shutdown_timeout: float = 8.0,
                 quiet: bool = False) -> None:
        self.processes = processes
        self.quiet = quiet
        self.shutdown_timeout = shutdown_timeout
        self.children: dict[str, subprocess.Popen] = {}
        self._stopping = threading.Event()

    def start(self) -> None:
        """Start every node process, with loopback DDS defaults in its environment.

        Shared-memory segments of Fast DDS processes that were killed before (kill -9,
        OOM) are removed first: nothing else frees that RAM.
        """
        env = ros_environment()
        removed = remove_stale_shm_segments()
        if removed:
            print(f'[launch] removed {len(removed)} shared-memory segment(s) of dead Fast '
                  f'DDS processes from /dev/shm', file=sys.stderr)
        for proc in self.processes:
            child = subprocess.Popen(
                proc.argv,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
            )
            self.children[proc.name] = child
            threading.Thread(
                target=_pump, args=(proc.name, child.stdout, sys.stdout, self.quiet), daemon=True
            ).start()

    def stop(self) -> None:
        """SIGINT every live node, then SIGTERM / SIGKILL whatever outlives the timeout."""
        self._stopping.set()
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            deadline = time.monotonic() + self.shutdown_timeout
            while time.monotonic() < deadline and any(
                c.poll() is None for c in self.children.values()
            ):
                time.sleep(0.05)
            for child in self.children.values():
                if child.poll() is None:
                    child.send_signal(sig)
        for child in self.children.values():
            child.wait()

    def wait(self) -> int:
        """Block until a node exits or we are asked to stop; return the launcher's exit code."""
        while not self._stopping.is_set():
            for name, child in self.children.items():
                code = child.poll()
                if code is not None:
                    print(f'[launch] node {name!r} exited with code {code}; stopping the rest',
                          file=sys.stderr)
                    self.stop()
                    return code if code != 0 else 1
            time.sleep(0.1)
        return 0


def run(stack_name: str, overrides: dict[str, dict[str, object]] | None = None,
        arguments: dict[str, str] | None = None) -> int:
    """Launch a stack in the foreground until Ctrl-C or a node dies."""
    launcher = Launcher(plan(stack_name, overrides, arguments))

    def _on_signal(signum: int, _frame: object) -> None:
        launcher._stopping.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    print(f'[launch] {stack_name}: starting {", ".join(p.name for p in launcher.processes)}')
    launcher.start()
    code = launcher.wait()
    if launcher._stopping.is_set():
        launcher.stop()
        bad = {n: c.returncode for n, c in launcher.children.items()
               if c.returncode not in (0, -signal.SIGINT)}
        if bad and code == 0:
            print(f'[launch] nodes exited uncleanly: {bad}', file=sys.stderr)
            code = 1
    print(f'[launch] {stack_name}: stopped (exit {code})')
    return code


def _parse_overrides(items: list[str]) -> dict[str, dict[str, object]]:
    overrides: dict[str, dict[str, object]] = {}
    for item in items:
        try:
            target, value = item.split('=', 1)
            node, key = target.split('.', 1)
        except ValueError:
            raise SystemExit(f'--param {item!r}: expected NODE.NAME=VALUE') from None
        overrides.setdefault(node, {})[key] = value
    return overrides


def _parse_arguments(items: list[str]) -> dict[str, str]:
    """`record:=true record_path:=x.mcap` -> {'record': 'true', 'record_path': 'x.mcap'}."""
    out = {}
    for item in items:
        name, sep, value = item.partition(':=')
        if not sep or not name:
            raise SystemExit(f'{item!r}: expected a launch argument NAME:=VALUE')
        out[name] = value
    return out


def _cmd_launch(args: argparse.Namespace) -> int:
    try:
        processes = plan(args.stack, _parse_overrides(args.param),
                         _parse_arguments(args.arguments))
    except ValueError as exc:
        raise SystemExit(f'launch {args.stack}: {exc}') from None
    if args.dry_run:
        for proc in processes:
            print(' '.join(proc.argv))
        return 0
    return run(args.stack, _parse_overrides(args.param), _parse_arguments(args.arguments))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `launch STACK` to the command line."""
    p = subparsers.add_parser(
        'launch',
        help='start a node stack (same nodes as launch/<stack>.launch.py)',
        description='\n'.join(f'{s.name}: {s.description}' for s in STACKS.values()),
    )
    p.add_argument('stack', choices=sorted(STACKS))
    p.add_argument('arguments', nargs='*', metavar='NAME:=VALUE',
                   help='launch arguments, as for ros2 launch (sim_stack: record:=true '
                        'record_path:=FILE.mcap)')
    p.add_argument('--param', action='append', default=[], metavar='NODE.NAME=VALUE',
                   help='override one parameter of one node')
    p.add_argument('--dry-run', action='store_true', help='print the commands, start nothing')
    p.set_defaults(func=_cmd_launch)
