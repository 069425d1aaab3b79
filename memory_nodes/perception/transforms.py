"""Rigid transforms as 4x4 matrices and (x, y, z, w) quaternions: the math of a TF tree.

Conventions are ROS's: a quaternion is (x, y, z, w) (the order of ROS messages), a
transform `a_T_b` takes points from frame `b` to frame `a` (what tf2 publishes with
`header.frame_id = a`, `child_frame_id = b`), and chaining is matrix product
(`map_T_base = map_T_odom @ odom_T_base`). Bad input raises `ValueError` saying what was
wrong; nothing here knows ROS messages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Quaternion = tuple[float, float, float, float]

#: Rotation of a camera's optical frame (z forward, x right, y down; REP 103) in its body
#: frame (x forward, y left, z up): the `*_link -> *_optical_frame` transform of every ROS
#: camera driver.
OPTICAL_IN_BODY: Quaternion = (-0.5, 0.5, -0.5, 0.5)


def normalized(q: Sequence[float]) -> Quaternion:
    """`q` scaled to unit length; ValueError for a non-finite or zero quaternion."""
    a = np.asarray(q, dtype=float).reshape(-1)
    if a.shape != (4,):
        raise ValueError(f'a quaternion has 4 components (x, y, z, w), got {a.size}')
    n = float(np.linalg.norm(a))
    if not np.isfinite(a).all() or n < 1e-9:
        raise ValueError(f'quaternion {a.tolist()} is not finite or has zero length')
    x, y, z, w = (float(v) for v in a / n)
    return x, y, z, w


def quaternion_to_matrix(q: Sequence[float]) -> np.ndarray:
    """3x3 rotation of a quaternion (normalised first)."""
    x, y, z, w = normalized(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def matrix_to_quaternion(rotation: np.ndarray) -> Quaternion:
    """Unit quaternion (w >= 0) of a 3x3 rotation (or the rotation block of a 4x4)."""
    r = np.asarray(rotation, dtype=float)[:3, :3]
    if not np.isfinite(r).all():
        raise ValueError('rotation matrix is not finite')
    trace = float(np.trace(r))
    if trace > 0:
        s = math.sqrt(trace + 1.0) * 2
        q = [(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s,
             0.25 * s]
    else:
        i = int(np.argmax(np.diag(r)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = math.sqrt(max(1.0 + r[i, i] - r[j, j] - r[k, k], 1e-12)) * 2
        q = [0.0, 0.0, 0.0, (r[k, j] - r[j, k]) / s]
        q[i] = 0.25 * s
        q[j] = (r[j, i] + r[i, j]) / s
        q[k] = (r[k, i] + r[i, k]) / s
    if q[3] < 0:
        q = [-v for v in q]
    return normalized(q)


def quaternion_multiply(a: Sequence[float], b: Sequence[float]) -> Quaternion:
    """The product `a * b` (rotate by b, then by a), both (x, y, z, w)."""
    ax, ay, az, aw = (float(v) for v in a)
    bx, by, bz, bw = (float(v) for v in b)
    return (aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz)


def axis_angle(axis: Sequence[float], angle: float) -> Quaternion:
    """Quaternion of a rotation by `angle` radians about `axis` (any length but zero)."""
    a = np.asarray(axis, dtype=float)
    n = float(np.linalg.norm(a))
    if n < 1e-12 or not math.isfinite(angle):
        raise ValueError(f'rotation about {a.tolist()} by {angle!r}: bad axis or angle')
    s = math.sin(angle / 2) / n
    return float(a[0] * s), float(a[1] * s), float(a[2] * s), math.cos(angle / 2)


def yaw_quaternion(yaw: float) -> Quaternion:
    """Rotation by `yaw` radians about z."""
    return 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)


def make_transform(translation: Sequence[float] = (0.0, 0.0, 0.0),
                   rotation: Sequence[float] = (0.0, 0.0, 0.0, 1.0)) -> np.ndarray:
    """4x4 transform from a translation (x, y, z) and a quaternion (x, y, z, w)."""
    t = np.asarray(translation, dtype=float).reshape(-1)
    if t.shape != (3,) or not np.isfinite(t).all():
        raise ValueError(f'translation {t.tolist()} is not 3 finite numbers')
    m = np.eye(4)
    m[:3, :3] = quaternion_to_matrix(rotation)
    m[:3, 3] = t
    return m


def transform_parts(matrix: np.ndarray) -> tuple[tuple[float, float, float], Quaternion]:
    """(translation, quaternion) of a 4x4 transform."""
    m = np.asarray(matrix, dtype=float)
    if m.shape != (4, 4):
        raise ValueError(f'a transform is 4x4, got shape {m.shape}')
    x, y, z = (float(v) for v in m[:3, 3])
    return (x, y, z), matrix_to_quaternion(m[:3, :3])


def invert(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a rigid 4x4 transform (`b_T_a` from `a_T_b`)."""
    m = np.asarray(matrix, dtype=float)
    out = np.eye(4)
    out[:3, :3] = m[:3, :3].T
    out[:3, 3] = -m[:3, :3].T @ m[:3, 3]
    return out


def compose(*matrices: np.ndarray) -> np.ndarray:
    """Chain transforms left to right: `a_T_b`, `b_T_c` give `a_T_c`."""
    out = np.eye(4)
    for m in matrices:
        out = out @ np.asarray(m, dtype=float)
    return out


def slerp(a: Sequence[float], b: Sequence[float], fraction: float) -> Quaternion:
    """Spherical interpolation from `a` (fraction 0) to `b` (fraction 1), shortest path."""
    qa = np.asarray(normalized(a))
    qb = np.asarray(normalized(b))
    dot = float(qa @ qb)
    if dot < 0:
        qb, dot = -qb, -dot
    if dot > 0.9995:  # nearly the same rotation: linear is exact enough and stable
        return normalized(qa + fraction * (qb - qa))
    theta = math.acos(min(dot, 1.0))
    sa = math.sin((1 - fraction) * theta) / math.sin(theta)
    sb = math.sin(fraction * theta) / math.sin(theta)
    return normalized(sa * qa + sb * qb)


def interpolate(a: np.ndarray, b: np.ndarray, fraction: float) -> np.ndarray:
    """The transform `fraction` of the way from `a` to `b` (linear position, slerp rotation)."""
    ta, qa = transform_parts(a)
    tb, qb = transform_parts(b)
    t = [x + fraction * (y - x) for x, y in zip(ta, tb)]
    return make_transform(t, slerp(qa, qb, fraction))


def planar_pose(x: float, y: float, yaw: float, z: float = 0.0) -> np.ndarray:
    """4x4 pose of a frame at (x, y, z) turned by `yaw` about z (a mobile base)."""
    return make_transform((x, y, z), yaw_quaternion(yaw))


def pitched_mount(forward: float, height: float, pitch: float, left: float = 0.0
                  ) -> np.ndarray:
    """A sensor mount on a body: at (forward, left, height), pitched `pitch` rad downward.

    Pitching down is a positive rotation about the body's y (left) axis in REP 103.
    """
    return make_transform((forward, left, height), axis_angle((0.0, 1.0, 0.0), pitch))


def optical_in_body() -> np.ndarray:
    """The fixed `*_link -> *_optical_frame` transform (rotation only)."""
    return make_transform((0.0, 0.0, 0.0), OPTICAL_IN_BODY)
