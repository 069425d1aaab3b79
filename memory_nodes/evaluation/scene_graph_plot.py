"""A PNG of the robot's scene graph over the home's floor plan.

Rooms and walls come from the floor plan (what a robot's map gives: the sim bridge's
`load_episode` answer, or a room annotation); everything else is memory: furniture boxes,
objects (absent ones crossed out), and on/in relations drawn as lines to their support.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

Box = tuple[float, float, float, float]
Segment = tuple[float, float, float, float]


@dataclass
class FloorPlan:
    """Room footprints (xmin, ymin, xmax, ymax) and wall segments (x0, y0, x1, y1), in map."""

    rooms: Mapping[str, Box] = field(default_factory=dict)
    walls: Sequence[Segment] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FloorPlan:
        """From a dict with `rooms` (name -> box) and optional `walls` (list of segments)."""
        rooms = {str(k): tuple(map(float, v)) for k, v in dict(data.get('rooms', {})).items()}
        walls = [tuple(map(float, w)) for w in data.get('walls', [])]
        return cls(rooms, walls)  # type: ignore[arg-type]


def plot_scene_graph(graph: dict[str, Any], out: str | Path,
                     floor_plan: FloorPlan | None = None,
                     title: str = 'scene graph memory') -> Path:
    """Draw the graph dict of `LongTermMemory.to_dict()` (over the floor plan) to `out`."""
    nodes = {n['id']: n for n in graph.get('nodes', [])}
    fig, ax = plt.subplots(figsize=(11, 8))
    if floor_plan is not None:
        for name, (x0, y0, x1, y1) in floor_plan.rooms.items():
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor='#f4f1ea',
                                   edgecolor='none', zorder=0))
            ax.text((x0 + x1) / 2, y1 - 0.25, name.replace('_', ' '), ha='center',
                    va='top', fontsize=11, color='#7a6f5a', zorder=1)
        for x0, y0, x1, y1 in floor_plan.walls:
            ax.plot([x0, x1], [y0, y1], color='#555', lw=2.5, zorder=1)
    for n in nodes.values():
        x, y = n['position'][0], n['position'][1]
        if n['layer'] == 'furniture':
            ex, ey = max(n['extent'][0], 0.05), max(n['extent'][1], 0.05)
            ax.add_patch(Rectangle((x - ex / 2, y - ey / 2), ex, ey, facecolor='#9ec5f4',
                                   edgecolor='#3b6fb0', alpha=0.6, zorder=2))
            ax.text(x, y, n['label'], fontsize=6, ha='center', va='center', color='#1d3d66',
                    zorder=3)
    for src, dst, kind in graph.get('edges', []):
        if kind not in ('on', 'in') or src not in nodes or dst not in nodes:
            continue
        a, b = nodes[src]['position'], nodes[dst]['position']
        ax.plot([a[0], b[0]], [a[1], b[1]], color='#2a9d8f' if kind == 'on' else '#e76f51',
                lw=0.8, zorder=3)
    for n in nodes.values():
        if n['layer'] != 'object':
            continue
        x, y = n['position'][0], n['position'][1]
        absent = n.get('status') == 'absent'
        ax.scatter([x], [y], s=28, marker='x' if absent else 'o',
                   color='#888' if absent else '#f4a261', edgecolor='#7a3e00', zorder=4)
        ax.annotate(n['label'], (x, y), xytext=(3, 3), textcoords='offset points', fontsize=6,
                    color='#888' if absent else '#5a2d00', zorder=5)
    ax.plot([], [], color='#2a9d8f', label='on')
    ax.plot([], [], color='#e76f51', label='in')
    ax.scatter([], [], color='#f4a261', label='object')
    ax.scatter([], [], marker='x', color='#888', label='absent (moved)')
    ax.legend(loc='lower right', fontsize=8)
    counts = {}
    for n in nodes.values():
        counts[n['layer']] = counts.get(n['layer'], 0) + 1
    ax.set_title(f'{title}: ' + ', '.join(f'{v} {k}' for k, v in sorted(counts.items())))
    ax.set_aspect('equal')
    ax.autoscale()
    ax.set_xlabel('x (m, map)')
    ax.set_ylabel('y (m, map)')
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120, bbox_inches='tight')
    plt.close(fig)
    return out
