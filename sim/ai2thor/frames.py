"""Unity's frame (AI2-THOR) to REP 103 (`map`), and back.

Unity is left-handed with y up: x right, y up, z forward. REP 103 is right-handed with z
up: x forward, y left, z up. The map is x_ros = z_unity, y_ros = -x_unity,
z_ros = y_unity: a proper axis swap whose determinant is -1, which is exactly what turns a
left-handed frame into a right-handed one (renaming axes alone would keep the handedness
and mirror the scene). Yaw: Unity's rotation about +y is clockwise seen from above (z
turns towards x), REP 103 yaw is counter-clockwise about +z, so yaw_ros = -yaw_unity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Vec3 = tuple[float, float, float]


def unity_to_rep103(point: Sequence[float] | Mapping[str, float]) -> Vec3:
    """A Unity point (x, y, z) or {'x','y','z'} as (x, y, z) in REP 103. THE conversion."""
    if isinstance(point, Mapping):
        ux, uy, uz = float(point['x']), float(point['y']), float(point['z'])
    else:
        ux, uy, uz = (float(v) for v in point)
    return uz, -ux, uy


def rep103_to_unity(point: Sequence[float]) -> dict[str, float]:
    """Inverse of `unity_to_rep103`, as the {'x','y','z'} dict AI2-THOR actions take."""
    x, y, z = (float(v) for v in point)
    return {'x': -y, 'y': z, 'z': x}


def unity_box_to_rep103(corner_points: Sequence[Sequence[float]]) -> tuple[Vec3, Vec3]:
    """The 8 `cornerPoints` of an AI2-THOR axis-aligned box -> (min, max) in REP 103."""
    if len(corner_points) < 2:
        raise ValueError(f'need the corner points of a box, got {len(corner_points)}')
    pts = [unity_to_rep103(c) for c in corner_points]
    lo = tuple(min(p[k] for p in pts) for k in range(3))
    hi = tuple(max(p[k] for p in pts) for k in range(3))
    return lo, hi  # type: ignore[return-value]


def unity_yaw_to_rep103(yaw_deg: float) -> float:
    """Unity rotation about y (degrees, clockwise from above) -> REP 103 yaw (radians)."""
    return _wrap(-math.radians(yaw_deg))


def rep103_yaw_to_unity(yaw: float) -> float:
    """REP 103 yaw (radians) -> Unity rotation about y in degrees, in [0, 360)."""
    return (-math.degrees(yaw)) % 360.0


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi
