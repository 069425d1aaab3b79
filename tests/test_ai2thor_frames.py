"""Unity (left-handed, y up) -> REP 103 (right-handed, z up): the one conversion, and
handedness on the real FloorPlan1 dump."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from ai2thor_data import OBJECTS, need

from sim.ai2thor.frames import (
    rep103_to_unity,
    rep103_yaw_to_unity,
    unity_box_to_rep103,
    unity_to_rep103,
    unity_yaw_to_rep103,
)


def test_axes_map_forward_left_up():
    assert unity_to_rep103((0, 0, 1)) == (1, 0, 0)  # Unity forward -> x forward
    assert unity_to_rep103((1, 0, 0)) == (0, -1, 0)  # Unity right -> minus y (left)
    assert unity_to_rep103({'x': 0, 'y': 1, 'z': 0}) == (0, 0, 1)  # up stays up


def test_conversion_flips_handedness_and_round_trips():
    m = np.array([unity_to_rep103(e) for e in np.eye(3)]).T
    assert np.linalg.det(m) == pytest.approx(-1.0)  # a reflection: left -> right handed
    p = (0.3, -1.2, 2.5)
    assert tuple(rep103_to_unity(unity_to_rep103(p)).values()) == pytest.approx(p)


def test_yaw_clockwise_unity_is_negative_ros():
    # Unity yaw 90 deg turns forward (+z) to the right (+x): in REP 103 that is -y, yaw -pi/2.
    yaw = unity_yaw_to_rep103(90.0)
    assert yaw == pytest.approx(-math.pi / 2)
    fwd_unity = (math.sin(math.radians(90)), 0.0, math.cos(math.radians(90)))
    fx, fy, _ = unity_to_rep103(fwd_unity)
    assert math.atan2(fy, fx) == pytest.approx(yaw)
    assert rep103_yaw_to_unity(yaw) == pytest.approx(90.0)


def test_box_from_corner_points():
    corners = [(x, y, z) for x in (1.0, 2.0) for y in (0.0, 0.5) for z in (-1.0, 3.0)]
    lo, hi = unity_box_to_rep103(corners)
    assert lo == (-1.0, -2.0, 0.0) and hi == (3.0, -1.0, 0.5)


def _centre(objects, prefix):
    o = next(o for o in objects if o['objectId'].startswith(prefix))
    return o['position']


def test_left_right_pair_keeps_its_side():
    """Facing the back counter (Unity -z), the pan (larger Unity x) is on the viewer's left.

    In Unity, looking along d = (dx, dz) the right-hand side is (dz, -dx) (x is right when
    looking along +z). In REP 103 a point is on the left iff cross(forward, point) > 0.
    """
    need(OBJECTS)
    objects = json.loads(OBJECTS.read_text())
    pan, pot = _centre(objects, 'Pan|'), _centre(objects, 'Pot|')
    viewer = {'x': -0.25, 'y': 0.9, 'z': -1.0}  # on the floor between island and counter
    d = (0.0, -1.0)  # looking at the back wall
    right = (d[1], -d[0])
    for obj, side in ((pan, 'left'), (pot, 'right')):
        rel = (obj['x'] - viewer['x'], obj['z'] - viewer['z'])
        unity_side = 'right' if rel[0] * right[0] + rel[1] * right[1] > 0 else 'left'
        assert unity_side == side
    vx, vy, _ = unity_to_rep103(viewer)
    fx, fy, _ = unity_to_rep103((d[0], 0.0, d[1]))
    for obj, side in ((pan, 'left'), (pot, 'right')):
        px, py, _ = unity_to_rep103(obj)
        cross = fx * (py - vy) - fy * (px - vx)
        assert (cross > 0) == (side == 'left'), f'{side} object on the wrong side in REP 103'
