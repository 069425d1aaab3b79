"""A top-down PNG of a home: rooms, walls, furniture, objects, place graph and robot."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, Rectangle  # noqa: E402

from sim.catalog import CATALOG  # noqa: E402
from sim.home import HomeSpec  # noqa: E402
from sim.world_builder import FLOOR_COLOURS  # noqa: E402


def render_topdown(home: HomeSpec, out: str | Path,
                   robot_pose: tuple[float, float, float] | None = None,
                   positions: dict[str, tuple[float, float, float]] | None = None,
                   show_graph: bool = True, dpi: int = 110) -> Path:
    """Draw `home` to `out` (PNG). `positions` overrides object centres (e.g. live truth)."""
    fig, ax = plt.subplots(figsize=topdown_size(home))
    draw_home(ax, home, positions, show_graph)
    if robot_pose is None and home.robot_start:
        wp = home.waypoint(home.robot_start)
        robot_pose = (wp.x, wp.y, 0.0)
    if robot_pose is not None:
        x, y, yaw = robot_pose
        ax.add_patch(Circle((x, y), 0.22, facecolor='tab:red', edgecolor='k', zorder=10))
        ax.arrow(x, y, 0.35 * math.cos(yaw), 0.35 * math.sin(yaw), width=0.03,
                 color='k', zorder=11)
    ax.set_title(f'{home.name}: {len(home.furniture)} furniture, {len(home.objects)} objects, '
                 f'{len(home.waypoints)} waypoints (x forward, y left, metres)')
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, bbox_inches='tight')
    plt.close(fig)
    return out


def topdown_size(home: HomeSpec) -> tuple[float, float]:
    """Figure size (inches) that `render_topdown` uses for `home`."""
    xs = [v for r in home.rooms for v in (r.footprint[0], r.footprint[2])]
    ys = [v for r in home.rooms for v in (r.footprint[1], r.footprint[3])]
    w, h = max(xs) - min(xs), max(ys) - min(ys)
    return (max(6.0, w * 1.6), max(5.0, h * 1.6))


def draw_home(ax, home: HomeSpec,  # noqa: ANN001 - a matplotlib Axes
              positions: dict[str, tuple[float, float, float]] | None = None,
              show_graph: bool = True) -> None:
    """Draw rooms, walls, furniture, objects (and the place graph) of `home` on `ax`."""
    positions = positions or {}
    xs = [v for r in home.rooms for v in (r.footprint[0], r.footprint[2])]
    ys = [v for r in home.rooms for v in (r.footprint[1], r.footprint[3])]
    for r in home.rooms:
        x0, y0, x1, y1 = r.footprint
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0,
                               color=FLOOR_COLOURS.get(r.room_type, (0.8, 0.8, 0.8, 1)),
                               zorder=0))
        ax.text(x0 + 0.15, y1 - 0.3, r.name, fontsize=11, weight='bold', zorder=6)
    if show_graph:
        pos = {wp.name: (wp.x, wp.y) for wp in home.waypoints}
        for a, b in home.edges:
            ax.plot([pos[a][0], pos[b][0]], [pos[a][1], pos[b][1]], color='0.55', lw=0.4,
                    zorder=1)
        kinds = {'room': ('0.4', 6), 'door': ('tab:green', 14), 'approach': ('tab:blue', 8)}
        for wp in home.waypoints:
            c, s = kinds.get(wp.kind, ('0.4', 6))
            ax.scatter([wp.x], [wp.y], s=s, color=c, zorder=2)
    for wall in home.walls:
        ax.plot([wall.start[0], wall.end[0]], [wall.start[1], wall.end[1]], color='k',
                lw=3, solid_capstyle='butt', zorder=5)
    for f in home.furniture:
        x0, y0, x1, y1 = f.footprint()
        colour = CATALOG[f.object_type].colour if f.object_type in CATALOG else (0.5,) * 3
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=colour[:3],
                               edgecolor='k', lw=0.6, alpha=0.55 if f.parent else 0.8,
                               zorder=3))
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, f.object_id, fontsize=5, ha='center',
                va='center', zorder=7)
    for o in home.objects:
        x, y, _ = positions.get(o.object_id, o.position)
        colour = CATALOG[o.object_type].colour[:3] if o.object_type in CATALOG else 'r'
        ax.add_patch(Circle((x, y), 0.06, facecolor=colour, edgecolor='k', lw=0.5, zorder=8))
        ax.text(x, y + 0.08, o.object_id, fontsize=4.5, ha='center', zorder=9, color='0.1')
    ax.set_xlim(min(xs) - 0.2, max(xs) + 0.2)
    ax.set_ylim(min(ys) - 0.2, max(ys) + 0.2)
    ax.set_aspect('equal')
