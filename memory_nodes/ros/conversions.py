"""Message <-> core type conversions, all in one place.

The core never sees a ROS message; nodes call these functions at the boundary. Invalid
messages raise `ValueError` naming the offending field so nodes can count and log them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from builtin_interfaces.msg import Time
from embodied_memory_msgs.msg import (
    MemoryObject,
    ObjectChange,
    ObjectState,
    RecalledState,
    SceneGraphEdge,
)
from embodied_memory_msgs.msg import (
    ObjectObservation as ObservationMsg,
)
from geometry_msgs.msg import Point, Point32

from memory_nodes.memory.observation import ObjectObservation
from memory_nodes.memory.state_change import StateChange
from memory_nodes.memory.timeline import Change
from memory_nodes.perception.image_decoding import (  # noqa: F401 - image_from_msg: API
    IMAGE_DTYPES,
    image_from_msg,
    intrinsics_from_msg,
)

KIND_BY_LAYER = {
    'object': MemoryObject.KIND_OBJECT,
    'furniture': MemoryObject.KIND_FURNITURE,
    'room': MemoryObject.KIND_ROOM,
    'place': MemoryObject.KIND_PLACE,
    'agent': MemoryObject.KIND_AGENT,
    'building': MemoryObject.KIND_BUILDING,
}


def stamp_to_seconds(stamp: Time) -> float:
    """builtin_interfaces/Time -> float seconds."""
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9


def seconds_to_stamp(seconds: float) -> Time:
    """Float seconds -> builtin_interfaces/Time (negative and NaN clamp to zero)."""
    if not math.isfinite(seconds) or seconds < 0.0:
        seconds = 0.0
    sec = int(seconds)
    return Time(sec=sec, nanosec=min(int(round((seconds - sec) * 1e9)), 999_999_999))


def optional_stamp(stamp: Time) -> float | None:
    """An optional time field: None for zero (meaning 'now'), else float seconds."""
    return None if stamp.sec == 0 and stamp.nanosec == 0 else stamp_to_seconds(stamp)


def change_to_msg(change: Change) -> ObjectChange:
    """A timeline `Change` -> ObjectChange (before/after where they exist)."""
    msg = ObjectChange(object_id=change.object_id, label=change.label, kind=change.kind,
                       stamp=seconds_to_stamp(change.stamp))
    b, a = change.before, change.after
    if b is not None:
        msg.has_before = True
        msg.position_before = Point(x=b.position[0], y=b.position[1], z=b.position[2])
        msg.room_before, msg.support_before = b.room_name, b.describe_support()
        msg.status_before, msg.states_before = b.status, states_to_msg(b.states)
    if a is not None and a.alive:
        msg.has_after = True
        msg.position_after = Point(x=a.position[0], y=a.position[1], z=a.position[2])
        msg.room_after, msg.support_after = a.room_name, a.describe_support()
        msg.status_after, msg.states_after = a.status, states_to_msg(a.states)
    return msg


def states_to_msg(states: Mapping[str, Any]) -> list[ObjectState]:
    """{'open': True} -> [ObjectState(name='open', value=True)], sorted by name."""
    return [ObjectState(name=str(k), value=bool(v)) for k, v in sorted(states.items())]


def states_from_msg(states: Iterable[ObjectState]) -> dict[str, bool]:
    """[ObjectState] -> {'name': value}."""
    return {s.name: bool(s.value) for s in states}


def points_to_array(points: Iterable[Point32]) -> np.ndarray:
    """geometry_msgs/Point32[] -> (N, 3) float64 array."""
    pts = list(points)
    out = np.empty((len(pts), 3), dtype=float)
    for i, p in enumerate(pts):
        out[i] = (p.x, p.y, p.z)
    return out


def array_to_points(points: np.ndarray, limit: int = 4096) -> list[Point32]:
    """(N, 3) array -> at most `limit` Point32 (evenly subsampled above the limit)."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(pts) > limit:
        pts = pts[np.linspace(0, len(pts) - 1, limit).astype(int)]
    return [Point32(x=float(x), y=float(y), z=float(z)) for x, y, z in pts]


def observation_from_msg(msg: ObservationMsg, frame_id: str, stamp: float
                         ) -> ObjectObservation:
    """One ObjectObservation message (of an array with `frame_id`, `stamp`) -> core type."""
    points = points_to_array(msg.points)
    if len(points) == 0:
        c = msg.centroid
        points = np.array([[c.x, c.y, c.z]], dtype=float)
    return ObjectObservation(
        label=msg.label,
        score=float(msg.score),
        points=points,
        stamp=stamp,
        frame_id=msg.header.frame_id or frame_id,
        embedding=np.asarray(msg.embedding, dtype=np.float32) if len(msg.embedding) else None,
        track_id=int(msg.track_id) if msg.track_id >= 0 else None,
        states=states_from_msg(msg.states),
        room=msg.room or None,
    )


def observation_to_msg(obs: ObjectObservation, point_limit: int = 4096) -> ObservationMsg:
    """Core observation -> message (header left to the caller: it copies the source's)."""
    msg = ObservationMsg(label=obs.label, score=float(obs.score))
    c = obs.centroid
    msg.centroid = Point(x=float(c[0]), y=float(c[1]), z=float(c[2]))
    e = obs.extent
    msg.extent.x, msg.extent.y, msg.extent.z = float(e[0]), float(e[1]), float(e[2])
    msg.points = array_to_points(obs.points, point_limit)
    if obs.embedding is not None:
        msg.embedding = [float(v) for v in np.asarray(obs.embedding).ravel()]
    msg.track_id = -1 if obs.track_id is None else int(obs.track_id)
    msg.states = states_to_msg(obs.states)
    msg.room = obs.room or ''
    return msg


def node_to_memory_object(node: Any, parent: tuple[str, str] | None = None,
                          score: float = 0.0) -> MemoryObject:
    """A scene-graph node (SceneNode) -> MemoryObject; `parent` is (id, 'on'|'in')."""
    msg = MemoryObject(id=node.id, label=node.label, kind=KIND_BY_LAYER.get(node.layer, 0))
    p = node.position
    msg.pose.position = Point(x=float(p[0]), y=float(p[1]), z=float(p[2]))
    msg.pose.orientation.w = 1.0
    e = node.extent
    msg.extent.x, msg.extent.y, msg.extent.z = float(e[0]), float(e[1]), float(e[2])
    msg.room = node.room or ''
    if parent is not None:
        msg.parent_id, msg.relation = parent
    msg.states = states_to_msg({k: v for k, v in node.states.items() if isinstance(v, bool)})
    msg.confidence = float(min(max(node.confidence, 0.0), 1.0))
    msg.first_seen = seconds_to_stamp(node.first_seen)
    msg.last_seen = seconds_to_stamp(node.last_seen)
    msg.observation_count = int(max(node.observations, 0))
    msg.score = float(min(max(score, 0.0), 1.0))
    return msg


def edge_to_msg(source: str, target: str, relation: str) -> SceneGraphEdge:
    """(source, target, relation) -> SceneGraphEdge."""
    return SceneGraphEdge(source_id=source, target_id=target, relation=relation)


def state_change_to_recalled(change: StateChange, score: float = 0.0) -> RecalledState:
    """A short-term entry's StateChange -> RecalledState."""
    msg = RecalledState(object_id=change.object_id or '', label=change.label,
                        room=change.room or '', source=change.source)
    if change.position is not None:
        x, y, z = change.position
        msg.position = Point(x=float(x), y=float(y), z=float(z))
    msg.states = states_to_msg(change.states)
    msg.changed = list(change.changed)
    msg.stamp = seconds_to_stamp(change.stamp)
    msg.score = float(min(max(score, 0.0), 1.0))
    return msg


# ---- images, camera geometry, poses ---------------------------------------------------
# Decoding lives in the core (perception.image_decoding: bags use it without rclpy).

def image_to_msg(array: np.ndarray, encoding: str, header: Any) -> Any:
    """A numpy image -> sensor_msgs/Image (rows contiguous, little-endian)."""
    from sensor_msgs.msg import Image

    dtype, channels = IMAGE_DTYPES[encoding]
    data = np.ascontiguousarray(array, dtype=dtype)
    msg = Image(header=header, height=int(data.shape[0]), width=int(data.shape[1]),
                encoding=encoding, is_bigendian=0)
    msg.step = int(data.shape[1] * channels * data.itemsize)
    msg.data = data.tobytes()
    return msg


def camera_info_to_msg(k: np.ndarray, width: int, height: int, header: Any) -> Any:
    """A pinhole K -> sensor_msgs/CameraInfo (no distortion)."""
    from sensor_msgs.msg import CameraInfo

    msg = CameraInfo(header=header, width=int(width), height=int(height))
    msg.distortion_model = 'plumb_bob'
    msg.d = [0.0] * 5
    msg.k = [float(v) for v in np.asarray(k, dtype=float).ravel()]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    p = np.zeros((3, 4))
    p[:3, :3] = k
    msg.p = [float(v) for v in p.ravel()]
    return msg


def matrix_to_pose(matrix: np.ndarray) -> Any:
    """4x4 homogeneous transform -> geometry_msgs/Pose."""
    from geometry_msgs.msg import Pose

    m = np.asarray(matrix, dtype=float)
    pose = Pose()
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in m[:3, 3])
    qx, qy, qz, qw = _quaternion(m[:3, :3])
    pose.orientation.x, pose.orientation.y = qx, qy
    pose.orientation.z, pose.orientation.w = qz, qw
    return pose


def pose_to_matrix(pose: Any) -> np.ndarray:
    """geometry_msgs/Pose -> 4x4; ValueError for a non-finite or zero quaternion."""
    q = np.array([pose.orientation.x, pose.orientation.y, pose.orientation.z,
                  pose.orientation.w], dtype=float)
    t = np.array([pose.position.x, pose.position.y, pose.position.z], dtype=float)
    n = float(np.linalg.norm(q))
    if not np.isfinite(q).all() or not np.isfinite(t).all() or n < 1e-9:
        raise ValueError('pose has a non-finite position or a zero quaternion')
    x, y, z, w = q / n
    m = np.eye(4)
    m[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                 [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                 [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    m[:3, 3] = t
    return m


def _quaternion(r: np.ndarray) -> tuple[float, float, float, float]:
    trace = float(np.trace(r))
    if trace > 0:
        s = math.sqrt(trace + 1.0) * 2
        return ((r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s,
                0.25 * s)
    i = int(np.argmax(np.diag(r)))
    j, k = (i + 1) % 3, (i + 2) % 3
    s = math.sqrt(max(1.0 + r[i, i] - r[j, j] - r[k, k], 1e-12)) * 2
    q = [0.0, 0.0, 0.0]
    q[i] = 0.25 * s
    q[j] = (r[j, i] + r[i, j]) / s
    q[k] = (r[k, i] + r[i, k]) / s
    w = (r[k, j] - r[j, k]) / s
    return float(q[0]), float(q[1]), float(q[2]), float(w)
