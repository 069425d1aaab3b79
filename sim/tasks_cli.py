"""`embodied-memory tasks ...`: import ALFRED-L, validate and list suites, regenerate them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _import_alfred_l(args: argparse.Namespace) -> int:
    from sim.alfred_l import AlfredFileError, import_alfred_l_file
    from sim.task_schema import save_suite

    try:
        result = import_alfred_l_file(args.file)
    except (AlfredFileError, FileNotFoundError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(result.report())
    out = Path(args.out) if args.out else Path(Path(args.file).stem + '.suite.json')
    save_suite(result.suite, out)
    print(f'wrote {out} ({result.suite.num_tasks} task(s) in '
          f'{len(result.suite.episodes)} episode(s))')
    return 0


def _validate(args: argparse.Namespace) -> int:
    from sim.task_schema import TaskFileError, load_suite

    status = 0
    for name in args.files:
        try:
            suite = load_suite(name)
        except TaskFileError as err:
            print(f'INVALID {err}')
            status = 1
            continue
        homes = sorted({e.home.seed for e in suite.episodes})
        print(f'ok {name}: suite {suite.name!r}, {suite.num_tasks} task(s), '
              f'{len(suite.episodes)} episode(s), home seeds {homes}')
    return status


def _list(args: argparse.Namespace) -> int:
    from sim.task_schema import load_suite

    suite = load_suite(args.suite)
    for episode, task in suite.tasks():
        changes = f' (+{len(task.world_changes)} world change(s) before)' \
            if task.world_changes else ''
        print(f'{episode.episode_id}  {task.task_id}{changes}: {task.instruction}')
        for goal in task.goals:
            print(f'    {goal}')
    return 0


def _generate(args: argparse.Namespace) -> int:
    from sim.suites import write_suites

    for path, suite in write_suites(Path(args.out_dir) if args.out_dir else None,
                                    progress=print):
        print(f'wrote {path}: {suite.num_tasks} task(s), {len(suite.episodes)} episode(s)')
    return 0


def register_tasks(subparsers: argparse._SubParsersAction) -> None:
    """Add `tasks import-alfred-l|validate|list|generate` to the top-level parser."""
    tasks = subparsers.add_parser('tasks', help='task suites: import, validate, list, generate')
    sub = tasks.add_subparsers(dest='tasks_command', required=True)

    imp = sub.add_parser('import-alfred-l', help='import a KARMA ALFRED-L task file')
    imp.add_argument('file', help='ALFRED-L JSON (SimpleTasks/CompositeTasks/... lists)')
    imp.add_argument('--out', help='suite JSON to write (default: <file stem>.suite.json)')
    imp.set_defaults(func=_import_alfred_l)

    val = sub.add_parser('validate', help='check suite files against the schema')
    val.add_argument('files', nargs='+', help='suite JSON files or names (simple, stale, ...)')
    val.set_defaults(func=_validate)

    lst = sub.add_parser('list', help='print the tasks of a suite and their goal conditions')
    lst.add_argument('suite', help='suite JSON file or name')
    lst.set_defaults(func=_list)

    gen = sub.add_parser('generate', help='regenerate the built-in suites (deterministic)')
    gen.add_argument('--out-dir', help='directory to write to (default: sim/tasks)')
    gen.set_defaults(func=_generate)
