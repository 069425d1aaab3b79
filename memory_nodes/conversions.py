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
