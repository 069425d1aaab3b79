"""Small 2-D geometry for floor plans: axis-aligned rectangles, yaw rotations, segment tests.

Rectangles are `(xmin, ymin, xmax, ymax)` in `map` metres. Furniture stands at yaws that
are multiples of pi/2, so its footprint is an axis-aligned rectangle.
"""

from __future__ import annotations

import math

Rect = tuple[float, float, float, float]


def rotate(yaw: float, x: float, y: float) -> tuple[float, float]:
    """Rotate the 2-D vector (x, y) by `yaw` radians (counter-clockwise)."""
    c, s = math.cos(yaw), math.sin(yaw)
    return c * x - s * y, s * x + c * y


def local_to_world(pos: tuple[float, float], yaw: float, x: float,
                   y: float) -> tuple[float, float]:
    """A point given in a frame at `pos` rotated by `yaw`, expressed in `map`."""
    dx, dy = rotate(yaw, x, y)
    return pos[0] + dx, pos[1] + dy


def footprint(pos: tuple[float, float], yaw: float, half_x: float, half_y: float) -> Rect:
    """Axis-aligned bounding rectangle of a `2*half_x` by `2*half_y` box at `pos`, `yaw`."""
    c, s = abs(math.cos(yaw)), abs(math.sin(yaw))
    ex = c * half_x + s * half_y
    ey = s * half_x + c * half_y
    return pos[0] - ex, pos[1] - ey, pos[0] + ex, pos[1] + ey


def inflate(rect: Rect, margin: float) -> Rect:
    """`rect` grown by `margin` on every side (shrunk if negative)."""
    return rect[0] - margin, rect[1] - margin, rect[2] + margin, rect[3] + margin


def overlaps(a: Rect, b: Rect) -> bool:
    """True if the open interiors of two rectangles intersect."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def contains(rect: Rect, x: float, y: float) -> bool:
    """True if (x, y) lies inside `rect` (borders included)."""
    return rect[0] <= x <= rect[2] and rect[1] <= y <= rect[3]


def inside(inner: Rect, outer: Rect) -> bool:
    """True if `inner` lies entirely within `outer`."""
    return (inner[0] >= outer[0] and inner[1] >= outer[1]
            and inner[2] <= outer[2] and inner[3] <= outer[3])


def segment_hits_rect(p: tuple[float, float], q: tuple[float, float], rect: Rect) -> bool:
    """True if the segment p-q passes through the interior of `rect` (Liang-Barsky)."""
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for pk, qk in ((-dx, p[0] - rect[0]), (dx, rect[2] - p[0]),
                   (-dy, p[1] - rect[1]), (dy, rect[3] - p[1])):
        if abs(pk) < 1e-12:
            if qk <= 0:
                return False
            continue
        t = qk / pk
        if pk < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 >= t1:
            return False
    return True


def segments_cross(p1: tuple[float, float], p2: tuple[float, float],
                   q1: tuple[float, float], q2: tuple[float, float]) -> bool:
    """True if segments p1-p2 and q1-q2 properly intersect (touching endpoints excluded)."""
    def orient(a, b, c) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def wrap_angle(a: float) -> float:
    """`a` wrapped to [-pi, pi)."""
    return (a + math.pi) % (2 * math.pi) - math.pi
