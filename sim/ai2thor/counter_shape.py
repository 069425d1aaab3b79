"""Corner counters: AI2-THOR gives an L-shaped counter one box that also spans free floor.

Built as that box, the counter would be a phantom table over the floor in the corner it
wraps. `split_corner_counter` finds the largest rectangle of the box, anchored at the
corner away from the walls, that nothing stands under or rests on, and returns the two
arms around it (their union is the original box).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

CELL = 0.05  # metres
WALL_GAP = 0.35  # a counter side this close to a wall runs along it
MIN_FREE_FRACTION = 0.25  # split only if the free corner is at least this much of the box

Vec3 = tuple[float, float, float]


class _Boxed(Protocol):
    object_id: str
    ai2thor_type: str
    aabb_min: Vec3
    aabb_max: Vec3


def _supports(counter: _Boxed, others: list[_Boxed]) -> list[_Boxed]:
    """Things under the counter top or resting on it (they show where the counter is)."""
    lo, hi = counter.aabb_min[2], counter.aabb_max[2]
    out = []
    for t in others:
        if t is counter or t.ai2thor_type in ('Floor', 'Window', 'CounterTop'):
            continue
        under = t.aabb_min[2] < lo and t.aabb_max[2] <= hi + 0.05
        on_top = abs(t.aabb_min[2] - lo) <= 0.05 or abs(t.aabb_min[2] - hi) <= 0.05
        if under or on_top:
            out.append(t)
    return out


def split_corner_counter(counter: _Boxed, others: list[_Boxed],
                         room: tuple[float, float, float, float]
                         ) -> list[tuple[str, Vec3, Vec3]]:
    """[(id, min, max)] of the counter's arms; one entry (its own box) if it is no L."""
    lo, hi = counter.aabb_min, counter.aabb_max
    whole = [(counter.object_id, lo, hi)]
    near = {'x0': lo[0] - room[0] < WALL_GAP, 'x1': room[2] - hi[0] < WALL_GAP,
            'y0': lo[1] - room[1] < WALL_GAP, 'y1': room[3] - hi[1] < WALL_GAP}
    wall_x = 'x0' if near['x0'] else 'x1' if near['x1'] else None
    wall_y = 'y0' if near['y0'] else 'y1' if near['y1'] else None
    if wall_x is None or wall_y is None:
        return whole
    nx = max(1, round((hi[0] - lo[0]) / CELL))
    ny = max(1, round((hi[1] - lo[1]) / CELL))
    xs = lo[0] + (np.arange(nx) + 0.5) * (hi[0] - lo[0]) / nx
    ys = lo[1] + (np.arange(ny) + 0.5) * (hi[1] - lo[1]) / ny
    covered = np.zeros((nx, ny), dtype=bool)
    for t in _supports(counter, others):
        mx = (xs >= t.aabb_min[0]) & (xs <= t.aabb_max[0])
        my = (ys >= t.aabb_min[1]) & (ys <= t.aabb_max[1])
        covered |= np.outer(mx, my)
    # Anchor the search at the corner away from both walls: flip it to index (0, 0).
    grid = covered[::-1, :] if wall_x == 'x0' else covered
    grid = grid[:, ::-1] if wall_y == 'y0' else grid
    free_run = np.argmax(np.concatenate([grid, np.ones((nx, 1), bool)], axis=1), axis=1)
    best = (0, 0, 0)
    for w in range(1, nx + 1):
        h = int(free_run[:w].min())
        if w * h > best[0]:
            best = (w * h, w, h)
    area, w, h = best
    if area < MIN_FREE_FRACTION * nx * ny or w == nx or h == ny:
        return whole
    # The free rectangle in real coordinates.
    dx, dy = w * (hi[0] - lo[0]) / nx, h * (hi[1] - lo[1]) / ny
    fx = (hi[0] - dx, hi[0]) if wall_x == 'x0' else (lo[0], lo[0] + dx)
    fy = (hi[1] - dy, hi[1]) if wall_y == 'y0' else (lo[1], lo[1] + dy)
    # Arm along the x wall: the full y extent outside the free rectangle's x range.
    ax = (lo[0], fx[0]) if wall_x == 'x0' else (fx[1], hi[0])
    arm_a = ((ax[0], lo[1], lo[2]), (ax[1], hi[1], hi[2]))
    by = (lo[1], fy[0]) if wall_y == 'y0' else (fy[1], hi[1])
    arm_b = ((fx[0], by[0], lo[2]), (fx[1], by[1], hi[2]))
    arms = sorted([arm_a, arm_b], key=lambda a: -(a[1][0] - a[0][0]) * (a[1][1] - a[0][1]))
    return [(counter.object_id, *arms[0]), (f'{counter.object_id}#2', *arms[1])]
