"""`embodied-memory sim import-ai2thor-scene FILE` (and `python -m sim.ai2thor.cli ...`).

Imports an AI2-THOR object dump, prints what it built (roles, counts per type, unmapped
names, notes, and with `--boxes` every object's box in `map`) and writes a top-down PNG.
`--check-pybullet` also builds the home in PyBullet and reports how far each built box is
from the dump's. `floorplan1-tasks` runs the ALFRED-L FloorPlan 1 tasks and prints the
per-task table.
"""

from __future__ import annotations

import argparse
import sys


def register_ai2thor(sim_subparsers: argparse._SubParsersAction) -> None:
    """Add `import-ai2thor-scene` and `floorplan1-tasks` to the `sim` subcommand group."""
    p = sim_subparsers.add_parser('import-ai2thor-scene',
                                  help='import an AI2-THOR object dump, print it, draw it')
    p.add_argument('file', help="JSON: controller.last_event.metadata['objects'] (a list)")
    p.add_argument('--out', default='scene.png', help='top-down PNG (default scene.png)')
    p.add_argument('--home-out', default=None, help='also write the HomeSpec JSON here')
    p.add_argument('--boxes', action='store_true', help='print every object box in map')
    p.add_argument('--check-pybullet', action='store_true',
                   help='build it in PyBullet and compare built boxes with the dump')
    p.set_defaults(func=_import_scene)
    t = sim_subparsers.add_parser('floorplan1-tasks',
                                  help='ALFRED-L FloorPlan 1 tasks in the imported FloorPlan1')
    t.add_argument('--alfred-dir', default=None, help='ALFRED-L directory '
                   '(default ../shared/datasets/alfred_l)')
    t.add_argument('--ai2thor-dir', default=None, help='AI2-THOR dump directory '
                   '(default ../shared/datasets/ai2thor)')
    t.add_argument('--compare', action='store_true',
                   help='also run them in the generated kitchen, side by side')
    t.set_defaults(func=_floorplan1_tasks)


def _import_scene(args: argparse.Namespace) -> int:
    from sim.ai2thor.scene_importer import SceneImportError, import_scene_file
    from sim.topdown import render_topdown
    try:
        scene = import_scene_file(args.file)
    except (OSError, SceneImportError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(scene.report())
    if args.boxes:
        print('\n'.join(scene.box_lines()))
    if args.check_pybullet:
        _check_pybullet(scene)
    if args.home_out:
        scene.home.save(args.home_out)
        print(f'home -> {args.home_out}')
    out = render_topdown(scene.home, args.out)
    print(f'top-down map -> {out}')
    return 0


def _check_pybullet(scene) -> None:
    from sim.pybullet_sim import PyBulletSimulator
    sim = PyBulletSimulator(width=64, height=48)
    try:
        sim.reset(scene.home)
        truth = sim.ground_truth()
    finally:
        sim.close()
    off = []
    for o in scene.objects:
        t = truth.get(o.object_id)
        if t is None:
            continue
        gap = max(abs(a - b) for a, b in zip(t.aabb_min + t.aabb_max, o.aabb_min + o.aabb_max))
        off.append((gap, o.object_id))
    within = sum(1 for gap, _ in off if gap <= 0.01)
    print(f'pybullet: {len(off)} bodies, {within} within 1 cm of their AI2-THOR box; '
          f'{len(scene.objects) - len(off)} not bodies (housings, unmapped)')
    for gap, oid in sorted(off, reverse=True):
        if gap > 0.01:
            print(f'  {oid}: {100 * gap:.1f} cm (see notes)')


def _floorplan1_tasks(args: argparse.Namespace) -> int:
    from sim.ai2thor.floorplan1 import DatasetMissing, floorplan1_home
    from sim.ai2thor.floorplan_tasks import (
        ALFRED_FILES,
        alfred_l_dir,
        compare_floorplan1,
        floorplan1_tasks,
        run_floorplan_tasks,
    )
    files = [alfred_l_dir(args.alfred_dir) / name for name in ALFRED_FILES]
    try:
        home = floorplan1_home(args.ai2thor_dir)
    except DatasetMissing as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    if args.compare:
        print(compare_floorplan1(files=files, floorplan1=home).table())
        return 0
    tasks = floorplan1_tasks(files)
    print('| task | supported | solved | skills | path m | reason |')
    print('|---|---|---|---|---|---|')
    for r in run_floorplan_tasks([t.task for t in tasks], home):
        skills = r.result.skills if r.result else 0
        print(f'| {r.task_id} | {"yes" if r.supported else "no"} | '
              f'{"yes" if r.success else "no"} | {skills} | {r.path_length_m:.1f} | '
              f'{"; ".join(r.reasons)} |')
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point until `sim` registers these subcommands."""
    parser = argparse.ArgumentParser(prog='python -m sim.ai2thor.cli')
    register_ai2thor(parser.add_subparsers(dest='command', required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
