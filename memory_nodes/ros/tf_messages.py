"""TF on the wire: `tf2_msgs/msg/TFMessage` on `/tf` and `/tf_static`, without tf2_ros.

The QoS profiles are tf2's own (a TransformBroadcaster: reliable, keep last 100; a
StaticTransformBroadcaster: reliable, transient local, keep last 1, one message holding
every static transform), so tf2 listeners, rviz, Foxglove and rosbag2 treat ours like a
robot's. The math lives in `memory_nodes.perception.transforms`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from geometry_msgs.msg import TransformStamped
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from tf2_msgs.msg import TFMessage

from memory_nodes.perception.transforms import transform_parts
from memory_nodes.ros.conversions import seconds_to_stamp

TF_TOPIC = '/tf'
TF_STATIC_TOPIC = '/tf_static'

#: tf2_ros.TransformBroadcaster's profile.
TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                    durability=DurabilityPolicy.VOLATILE, history=HistoryPolicy.KEEP_LAST)
#: tf2_ros.StaticTransformBroadcaster's profile: late joiners get the static tree.
TF_STATIC_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                           durability=DurabilityPolicy.TRANSIENT_LOCAL,
                           history=HistoryPolicy.KEEP_LAST)


def transform_stamped(matrix: np.ndarray, parent: str, child: str, stamp: float
                      ) -> TransformStamped:
    """`parent_T_child` (4x4) at `stamp` (seconds) -> geometry_msgs/TransformStamped."""
    (x, y, z), (qx, qy, qz, qw) = transform_parts(matrix)
    msg = TransformStamped()
    msg.header.stamp = seconds_to_stamp(stamp)
    msg.header.frame_id = parent
    msg.child_frame_id = child
    t, r = msg.transform.translation, msg.transform.rotation
    t.x, t.y, t.z = x, y, z
    r.x, r.y, r.z, r.w = qx, qy, qz, qw
    return msg


def tf_message(transforms: Iterable[TransformStamped]) -> TFMessage:
    """A TFMessage holding `transforms`."""
    return TFMessage(transforms=list(transforms))
