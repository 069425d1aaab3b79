"""The TF buffer without tf2_ros: chaining, interpolation, static frames, clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from memory_nodes.perception.tf_tree import TfBuffer, TransformError
from memory_nodes.perception.transforms import make_transform, matrix_to_quaternion, slerp


def yaw_q(yaw):
    return (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))


@pytest.fixture
def robot():
    tf = TfBuffer(cache_time=10.0, extrapolation_tolerance=0.05)
    tf.set_transform('map', 'odom', 0.0, (1.0, 0.0, 0.0), yaw_q(0.0), static=True)
    for t in (0.0, 1.0, 2.0):  # the base drives along x and turns
        tf.set_transform('odom', 'base', t, (t, 0.0, 0.0), yaw_q(0.5 * t))
    tf.set_transform('base', 'camera', 0.0, (0.1, 0.0, 1.2), yaw_q(0.0), static=True)
    tf.set_transform('base', 'wheel', 0.0, (0.0, 0.3, 0.1), yaw_q(0.0), static=True)
    return tf


def test_chain_interpolates_translation_and_rotation(robot):
    m = robot.lookup('map', 'camera', 1.5)
    yaw = 0.75
    expected = make_transform((2.5, 0, 0), yaw_q(yaw)) @ make_transform((0.1, 0, 1.2),
                                                                        yaw_q(0))
    assert np.allclose(m, expected, atol=1e-9)
    # Points map the right way: the camera origin lies at the camera's position in map.
    assert np.allclose(m @ [0, 0, 0, 1], [2.5 + 0.1 * math.cos(yaw), 0.1 * math.sin(yaw),
                                          1.2, 1])


def test_lookup_through_a_common_ancestor_and_inverse(robot):
    a = robot.lookup('camera', 'wheel', 0.5)
    b = robot.lookup('wheel', 'camera', 0.5)
    assert np.allclose(a @ b, np.eye(4), atol=1e-9)
    assert np.allclose(a[:3, 3], [-0.1, 0.3, -1.1])  # both ride on the base
    assert np.allclose(robot.lookup('odom', 'odom', 7.0), np.eye(4))


def test_errors_name_frames_stamp_and_reason(robot):
    cases = {('map', 'gripper', 1.0): 'unknown_frame', ('map', 'camera', 2.5): 'in_the_future',
             ('map', 'camera', -1.0): 'too_old'}
    for (target, source, stamp), reason in cases.items():
        with pytest.raises(TransformError) as err:
            robot.lookup(target, source, stamp)
        assert err.value.reason == reason
        assert target in str(err.value) and source in str(err.value)
        assert f'{stamp:.6f}' in str(err.value)
    robot.set_transform('world', 'other', 0.0, (0, 0, 0), yaw_q(0), static=True)
    with pytest.raises(TransformError, match='not connected') as err:
        robot.lookup('map', 'other', 1.0)
    assert err.value.reason == 'not_connected'


def test_extrapolation_tolerance_and_bounded_cache():
    tf = TfBuffer(cache_time=1.0, extrapolation_tolerance=0.1)
    for i in range(30):
        tf.set_transform('odom', 'base', i * 0.1, (i * 0.1, 0, 0), yaw_q(0))
    assert np.allclose(tf.lookup('odom', 'base', 2.95)[0, 3], 2.9)  # 0.05 s past: held
    assert not tf.can_transform('odom', 'base', 3.2)
    assert not tf.can_transform('odom', 'base', 0.5)  # older than the cache keeps
    assert tf.can_transform('odom', 'base', 2.0)


def test_out_of_order_samples_and_bad_input():
    tf = TfBuffer(max_gap=5.0)
    tf.set_transform('a', 'b', 2.0, (2, 0, 0), yaw_q(0))
    tf.set_transform('a', 'b', 0.0, (0, 0, 0), yaw_q(0))
    assert tf.lookup('a', 'b', 1.0)[0, 3] == pytest.approx(1.0)
    with pytest.raises(ValueError, match='zero quaternion'):
        tf.set_transform('a', 'b', 3.0, (0, 0, 0), (0, 0, 0, 0))
    with pytest.raises(ValueError, match='two different frame ids'):
        tf.set_transform('a', 'a', 3.0, (0, 0, 0), yaw_q(0))


def test_slerp_and_quaternion_round_trip():
    q = slerp(yaw_q(0.0), yaw_q(1.0), 0.25)
    assert np.allclose(q, yaw_q(0.25))
    r = make_transform((0, 0, 0), (0.2, -0.4, 0.1, 0.8))[:3, :3]
    assert np.allclose(make_transform((0, 0, 0), matrix_to_quaternion(r))[:3, :3], r)


def test_no_interpolation_across_a_gap_in_the_samples():
    tf = TfBuffer(max_gap=0.5)
    tf.set_transform('odom', 'base', 0.0, (0, 0, 0), yaw_q(0))
    tf.set_transform('odom', 'base', 0.4, (0.4, 0, 0), yaw_q(0))
    tf.set_transform('odom', 'base', 3.0, (3, 0, 0), yaw_q(0))
    assert tf.lookup('odom', 'base', 0.2)[0, 3] == pytest.approx(0.2)
    with pytest.raises(TransformError, match='no samples from') as err:
        tf.lookup('odom', 'base', 1.5)
    assert err.value.reason == 'gap'
    # A sample at the stamp itself answers across the gap (TF published with each image,
    # as the sim bridge does while simulated time jumps), and so does one within tolerance.
    assert tf.lookup('odom', 'base', 3.0)[0, 3] == pytest.approx(3.0)
    assert tf.lookup('odom', 'base', 3.0 - 0.5 * tf.tolerance)[0, 3] == pytest.approx(3.0)
