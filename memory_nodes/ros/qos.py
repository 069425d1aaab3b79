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


#: Reply queue of a client of a busy service (see `service_qos`).
CLIENT_QUEUE_DEPTH = 100


def service_qos(depth: int) -> QoSProfile:
    """Profile of a busy node's services: reliable, `depth` requests kept per service.

    The ROS default keeps 10: an 11th request that arrives while the node is busy pushes
    the oldest out of the queue, unanswered, and its client waits until its timeout (a
    burst of 40 concurrent RecallStates got 10 answers). A client's reply queue too: the
    replies to all clients of a service reach every client, and one slow to take its own
    loses it under the others' (14 of 40 answered with a deep server queue alone).
    """
    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE, history=HistoryPolicy.KEEP_LAST)
