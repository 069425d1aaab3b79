"""The memory node: long-term scene graph + short-term buffer over ROS 2.

Subscribes ObjectObservationArray (fused off the executor in a bounded worker that
drops stale frames) and ObjectStateEvent (the robot's own actions); serves QueryObjects,
GetSceneGraph, RecallStates, SaveMemory, LoadMemory, WhatChanged and reset_memory
(std_srvs/Trigger); QueryObjects and GetSceneGraph also answer as of a past stamp;
publishes SceneGraphDelta (reliable, transient-local, sequence numbers) and a
visualization_msgs/MarkerArray for RViz through a `SceneGraphSender`. Persists to SQLite
at `database_path`.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import rclpy
from embodied_memory_msgs.msg import ObjectObservationArray, ObjectStateEvent
from embodied_memory_msgs.srv import (
    GetSceneGraph,
    LoadMemory,
    MarkMissing,
    QueryObjects,
    RecallStates,
    SaveMemory,
    WhatChanged,
)
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header, String
from std_srvs.srv import Trigger

from memory_nodes.domain.labels import name_problem
from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.eviction import POLICY_NAMES
from memory_nodes.memory.persistence import SchemaVersionError
from memory_nodes.memory.postgres_store import PostgresSchemaError, PostgresStore, safe_dsn
from memory_nodes.memory.recovery import MemoryFileError
from memory_nodes.memory.robot_memory import ObjectQuery, RobotMemory
from memory_nodes.memory.rooms import parse_room_annotation
from memory_nodes.memory.short_term import ShortTermConfig, task_context_labels
from memory_nodes.memory.state_change import own_action_change
from memory_nodes.ros import conversions as conv
from memory_nodes.ros.frame_worker import FrameWorker
from memory_nodes.ros.params import declare_config, describe, nested, param
from memory_nodes.ros.qos import LATCHED, sensor_qos, service_qos
from memory_nodes.ros.scene_graph_sender import SceneGraphSender
from memory_nodes.ros.spin import run_node


@dataclasses.dataclass
class MemoryNodeConfig:
    """Parameters of the memory node (each one is a ROS parameter).

    `stm` and `ltm` are the core's own configs, declared field by field: `stm_capacity`,
    `stm_policy`, ... and `ltm.fusion.voxel_size`, ... (see `params.nested`).
    """

    map_frame: str = describe('map', 'frame of all memory geometry (REP 105)')
    database_path: str = describe('', 'SQLite file for durable memory; empty = in RAM only')
    store: str = describe('sqlite', "where the memory is kept: 'sqlite' (database_path, one "
                          "robot) or 'postgres' (dsn, shared by robots)",
                          choices={'sqlite', 'postgres'})
    dsn: str = describe('', "PostgreSQL connection string for store:=postgres (libpq "
                        "'host=... dbname=...' or postgresql://...); empty: the PG* "
                        'environment variables')
    robot_id: str = describe('robot', 'this robot in a shared memory: its new ids end in '
                             "'-<robot_id>' (letters, digits, _)")
    fleet_poll_s: float = describe(1.0, "seconds between looks for other robots' changes "
                                   'when no notification came (store:=postgres)', min=0.05)
    default_save_path: str = describe('memory_snapshot.json.gz',
                                      'file SaveMemory writes when its path is empty')
    # Prefix `stm_`, not `stm.`: the names users already set (`stm_capacity`,
    # `stm_policy`) stay valid.
    stm: ShortTermConfig = nested(
        lambda: ShortTermConfig(policy='robot_aware'), 'stm_',
        {'capacity': param('short-term memory capacity (entries)', min=1),
         'policy': param('short-term eviction policy', choices=set(POLICY_NAMES))})
    ltm: LongTermMemoryConfig = nested(
        LongTermMemoryConfig, 'ltm.',
        # Keeps its older, shorter name: launch commands and tests set it.
        {'embedder.backend': param("free-text queries: 'minilm' or 'hashing'",
                                   name='text_embeddings', choices={'minilm', 'hashing'})})
    stm_from_observations: bool = describe(
        True, 'write confirmed objects seen by the camera into the short-term memory')
    observations_topic: str = describe('observations', 'ObjectObservationArray input')
    state_events_topic: str = describe('object_state_events', 'ObjectStateEvent input')
    deltas_topic: str = describe('scene_graph/deltas', 'SceneGraphDelta output')
    markers_topic: str = describe('scene_graph/markers', 'MarkerArray output for RViz')
    rooms_topic: str = describe('rooms', 'room annotation input (latched JSON of boxes)')
    task_context_topic: str = describe('task_context', 'labels the current task needs (JSON)')
    fused_topic: str = describe('memory/fused', 'Header with the stamp of the last fused frame')
    publish_period: float = describe(0.5, 'seconds between delta/marker publications',
                                     min=0.01)
    default_token_budget: int = describe(800, 'GetSceneGraph token budget when 0', min=16)
    frame_queue: int = describe(2, 'frames waiting for fusion before the oldest drops', min=1)
    reliable_sensors: bool = describe(False, 'reliable QoS on observations (simulation)')
    service_queue_depth: int = describe(
        100, 'requests per service kept while the node is busy (ROS default 10: more '
             'concurrent clients lose requests)', min=1)
    read_replica: bool = describe(
        True, 'services read a copy of the memory kept in step at every commit, so they '
              'never wait for fusion (costs ~1 ms per frame and the graph again in RAM)')
    max_future_stamp: float = describe(
        10.0, 'observations and state events stamped more than this many seconds after the '
        "node's clock are refused (a broken clock must not blind the memory); 0: no limit",
        min=0.0)


class MemoryNode(Node):
    """Thin ROS 2 wrapper around `RobotMemory`."""

    def __init__(self, **kwargs) -> None:  # noqa: ANN003 - rclpy Node kwargs
        super().__init__('memory', **kwargs)
        self.cfg = declare_config(self, MemoryNodeConfig)
        db = self.cfg.database_path or None
        store = self._shared_store()
        try:
            # A damaged database is moved aside and what reads is recovered (else the
            # newest JSON snapshot next to it or at default_save_path): see open_report.
            self.memory = RobotMemory(self.cfg.ltm, self.cfg.stm, db_path=db,
                                      stm_from_observations=self.cfg.stm_from_observations,
                                      snapshots=[self.cfg.default_save_path],
                                      read_replica=self.cfg.read_replica, store=store)
        except (MemoryFileError, SchemaVersionError, OSError) as exc:
            # A file this node must not touch (newer schema, a directory, unreadable):
            # one clear line and a non-zero exit, no traceback.
            self.get_logger().fatal(f'cannot open the memory database: {exc}')
            raise SystemExit(2) from None
        report = self.memory.open_report
        if report is not None and not report.healthy:
            self.get_logger().error(report.message())
        self.rejected: dict[str, int] = {}
        #: The last handling times (ms) per service, inside the node (memory_stats).
        self.service_ms: dict[str, deque[float]] = {}
        self.worker: FrameWorker = FrameWorker(self._fuse, self.cfg.frame_queue,
                                               'memory-fusion', self._on_worker_error)
        self.create_subscription(ObjectObservationArray, self.cfg.observations_topic,
                                 self._on_observations,
                                 sensor_qos(self.cfg.reliable_sensors))
        self.create_subscription(ObjectStateEvent, self.cfg.state_events_topic,
                                 self._on_state_event, QoSProfile(
                                     depth=50, reliability=ReliabilityPolicy.RELIABLE))
        self.create_subscription(String, self.cfg.rooms_topic, self._on_rooms, LATCHED)
        self.create_subscription(String, self.cfg.task_context_topic, self._on_task_context,
                                 LATCHED)
        self.fused_pub = self.create_publisher(Header, self.cfg.fused_topic, LATCHED)
        self.last_fused = 0.0
        self.sender = SceneGraphSender(self, self.memory, self.cfg.map_frame,
                                       self.cfg.deltas_topic, self.cfg.markers_topic,
                                       self.cfg.publish_period)
        # The read services share a reentrant group: the executor hands every ready
        # request to its threads. In the node's default (mutually exclusive) group it
        # took one ready service per wait, always the first created, so under load
        # RecallStates starved behind QueryObjects (p50 3 s, timeouts). RobotMemory's
        # lock keeps the reads consistent; writes stay in the default group.
        reads = ReentrantCallbackGroup()
        for srv_type, name, handler, group in (
                (QueryObjects, 'query_objects', self._on_query, reads),
                (GetSceneGraph, 'get_scene_graph', self._on_get_scene_graph, reads),
                (RecallStates, 'recall_states', self._on_recall, reads),
                (SaveMemory, 'save_memory', self._on_save, None),
                (LoadMemory, 'load_memory', self._on_load, None),
                (MarkMissing, 'mark_missing', self._on_mark_missing, None),
                (WhatChanged, 'what_changed', self._on_what_changed, reads),
                (Trigger, 'reset_memory', self._on_reset, None),
                (Trigger, 'memory_stats', self._on_stats, None)):
            self.create_service(srv_type, name, self._timed(name, handler),
                                callback_group=group,
                                qos_profile=service_qos(self.cfg.service_queue_depth))
        nodes = len(self.memory.ltm.graph.nodes)
        where = (f'shared store {safe_dsn(self.cfg.dsn)} as robot {self.cfg.robot_id}'
                 if store is not None else f'database {db or "none (RAM only)"}')
        self.get_logger().info(
            f'memory ready: {nodes} nodes loaded, stm {self.cfg.stm.policy} '
            f'x{self.cfg.stm.capacity}, {where}')

    def _shared_store(self) -> PostgresStore | None:
        """The PostgreSQL store of `store:=postgres` (None for SQLite); exits on failure."""
        if self.cfg.store != 'postgres':
            return None
        if self.cfg.database_path:
            self.get_logger().fatal('store:=postgres keeps the memory in PostgreSQL: leave '
                                    'database_path empty')
            raise SystemExit(2)
        try:
            return PostgresStore(self.cfg.dsn, self.cfg.robot_id,
                                 poll_s=self.cfg.fleet_poll_s)
        except ValueError as exc:
            self.get_logger().fatal(f'cannot use the shared memory: {exc}')
        except (ImportError, PostgresSchemaError) as exc:
            self.get_logger().fatal(f'cannot use the shared memory at '
                                    f'{safe_dsn(self.cfg.dsn)}: {exc}')
        except Exception as exc:  # noqa: BLE001 - psycopg's errors: named, no traceback
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ''
            self.get_logger().fatal(
                f'cannot reach the shared memory at {safe_dsn(self.cfg.dsn)} '
                f'({type(exc).__name__}: {first}); is the server running?')
        raise SystemExit(2)

    def _timed(self, name: str, handler: Callable) -> Callable:
        """`handler`, with the time it takes kept in `service_ms[name]`."""
        times = self.service_ms.setdefault(name, deque(maxlen=20_000))

        def timed(request, response):  # noqa: ANN001, ANN202 - rclpy service types
            t0 = time.perf_counter()
            try:
                return handler(request, response)
            finally:
                times.append((time.perf_counter() - t0) * 1000.0)
        return timed

    def service_times(self) -> dict[str, dict[str, float]]:
        """Per service: calls handled, p50 and p99 of the handling time (ms)."""
        out = {}
        for name, times in self.service_ms.items():
            values = sorted(times)
            if values:
                out[name] = {'n': len(values), 'p50': values[len(values) // 2],
                             'p99': values[min(len(values) - 1, int(len(values) * 0.99))]}
        return out

    # ---- inputs --------------------------------------------------------------------
    def _reject(self, reason: str, detail: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        self.get_logger().warning(f'dropped input ({reason}): {detail}',
                                  throttle_duration_sec=2.0)

    def _stamp_problem(self, stamp_msg: object) -> str:
        """Why a header stamp is unusable ('' when it is fine)."""
        sec, nanosec = stamp_msg.sec, stamp_msg.nanosec  # type: ignore[attr-defined]
        if sec < 0 or nanosec >= 1_000_000_000:
            return f'invalid stamp sec={sec} nanosec={nanosec}'
        now = self.get_clock().now().nanoseconds * 1e-9
        stamp = conv.stamp_to_seconds(stamp_msg)  # type: ignore[arg-type]
        limit = self.cfg.max_future_stamp
        if limit > 0 and now > 0 and stamp > now + limit:
            return f'stamp {stamp:.3f} is {stamp - now:.1f} s after the clock ({now:.3f})'
        return ''

    def _on_observations(self, msg: ObjectObservationArray) -> None:
        frame = msg.header.frame_id or self.cfg.map_frame
        if frame != self.cfg.map_frame:
            self._reject('wrong_frame', f'observations in {frame!r}, expected '
                                        f'{self.cfg.map_frame!r}')
            return
        problem = self._stamp_problem(msg.header.stamp)
        if problem:
            self._reject('bad_stamp', f'observations: {problem}')
            return
        stamp = conv.stamp_to_seconds(msg.header.stamp)
        observations = []
        for item in msg.observations:
            try:
                observations.append(conv.observation_from_msg(item, frame, stamp))
            except (ValueError, TypeError) as exc:
                self._reject('malformed_observation', str(exc))
        self.worker.submit((stamp, observations))

    def _fuse(self, item: tuple) -> None:
        stamp, observations = item
        self.memory.observe(observations)
        self.last_fused = max(self.last_fused, stamp)
        self.fused_pub.publish(Header(stamp=conv.seconds_to_stamp(self.last_fused),
                                      frame_id=self.cfg.map_frame))

    def _on_task_context(self, msg: String) -> None:
        try:
            labels = task_context_labels(msg.data)
        except (ValueError, KeyError, TypeError) as exc:
            self._reject('malformed_task_context', str(exc))
            return
        with self.memory.stm_lock:
            self.memory.stm.set_task_context(labels)

    def _on_rooms(self, msg: String) -> None:
        try:
            rooms = parse_room_annotation(msg.data).rooms
        except ValueError as exc:
            self._reject('malformed_rooms', str(exc))
            return
        for name, footprint in rooms.items():
            with self.memory.lock:
                self.memory.ltm.define_room_footprint(name, footprint)
        self.get_logger().info(f'room annotation: {", ".join(sorted(rooms))}')

    def _on_worker_error(self, exc: BaseException) -> None:
        if not rclpy.ok(context=self.context):
            return  # shutting down: the publisher is gone, nothing to report
        self._reject('fusion_error', repr(exc))

    def _on_state_event(self, msg: ObjectStateEvent) -> None:
        p = msg.position
        try:
            change = own_action_change(
                msg.label, conv.stamp_to_seconds(msg.header.stamp), (p.x, p.y, p.z),
                conv.states_from_msg(msg.states), msg.changed, msg.parent_label,
                msg.memory_id)
        except ValueError as exc:
            self._reject('malformed_state_event', str(exc))
            return
        limit = self.cfg.ltm.input.max_label_chars
        problem = self._stamp_problem(msg.header.stamp) or name_problem(msg.label, limit) or (
            msg.parent_label and name_problem(msg.parent_label, limit))
        if problem:
            self._reject('malformed_state_event', f'{msg.label[:60]!r}: {problem}')
            return
        try:
            self.memory.record(change, executor_id=msg.object_id)
        except ValueError as exc:
            self._reject('invalid_state_event', str(exc))

    # ---- services ------------------------------------------------------------------
    def _on_query(self, request, response):  # noqa: ANN001, ANN201 - rclpy service types
        query = ObjectQuery(
            text=request.text, label=request.label, object_id=request.object_id,
            room=request.room,
            relation=request.relation, relation_target=request.relation_target,
            near_point=((request.near_point.x, request.near_point.y, request.near_point.z)
                        if request.use_point else None),
            radius=float(request.radius), top_k=int(request.top_k))
        try:
            hits = self.memory.query(query, conv.optional_stamp(request.as_of))
        except ValueError as exc:
            response.error_code, response.error_msg = response.INVALID_REQUEST, str(exc)
            return response
        except Exception as exc:  # noqa: BLE001 - a service must answer, never crash
            self.get_logger().error(f'query failed: {exc!r}')
            response.error_code, response.error_msg = response.INTERNAL_ERROR, repr(exc)
            return response
        response.objects = [conv.node_to_memory_object(h.node, h.support, h.score)
                            for h in hits]
        if not hits:
            response.error_code = response.NOT_FOUND
            response.error_msg = 'no object in memory matches the query'
        return response

    def _on_get_scene_graph(self, request, response):  # noqa: ANN001, ANN201
        try:
            as_of = conv.optional_stamp(request.as_of)
            if request.mode == request.MODE_FULL:
                # The graph itself: its history over time is WhatChanged's business, its
                # point clouds SaveMemory's (they were 3/4 of it at 1k objects).
                response.json, response.node_count = self.memory.scene_graph_json(as_of)
                response.token_count = len(response.json) // 4
            elif request.mode == request.MODE_COLLAPSED:
                budget = request.token_budget or self.cfg.default_token_budget
                export, response.node_count = self.memory.collapsed_export(
                    budget, list(request.focus), as_of)
                response.json = json.dumps({'text': export.text,
                                            'truncated': export.truncated,
                                            'expanded': export.expanded})
                response.token_count = export.tokens
            else:
                response.error_code = response.INVALID_REQUEST
                response.error_msg = f'mode must be 0 (collapsed) or 1 (full), ' \
                                     f'got {request.mode}'
                return response
            response.sequence = self.memory.sequence
        except ValueError as exc:  # a stamp before the retention horizon
            response.error_code, response.error_msg = response.INVALID_REQUEST, str(exc)
        except Exception as exc:  # noqa: BLE001
            self.get_logger().error(f'get_scene_graph failed: {exc!r}')
            response.error_code, response.error_msg = response.INTERNAL_ERROR, repr(exc)
        return response

    def _on_recall(self, request, response):  # noqa: ANN001, ANN201
        try:
            found = self.memory.recall(request.instruction, request.label, request.object_id,
                                       int(request.top_k))
        except ValueError as exc:
            response.error_code, response.error_msg = response.INVALID_REQUEST, str(exc)
            return response
        for item in found:
            entry = getattr(item, 'entry', item)
            score = float(getattr(item, 'score', 0.0))
            response.states.append(conv.state_change_to_recalled(entry.change, score))
        if request.object_id and not found:
            response.error_code = response.NOT_FOUND
            response.error_msg = f'no short-term entry for object {request.object_id!r}'
        return response

    def _on_save(self, request, response):  # noqa: ANN001, ANN201
        path = Path(request.path or self.cfg.default_save_path).expanduser()
        try:
            response.node_count = self.memory.save(path)
            response.path = str(path.resolve())
        except (OSError, ValueError, sqlite3.Error) as exc:  # full disk, read-only, NUL
            response.error_code, response.error_msg = response.IO_ERROR, \
                f'cannot write {str(path)!r}: {exc}'
        return response

    def _on_load(self, request, response):  # noqa: ANN001, ANN201
        if not request.path:
            response.error_code, response.error_msg = response.INVALID_REQUEST, 'path is empty'
            return response
        path = Path(request.path).expanduser()
        if not path.exists():
            response.error_code = response.NOT_FOUND
            response.error_msg = f'no such file: {str(path)!r}'
            return response
        try:
            response.node_count = self.memory.load(path)
            self.sender.request_full_update()
        except (OSError, ValueError, KeyError, sqlite3.Error) as exc:
            # MemoryFileError (a ValueError) names the file and the cause.
            code = response.VERSION_MISMATCH if 'version' in str(exc).lower() else \
                response.IO_ERROR
            response.error_code = code
            response.error_msg = f'cannot load {str(path)!r} (memory unchanged): {exc}'
        return response

    def _on_mark_missing(self, request, response):  # noqa: ANN001, ANN201
        stamp = conv.stamp_to_seconds(request.stamp)
        if not self.memory.mark_missing(request.object_id, stamp, request.reason or 'missing'):
            response.error_code = response.NOT_FOUND
            response.error_msg = f'no memory node {request.object_id!r}'
        return response

    def _on_what_changed(self, request, response):  # noqa: ANN001, ANN201
        since = conv.stamp_to_seconds(request.since)
        until = conv.optional_stamp(request.until)
        try:
            response.changes = [conv.change_to_msg(c) for c in
                                self.memory.changes(since, until, request.room)]
        except ValueError as exc:
            response.error_code, response.error_msg = response.INVALID_REQUEST, str(exc)
        except Exception as exc:  # noqa: BLE001 - a service must answer, never crash
            self.get_logger().error(f'what_changed failed: {exc!r}')
            response.error_code, response.error_msg = response.INTERNAL_ERROR, repr(exc)
        return response

    def _on_reset(self, _request, response):  # noqa: ANN001, ANN201
        try:
            self.memory.reset()
        except (OSError, ValueError, sqlite3.Error) as exc:  # the database cannot be written
            response.success, response.message = False, f'memory unchanged: {exc}'
            return response
        self.sender.request_full_update()
        response.success, response.message = True, 'memory cleared'
        return response

    def _on_stats(self, _request, response):  # noqa: ANN001, ANN201
        stats = self.memory.stats()
        stats['worker'] = self.worker.stats()
        stats['rejected_messages'] = dict(self.rejected)
        stats['service_ms'] = self.service_times()
        stats['last_fused_stamp'] = self.last_fused
        response.success, response.message = True, json.dumps(stats, default=str)
        return response

    def destroy_node(self) -> None:
        """Stop the worker and flush the database before going away.

        Also called (by rclpy's shutdown) on a node whose construction failed partway:
        only what was built is stopped.
        """
        worker = getattr(self, 'worker', None)
        if worker is not None:
            worker.stop()
        memory = getattr(self, 'memory', None)
        if memory is not None:
            memory.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    """Run the memory node until Ctrl-C / SIGTERM."""
    run_node(MemoryNode, args, threads=4)


if __name__ == '__main__':
    main()
