"""Message <-> core conversions: images, poses, observations, states (no DDS needed)."""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.ros  # builds ROS messages (no DDS)


def _rotation(axis, angle):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


@pytest.mark.parametrize('axis,angle', [((0, 0, 1), 0.7), ((1, 0, 0), math.pi),
                                        ((0, 1, 0), -2.5), ((1, 2, 3), 3.1),
                                        ((1, 1, 0), math.pi), ((0, 0, 1), 0.0)])
def test_pose_round_trip(axis, angle):
    from memory_nodes.ros import conversions as conv

    m = np.eye(4)
    m[:3, :3] = _rotation(axis, angle)
    m[:3, 3] = (1.0, -2.0, 0.5)
    back = conv.pose_to_matrix(conv.matrix_to_pose(m))
    assert np.allclose(back, m, atol=1e-9)


def test_bad_pose_is_refused():
    from geometry_msgs.msg import Pose

    from memory_nodes.ros import conversions as conv

    zero = Pose()
    zero.orientation.w = 0.0  # all-zero quaternion
    with pytest.raises(ValueError, match='quaternion'):
        conv.pose_to_matrix(zero)
    p = Pose()
    p.orientation.w = 1.0
    p.position.x = math.nan
    with pytest.raises(ValueError, match='non-finite'):
        conv.pose_to_matrix(p)


@pytest.mark.parametrize('encoding,dtype,shape', [('rgb8', np.uint8, (6, 5, 3)),
                                                  ('32FC1', np.float32, (6, 5)),
                                                  ('32SC1', np.int32, (6, 5))])
def test_image_round_trip(encoding, dtype, shape):
    from std_msgs.msg import Header

    from memory_nodes.ros import conversions as conv

    rng = np.random.default_rng(0)
    array = (rng.random(shape) * 200).astype(dtype)
    msg = conv.image_to_msg(array, encoding, Header(frame_id='cam'))
    assert msg.step == shape[1] * (3 if encoding == 'rgb8' else 1) * np.dtype(dtype).itemsize
    assert np.array_equal(conv.image_from_msg(msg, (encoding,)), array)


def test_images_in_other_encodings_and_bad_images():
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from memory_nodes.ros import conversions as conv

    depth_mm = np.array([[1000, 2500]], dtype=np.uint16)
    msg = Image(height=1, width=2, encoding='16UC1', step=4, data=depth_mm.tobytes())
    assert np.allclose(conv.image_from_msg(msg, ('16UC1',)), [[1.0, 2.5]])
    bgr = np.array([[[1, 2, 3]]], dtype=np.uint8)
    msg = Image(height=1, width=1, encoding='bgr8', step=3, data=bgr.tobytes())
    assert conv.image_from_msg(msg, ('bgr8',)).tolist() == [[[3, 2, 1]]]
    good = conv.image_to_msg(np.zeros((4, 4, 3), np.uint8), 'rgb8', Header())
    with pytest.raises(ValueError, match='encoding'):
        conv.image_from_msg(good, ('32FC1',))
    short = Image(height=4, width=4, encoding='rgb8', step=12, data=bytes(10))
    with pytest.raises(ValueError, match='too short'):
        conv.image_from_msg(short, ('rgb8',))
    with pytest.raises(ValueError, match='empty'):
        conv.image_from_msg(Image(encoding='rgb8'), ('rgb8',))


def test_observation_and_states_round_trip():
    from memory_nodes.memory.observation import ObjectObservation
    from memory_nodes.ros import conversions as conv

    pts = np.random.default_rng(1).random((5000, 3))
    obs = ObjectObservation('Mug', 0.8, pts, 12.5, track_id=3, states={'dirty': True},
                            embedding=np.ones(4, np.float32))
    msg = conv.observation_to_msg(obs, point_limit=4096)
    assert len(msg.points) == 4096  # bounded by the message's own limit
    back = conv.observation_from_msg(msg, 'map', 12.5)
    assert back.label == 'Mug' and back.track_id == 3 and back.states == {'dirty': True}
    assert np.allclose(back.embedding, 1.0)
    assert np.allclose(back.centroid, pts.mean(axis=0), atol=0.02)
    none = conv.observation_to_msg(ObjectObservation('Cup', 0.5, pts[:3], 1.0))
    assert none.track_id == -1 and conv.observation_from_msg(none, 'map', 1.0).track_id is None


def test_stamps():
    from memory_nodes.ros import conversions as conv

    t = conv.seconds_to_stamp(12.25)
    assert (t.sec, t.nanosec) == (12, 250_000_000)
    assert conv.stamp_to_seconds(t) == 12.25
    assert conv.seconds_to_stamp(math.nan).sec == 0
    assert conv.seconds_to_stamp(-3).sec == 0
