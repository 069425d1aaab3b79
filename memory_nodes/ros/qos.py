"""QoS profiles of the stack, stated once.

Sensor streams default to the sensor-data profile (best effort, keep last 5): right for a
robot's live camera, where a late frame is worth nothing. A simulator delivers bursts
(every view of an explore at once) and the planner waits for them to be fused, so the
sim stack asks for `reliable_sensors`: reliable, keep last 30.
"""

from __future__ import annotations

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)

#: Latched state: the last message is kept for late subscribers.
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL,
                     history=HistoryPolicy.KEEP_LAST)

#: Scene-graph deltas: reliable and transient-local with a deep history, so a late
#: subscriber gets the last full update and the deltas after it.
DELTAS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                    durability=DurabilityPolicy.TRANSIENT_LOCAL,
                    history=HistoryPolicy.KEEP_LAST)


def sensor_qos(reliable: bool) -> QoSProfile:
    """The profile of camera and observation streams."""
    if not reliable:
        return qos_profile_sensor_data
    return QoSProfile(depth=30, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE, history=HistoryPolicy.KEEP_LAST)
