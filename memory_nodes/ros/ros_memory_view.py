"""`MemoryView` and `SkillExecutor` over ROS 2: the planner node's window on the robot.

`RosMemoryView` asks the memory node (QueryObjects, RecallStates, GetSceneGraph,
MarkMissing); `RosSkillExecutor` runs skills through ExecuteSkill and, before the planner
looks at memory again, waits until the memory node has fused the camera frame the skill
ended with, so plans are made on what the robot has seen.
"""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Any

from embodied_memory_msgs.srv import (
    ExecuteSkill,
    GetSceneGraph,
    MarkMissing,
    QueryObjects,
    RecallStates,
)
from geometry_msgs.msg import Point, PoseStamped
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from std_msgs.msg import Header, String

from memory_nodes.domain.skills import SkillCall, SkillResult, SkillTarget
from memory_nodes.memory.rooms import parse_room_annotation
from memory_nodes.planner.plan import MemoryHit
from memory_nodes.ros import conversions as conv
from memory_nodes.ros.qos import CLIENT_QUEUE_DEPTH, LATCHED, service_qos
from memory_nodes.ros.service_calls import call


def _hit(obj: Any, source: str = 'ltm', room: str = '') -> MemoryHit:
    p = obj.pose.position
    return MemoryHit(id=obj.id, label=obj.label, position=(p.x, p.y, p.z), room=room,
                     states=conv.states_from_msg(obj.states), support=obj.parent_id,
                     relation=obj.relation, score=obj.score,
                     last_seen=conv.stamp_to_seconds(obj.last_seen), source=source)


class RosMemoryView:
    """The memory node's services as a planner `MemoryView`."""

    def __init__(self, node: Node, use_ltm: bool = True, use_stm: bool = True,
                 timeout: float = 10.0) -> None:
        group = ReentrantCallbackGroup()
        self.node = node
        self.use_ltm = use_ltm
        self.use_stm = use_stm
        self.timeout = timeout
        # A deep reply queue: the memory node's replies to every client reach every client
        # (DDS), so a planner that waits while other clients are answered keeps its own.
        qos = service_qos(CLIENT_QUEUE_DEPTH)
        self.query = node.create_client(QueryObjects, 'query_objects', callback_group=group,
                                        qos_profile=qos)
        self.recall_client = node.create_client(RecallStates, 'recall_states',
                                                callback_group=group, qos_profile=qos)
        self.graph = node.create_client(GetSceneGraph, 'get_scene_graph', callback_group=group,
                                        qos_profile=qos)
        self.missing = node.create_client(MarkMissing, 'mark_missing', callback_group=group,
                                          qos_profile=qos)
        self.room_names: list[str] = []
        self.rooms_ready = threading.Event()
        node.create_subscription(String, 'rooms', self._on_rooms, LATCHED,
                                 callback_group=group)
        self.queries = 0
        self.query_ms: list[float] = []
        self._room_names: dict[str, str] = {}

    def _room(self, room_id: str) -> str:
        """A room node's name ('living room') from its id (MemoryObject.room), cached."""
        if not room_id:
            return ''
        if room_id not in self._room_names:
            found = self._query(QueryObjects.Request(object_id=room_id, top_k=1))
            self._room_names[room_id] = found[0].label if found else ''
        return self._room_names[room_id]

    def _on_rooms(self, msg: String) -> None:
        try:
            self.room_names = sorted(parse_room_annotation(msg.data).rooms)
            self.rooms_ready.set()
        except ValueError as exc:
            self.node.get_logger().warning(f'malformed rooms message ignored: {exc}')

    def _query(self, request: QueryObjects.Request) -> list[Any]:
        t0 = time.perf_counter()
        reply = call(self.query, request, self.timeout)
        self.queries += 1
        self.query_ms.append((time.perf_counter() - t0) * 1000.0)
        if reply.error_code not in (reply.SUCCESS, reply.NOT_FOUND):
            raise RuntimeError(f'query_objects: {reply.error_msg}')
        return list(reply.objects)

    def find(self, label: str = '', text: str = '', room: str = '',
             near: tuple[float, float, float] | None = None, top_k: int = 5
             ) -> list[MemoryHit]:
        """Short-term entries of the label first (newest first), then scene-graph nodes."""
        hits: list[MemoryHit] = []
        if self.use_stm and label:
            reply = call(self.recall_client, RecallStates.Request(label=label), self.timeout)
            for s in sorted(reply.states, key=lambda s: -conv.stamp_to_seconds(s.stamp)):
                p = s.position
                hits.append(MemoryHit(id=s.object_id, label=s.label, position=(p.x, p.y, p.z),
                                      room=s.room, states=conv.states_from_msg(s.states),
                                      last_seen=conv.stamp_to_seconds(s.stamp),
                                      source='stm'))
        if not self.use_ltm:
            return [h for h in hits if not room or h.room == room][:top_k]
        request = QueryObjects.Request(label=label, text=text, room=room,
                                       top_k=max(top_k, 20))
        if near is not None:
            request.use_point = True
            request.near_point = Point(x=near[0], y=near[1], z=near[2])
        seen = {h.id for h in hits}
        for obj in self._query(request):
            if obj.id not in seen:
                hits.append(_hit(obj, room=self._room(obj.room)))
        for h in hits:
            if h.source == 'stm' and not h.support:
                found = self._query(QueryObjects.Request(object_id=h.id, top_k=1))
                if found:
                    h.support, h.relation = found[0].parent_id, found[0].relation
        return hits[:top_k]

    def get(self, node_id: str) -> MemoryHit | None:
        """One node by id."""
        if not self.use_ltm:
            return None
        found = self._query(QueryObjects.Request(object_id=node_id, top_k=1))
        return _hit(found[0], room=self._room(found[0].room)) if found else None

    def recall(self, instruction: str, top_k: int = 5) -> list[MemoryHit]:
        """Short-term entries ranked for `instruction`."""
        if not self.use_stm or not instruction.strip():
            return []
        request = RecallStates.Request(instruction=instruction, top_k=top_k)
        reply = call(self.recall_client, request, self.timeout)
        out = []
        for s in reply.states:
            p = s.position
            out.append(MemoryHit(id=s.object_id, label=s.label, position=(p.x, p.y, p.z),
                                 room=s.room, states=conv.states_from_msg(s.states),
                                 score=s.score, last_seen=conv.stamp_to_seconds(s.stamp),
                                 source='stm'))
        return out

    def collapsed_graph(self, token_budget: int, focus: list[str]) -> str:
        """The memory node's collapsed scene graph text."""
        if not self.use_ltm:
            return ''
        request = GetSceneGraph.Request(mode=0, token_budget=token_budget, focus=list(focus))
        reply = call(self.graph, request, self.timeout)
        try:
            return json.loads(reply.json).get('text', '')
        except ValueError:
            return ''

    def rooms(self) -> list[str]:
        """Room names of the annotation the memory node was given."""
        self.rooms_ready.wait(self.timeout)
        return list(self.room_names)

    def report_missing(self, hit: MemoryHit, stamp: float) -> None:
        """MarkMissing on the memory node."""
        call(self.missing, MarkMissing.Request(object_id=hit.id,
                                               stamp=conv.seconds_to_stamp(stamp),
                                               reason='object_not_found'), self.timeout)


class RosSkillExecutor:
    """ExecuteSkill on the robot (or sim bridge), waiting for memory to catch up after."""

    def __init__(self, node: Node, timeout: float = 120.0, catch_up_timeout: float = 20.0
                 ) -> None:
        group = ReentrantCallbackGroup()
        self.node = node
        self.timeout = timeout
        self.catch_up_timeout = catch_up_timeout
        self.client = node.create_client(ExecuteSkill, 'execute_skill', callback_group=group)
        self._held = ''
        self.held_node = ''
        self._xy = (0.0, 0.0)
        self.query = node.create_client(QueryObjects, 'query_objects', callback_group=group)
        self._fused = 0.0
        self._cv = threading.Condition()
        node.create_subscription(PoseStamped, 'base/pose', self._on_base, 10,
                                 callback_group=group)
        node.create_subscription(Header, 'memory/fused', self._on_fused, LATCHED,
                                 callback_group=group)
        self.catch_up_waits: list[float] = []

    def _on_base(self, msg: PoseStamped) -> None:
        self._xy = (msg.pose.position.x, msg.pose.position.y)

    def _on_fused(self, msg: Header) -> None:
        with self._cv:
            self._fused = max(self._fused, conv.stamp_to_seconds(msg.stamp))
            self._cv.notify_all()

    def wait_fused(self, stamp: float, timeout: float | None = None) -> bool:
        """Block until memory fused a frame stamped >= `stamp`."""
        t0 = time.perf_counter()
        with self._cv:
            ok = self._cv.wait_for(lambda: self._fused >= stamp - 1e-6,
                                   timeout or self.catch_up_timeout)
        self.catch_up_waits.append(time.perf_counter() - t0)
        return ok

    @staticmethod
    def _fill(target: SkillTarget | None, request: Any, prefix: str) -> None:
        if target is None:
            return
        setattr(request, f'{prefix}_label', target.object_type or '')
        if target.position is not None and all(math.isfinite(v) for v in target.position):
            x, y, z = target.position
            setattr(request, f'{prefix}_position', Point(x=x, y=y, z=z))
            setattr(request, f'{prefix}_position_known', True)

    def _memory_id(self, target: SkillTarget | None) -> str:
        """The memory node the planner meant by `target` (the robot knows what it acts on).

        What the gripper holds, if the type matches; else the remembered node of the type
        nearest the believed position. Own-action events then update that node instead
        of a guess by label and position.
        """
        if target is None or not target.object_type:
            return ''
        if target.object_type == self._held and self.held_node:
            return self.held_node
        if target.position is None:
            return ''
        x, y, z = target.position
        request = QueryObjects.Request(label=target.object_type, use_point=True,
                                       near_point=Point(x=x, y=y, z=z),
                                       radius=float(target.tolerance), top_k=1)
        reply = call(self.query, request, self.timeout)
        return reply.objects[0].id if reply.objects else ''

    def execute(self, skill: SkillCall) -> SkillResult:
        """Run one skill, then wait until its last frame is in memory."""
        if skill.tilt is not None:  # ExecuteSkill has no tilt field: look_at a point instead
            return SkillResult(False, skill.name, 'invalid_request',
                               'ExecuteSkill carries no tilt; look_at a target or a point')
        request = ExecuteSkill.Request(skill=skill.name, relation=skill.relation or '',
                                       area=skill.area or '')
        self._fill(skill.target, request, 'target')
        self._fill(skill.receptacle, request, 'receptacle')
        request.target_memory_id = self._memory_id(skill.target)
        reply = call(self.client, request, self.timeout)
        self._held = reply.holding
        if skill.name == 'pick_up' and reply.error_code == reply.SUCCESS:
            self.held_node = request.target_memory_id
        elif not reply.holding:
            self.held_node = ''
        if reply.error_code == reply.INVALID_REQUEST:
            return SkillResult(False, skill.name, 'invalid_request', reply.error_msg)
        if not self.wait_fused(conv.stamp_to_seconds(reply.last_frame_stamp)):
            self.node.get_logger().warning('memory did not fuse the last frame in time')
        return SkillResult(reply.error_code == reply.SUCCESS, skill.name, reply.reason or None,
                           reply.error_msg, float(reply.duration), float(reply.path_length))

    def robot_xy(self) -> tuple[float, float]:
        """Last base pose received."""
        return self._xy

    def now(self) -> float:
        """ROS time (simulated time under use_sim_time)."""
        return self.node.get_clock().now().nanoseconds * 1e-9

    def held_type(self) -> str | None:
        """What the skill server last said the gripper holds."""
        return self._held or None

    def look(self) -> None:
        """Wait for a newer camera frame to be fused into memory."""
        with self._cv:
            start = self._fused
        self.wait_fused(start + 1e-3, timeout=5.0)
