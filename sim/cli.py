"""Simulator subcommands of `embodied-memory` (`sim ...`, `tasks ...`).

`register_sim` owns the `sim` group; the `tasks` group is registered by its own function.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the simulator's subcommands to the top-level parser."""
    register_sim(subparsers)


# ---------------------------------------------------------------------------- sim group
def register_sim(subparsers: argparse._SubParsersAction) -> None:
    """`embodied-memory sim render-map | export-home | camera`."""
    sim = subparsers.add_parser('sim', help='PyBullet household simulator tools')
    sub = sim.add_subparsers(dest='sim_command', required=True)
    from sim.ai2thor.cli import register_ai2thor

    register_ai2thor(sub)
    m = sub.add_parser('render-map', help='top-down PNG of a generated (or saved) home')
    _home_args(m)
    m.add_argument('--out', default='map.png', help='PNG path (default map.png)')
    m.add_argument('--no-graph', action='store_true', help='leave out the place graph')
    m.set_defaults(func=_render_map)
    e = sub.add_parser('export-home', help='write a generated home as HomeSpec JSON')
    _home_args(e)
    e.add_argument('--out', default='home.json')
    e.set_defaults(func=_export_home)
    c = sub.add_parser('camera', help='render the head camera at the start pose to a PNG')
    _home_args(c)
    c.add_argument('--out', default='camera.png')
    c.add_argument('--width', type=int, default=320)
    c.add_argument('--height', type=int, default=240)
    c.set_defaults(func=_camera)


def _home_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--seed', type=int, default=0, help='home generator seed')
    parser.add_argument('--rooms', default=None,
                        help='comma-separated room types (default kitchen,living_room,'
                             'bedroom,bathroom)')
    parser.add_argument('--home', default=None, help='load a HomeSpec JSON instead')


def _load_home(args: argparse.Namespace):
    from sim.home import HomeSpec
    from sim.home_generator import LayoutSpec, generate_home
    if args.home:
        return HomeSpec.load(args.home)
    layout = LayoutSpec()
    if args.rooms:
        layout.rooms = tuple(r.strip() for r in args.rooms.split(',') if r.strip())
    return generate_home(args.seed, layout)


def _render_map(args: argparse.Namespace) -> int:
    from sim.topdown import render_topdown
    home = _load_home(args)
    out = render_topdown(home, args.out, show_graph=not args.no_graph)
    print(f'{home.name}: {len(home.rooms)} rooms, {len(home.furniture)} furniture, '
          f'{len(home.objects)} objects, {len(home.waypoints)} waypoints -> {out}')
    return 0


def _export_home(args: argparse.Namespace) -> int:
    home = _load_home(args)
    home.save(args.out)
    print(f'{home.name} -> {args.out}')
    return 0


def _camera(args: argparse.Namespace) -> int:
    import matplotlib.pyplot as plt

    from sim.pybullet_sim import PyBulletSimulator
    sim = PyBulletSimulator(width=args.width, height=args.height)
    try:
        sim.reset(_load_home(args))
        frame = sim.render()
        plt.imsave(args.out, frame.rgb)
        print(f'{len(frame.instance_to_object)} objects in view: '
              f'{sorted(frame.instance_to_object.values())} -> {args.out}')
    finally:
        sim.close()
    return 0
