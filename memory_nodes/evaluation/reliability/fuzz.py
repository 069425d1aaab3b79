"""Fuzzing the stack's nodes in process: hostile messages into every callback and service.

Each node (memory, perception, planner, simulator bridge) is built in a private rclpy
context (DDS on loopback) and its subscription callbacks and service handlers are called
directly with real message objects drawn by `hypothesis` (`fuzz_messages`), derandomized
so every run feeds the same inputs. After each input the harness checks that no exception
escaped the callback, that an input the node rejected left its state exactly as it was
(the memory's `RobotMemory.digest()`, the simulator's world, the planner's published
context) and, every few inputs and at the end, that the node still does its job: the
memory node answers a query and fuses a fresh frame, perception turns a good frame into
observations, the planner answers a request, the bridge executes a skill.

`run(quick, out)` is the reliability suite's entry (`make bench-reliability`): metrics
`fuzz_inputs`, `node_deaths`, `changed_by_rejected`, `fuzz_exceptions`, rows per node.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from memory_nodes.evaluation.reliability import fuzz_messages as fm

#: Inputs per node target (quick run, full run); the full run feeds >= 10,000 in all.
BUDGETS = {'quick': 0.15, 'full': 1.0}


@dataclasses.dataclass
class TargetStats:
    """What fuzzing one callback or service of one node came to."""

    node: str
    target: str
    inputs: int = 0
    rejected: int = 0
    exceptions: int = 0
    changed_by_rejected: int = 0
    deaths: int = 0
    seconds: float = 0.0
    examples: list[str] = dataclasses.field(default_factory=list)

    def fault(self, kind: str, detail: str) -> None:
        """Count nothing; keep the first few faults' descriptions for the report."""
        if len(self.examples) < 5:
            self.examples.append(f'{kind}: {detail[:600]}')


def _short(obj: Any, limit: int = 300) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[:limit] + '...'


def _fuzz(strategy: st.SearchStrategy, examples: int, body: Callable[[Any], None]) -> None:
    """Feed `examples` inputs drawn from `strategy` to `body` (derandomized, no shrinking)."""
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=(Phase.generate,), suppress_health_check=list(HealthCheck))
    @given(strategy)
    def feed(value: Any) -> None:
        body(value)

    feed()


class RosContext:
    """A private rclpy context on loopback (its own DDS participant)."""

    def __init__(self) -> None:
        os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
        import rclpy

        self.rclpy = rclpy
        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx)

    def close(self) -> None:
        """Shut the context down."""
        self.rclpy.try_shutdown(context=self.ctx)


def _params(values: dict[str, Any]) -> list:
    from rclpy.parameter import Parameter

    return [Parameter(k, value=v) for k, v in values.items()]


def _now(node: Any) -> float:
    return node.get_clock().now().nanoseconds * 1e-9


# ---- the harness ---------------------------------------------------------------------
class Harness:
    """One node under fuzz: targets, a liveness check and a state fingerprint."""

    name = ''

    def __init__(self, ros: RosContext, tmp: Path) -> None:
        self.ros = ros
        self.tmp = tmp
        self.node: Any = None

    def targets(self) -> dict[str, tuple[st.SearchStrategy, Callable[[Any], bool | None]]]:
        """Target name -> (strategy, feed(value) -> rejected?; None: a read)."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        """The node's state an input it rejects must leave unchanged."""
        return ''

    def alive(self) -> str:
        """'' when the node still does its job, else what failed."""
        return ''

    def restart(self) -> None:
        """Bring the node back to its start state (before each target)."""

    def close(self) -> None:
        """Destroy the node."""
        if self.node is not None:
            self.node.destroy_node()

    def fuzz(self, examples: dict[str, int], check_every: int = 50) -> list[TargetStats]:
        """Fuzz every target with its number of examples; returns stats per target."""
        out = []
        for target, (strategy, feed) in self.targets().items():
            if examples.get(target, 0) < 1:
                continue
            self.restart()
            stats = TargetStats(self.name, target)
            out.append(stats)
            t0 = time.perf_counter()

            def body(value: Any, stats: TargetStats = stats, feed: Callable = feed) -> None:
                stats.inputs += 1
                try:
                    before = self.fingerprint()
                    try:
                        rejected = feed(value)
                    except Exception:  # noqa: BLE001 - the measurement: it escaped the node
                        stats.exceptions += 1
                        stats.fault('exception', f'{_short(value)}\n{traceback.format_exc()}')
                        rejected = False
                    if rejected is not False:  # rejected or a read: nothing may change
                        stats.rejected += bool(rejected)
                        if self.fingerprint() != before:
                            stats.changed_by_rejected += 1
                            stats.fault('changed', _short(value))
                except Exception:  # noqa: BLE001 - the node's state cannot even be read
                    stats.deaths += 1
                    stats.fault('fingerprint', traceback.format_exc())
                if stats.inputs % check_every == 0:
                    self._check_alive(stats, value)

            _fuzz(strategy, examples.get(target, 0), body)
            if stats.inputs:
                self._check_alive(stats, None)
            stats.seconds = time.perf_counter() - t0
        return out

    def _check_alive(self, stats: TargetStats, last: Any) -> None:
        try:
            problem = self.alive()
        except Exception:  # noqa: BLE001
            problem = traceback.format_exc()
        if problem:
            stats.deaths += 1
            stats.fault('dead', f'{problem} (after {_short(last)})')


def _wait_worker(worker: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while worker.processed + worker.failed + worker.dropped < worker.submitted:
        if time.monotonic() > deadline:
            raise TimeoutError('worker did not finish its queue')
        time.sleep(0.0002)


# ---- memory node -----------------------------------------------------------------------
def _valid_frame(stamp: float, label: str, centre: tuple[float, float, float]) -> Any:
    from embodied_memory_msgs.msg import ObjectObservationArray

    from memory_nodes.memory.observation import ObjectObservation
    from memory_nodes.ros import conversions as conv

    rng = np.random.default_rng(int(stamp * 10) % 2**32)
    msg = ObjectObservationArray()
    msg.header.frame_id = 'map'
    msg.header.stamp = conv.seconds_to_stamp(stamp)
    pts = np.asarray(centre) + rng.uniform(-0.04, 0.04, (60, 3))
    msg.observations.append(conv.observation_to_msg(
        ObjectObservation(label=label, score=0.9, points=pts, stamp=stamp)))
    return msg


def _service_requests() -> dict[str, st.SearchStrategy]:
    from embodied_memory_msgs.srv import (
        GetSceneGraph,
        MarkMissing,
        QueryObjects,
        RecallStates,
        WhatChanged,
    )

    ids = st.one_of(st.sampled_from(['', 'n1', 'n2', 'n3', 'room_1']), fm.text())
    return {
        'query_objects': st.builds(
            QueryObjects.Request, object_id=ids, text=fm.text(), label=fm.label(),
            room=fm.text(), relation=st.one_of(st.sampled_from(['', 'on', 'in', 'near']),
                                               fm.text(8)),
            relation_target=fm.label(), use_point=st.booleans(), near_point=fm.point(),
            radius=fm.f32(), top_k=st.integers(*fm.UINT32), as_of=fm.stamp()),
        'get_scene_graph': st.builds(
            GetSceneGraph.Request, mode=st.integers(0, 255),
            token_budget=st.integers(*fm.UINT32),
            focus=st.lists(fm.text(), max_size=4), as_of=fm.stamp()),
        'recall_states': st.builds(
            RecallStates.Request, instruction=fm.text(), label=fm.label(), object_id=ids,
            top_k=st.integers(*fm.UINT32)),
        'mark_missing': st.builds(MarkMissing.Request, object_id=fm.text(),
                                  stamp=fm.stamp(), reason=fm.text()),
        'what_changed': st.builds(WhatChanged.Request, since=fm.stamp(), until=fm.stamp(),
                                  room=fm.text()),
    }


@st.composite
def _memory_file(draw, valid: bytes):  # noqa: ANN001, ANN202
    """(suffix, content) of a file to load; content None: a directory of that name."""
    return draw(st.sampled_from(['.json.gz', '.json.gz', '.json', '.db'])), \
        draw(_file_content(valid))


@st.composite
def _file_content(draw, valid: bytes):  # noqa: ANN001, ANN202
    kind = draw(st.sampled_from(['random', 'truncated', 'flipped', 'empty', 'json', 'gzjson',
                                 'directory']))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == 'random':
        return rng.integers(0, 256, draw(st.integers(1, 4096)), dtype=np.uint8).tobytes()
    if kind == 'truncated':
        return valid[:draw(st.integers(0, max(len(valid) - 1, 0)))]
    if kind == 'flipped':
        data = bytearray(valid)
        pos = draw(st.integers(10, max(len(data) - 9, 10)))  # past the gzip header
        if pos < len(data):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        return bytes(data)
    if kind == 'empty':
        return b''
    text = json.dumps(draw(fm.json_value())).encode('utf-8', 'surrogatepass')
    if kind == 'directory':
        return None
    return gzip.compress(text) if kind == 'gzjson' else text


class MemoryHarness(Harness):
    """The memory node, with a real SQLite database, preloaded with a few objects."""

    name = 'memory'

    def __init__(self, ros: RosContext, tmp: Path) -> None:
        super().__init__(ros, tmp)
        from memory_nodes.ros.memory_node import MemoryNode

        self.node = MemoryNode(context=ros.ctx, parameter_overrides=_params({
            'database_path': str(tmp / 'memory.db'), 'text_embeddings': 'hashing',
            'default_save_path': str(tmp / 'default_save.json.gz')}))
        now = _now(self.node)
        scene = [('Apple', (1.0, 0.5, 0.95)), ('Mug', (1.4, 0.1, 0.95)),
                 ('Fridge', (3.0, 2.0, 0.9))]
        for i in range(3):
            for label, centre in scene:
                self._fuse(_valid_frame(now - 5.0 + i * 0.2, label, centre))
        from std_msgs.msg import String

        self.node._on_rooms(String(data=json.dumps(
            {'frame_id': 'map', 'rooms': {'kitchen': [0, 0, 5, 5]}})))
        self.node.memory.save(tmp / 'valid.json.gz')
        self.valid_snapshot = (tmp / 'valid.json.gz').read_bytes()
        self.files = 0
        self.fresh = 0
        self.max_nodes = 40

    def _load_start(self) -> str:
        from embodied_memory_msgs.srv import LoadMemory

        reply = self.node._on_load(LoadMemory.Request(path=str(self.tmp / 'valid.json.gz')),
                                   LoadMemory.Response())
        return '' if reply.error_code == 0 else \
            f'cannot load the start snapshot: {reply.error_msg}'

    def restart(self) -> None:
        """Load the start snapshot (a few objects, a room) back into the memory."""
        problem = self._load_start()
        if problem:
            raise RuntimeError(problem)

    def _fuse(self, msg: Any) -> None:
        self.node._on_observations(msg)
        _wait_worker(self.node.worker)

    def fingerprint(self) -> str:
        """The memory's digest (graph, timeline, short-term entries)."""
        return self.node.memory.digest()

    def _rejected_count(self) -> int:
        return sum(self.node.rejected.values())

    def _on_observations(self, msg: Any) -> bool:
        checker = self.node.memory.ltm.checker
        accepted = checker.accepted
        failed = self.node.worker.failed
        self._fuse(msg)
        if self.node.worker.failed != failed:
            raise RuntimeError(f'fusion failed: {self.node.rejected}')
        return checker.accepted == accepted

    def _counted(self, callback: Callable[[Any], None]) -> Callable[[Any], bool]:
        def feed(msg: Any) -> bool:
            before = self._rejected_count()
            callback(msg)
            return self._rejected_count() != before
        return feed

    def _service(self, handler: Callable, srv: Any, read: bool) -> Callable[[Any], bool | None]:
        def feed(request: Any) -> bool | None:
            response = handler(request, srv.Response())
            if getattr(response, 'error_code', 0) == getattr(srv.Response, 'INTERNAL_ERROR',
                                                             -1):
                raise RuntimeError(f'internal error: {response.error_msg}')
            if read:
                return None
            return response.error_code != 0
        return feed

    def _save(self, name: str) -> bool | None:
        from embodied_memory_msgs.srv import SaveMemory

        # Any name, kept inside the harness's directory (the fuzz writes nowhere else).
        name = name.replace('/', '_').replace('\\', '_')
        target = '' if name == '' else str(self.tmp / 'saves' / f'save_{name}')
        (self.tmp / 'saves').mkdir(exist_ok=True)
        self.node._on_save(SaveMemory.Request(path=target), SaveMemory.Response())
        return None  # saving never changes the memory

    def _load(self, file: tuple[str, bytes | None]) -> bool:
        from embodied_memory_msgs.srv import LoadMemory

        suffix, content = file
        self.files += 1
        path = self.tmp / 'loads' / f'file_{self.files}{suffix}'
        path.parent.mkdir(exist_ok=True)
        if content is None:
            path.mkdir()
        else:
            path.write_bytes(content)
        response = self.node._on_load(LoadMemory.Request(path=str(path)),
                                      LoadMemory.Response())
        return response.error_code != 0

    def targets(self) -> dict:
        """Every subscription and service of the memory node."""
        from embodied_memory_msgs.srv import (
            GetSceneGraph,
            MarkMissing,
            QueryObjects,
            RecallStates,
            WhatChanged,
        )
        from std_srvs.srv import Trigger

        n = self.node
        requests = _service_requests()
        labels_json = ({'labels': ['Apple', 'Mug']},)
        rooms_json = ({'frame_id': 'map', 'rooms': {'kitchen': [0, 0, 5, 5]}},)
        return {
            'observations': (fm.observation_array(), self._on_observations),
            'object_state_events': (fm.state_event(), self._counted(n._on_state_event)),
            'rooms': (fm.string_msg(rooms_json), self._counted(n._on_rooms)),
            'task_context': (fm.string_msg(labels_json), self._counted(n._on_task_context)),
            'query_objects': (requests['query_objects'],
                              self._service(n._on_query, QueryObjects, True)),
            'get_scene_graph': (requests['get_scene_graph'],
                                self._service(n._on_get_scene_graph, GetSceneGraph, True)),
            'recall_states': (requests['recall_states'],
                              self._service(n._on_recall, RecallStates, True)),
            'what_changed': (requests['what_changed'],
                             self._service(n._on_what_changed, WhatChanged, True)),
            'mark_missing': (requests['mark_missing'],
                             self._service(n._on_mark_missing, MarkMissing, False)),
            'memory_stats': (st.builds(Trigger.Request),
                             self._service(n._on_stats, Trigger, True)),
            'save_memory': (st.one_of(st.just(''), fm.text(40)), self._save),
            'load_memory': (_memory_file(self.valid_snapshot), self._load),
        }

    def alive(self) -> str:
        """A normal query answers and a fresh frame of a new object is fused.

        A memory grown past `max_nodes` by accepted inputs is loaded back from the start
        snapshot first, so the per-input digests stay cheap over a long run.
        """
        from embodied_memory_msgs.srv import QueryObjects

        ltm = self.node.memory.ltm
        if len(ltm.graph.nodes) > self.max_nodes or len(ltm.timeline) > 4 * self.max_nodes:
            problem = self._load_start()
            if problem:
                return problem

        reply = self.node._on_query(QueryObjects.Request(label='fridge'),
                                    QueryObjects.Response())
        if reply.error_code not in (0, 2):
            return f'query failed: {reply.error_msg}'
        checker = self.node.memory.ltm.checker
        accepted = checker.accepted
        self.fresh += 1
        self._fuse(_valid_frame(_now(self.node), 'Bowl', (0.5, 0.2 * (self.fresh % 20), 0.9)))
        if checker.accepted == accepted:
            return (f'a fresh frame was not fused (rejected: {dict(checker.rejected)}, '
                    f'node: {self.node.rejected})')
        return ''


# ---- perception node -----------------------------------------------------------------
@st.composite
def _frame_parts(draw):  # noqa: ANN001, ANN202
    """A camera frame's parts: a good frame with some parts replaced by hostile ones."""
    from geometry_msgs.msg import PoseStamped
    from std_msgs.msg import Header

    from memory_nodes.ros import conversions as conv

    h, w = 12, 16
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    head = Header(stamp=conv.seconds_to_stamp(10.0), frame_id='head_camera_optical_frame')
    depth = rng.uniform(0.5, 3.0, (h, w)).astype(np.float32)
    seg = rng.integers(-1, 3, (h, w)).astype(np.int32)
    k = np.array([[20.0, 0, w / 2], [0, 20.0, h / 2], [0, 0, 1]])
    pose = PoseStamped()
    pose.header.frame_id = 'map'
    pose.pose.orientation.w = 1.0
    parts = {
        'rgb': conv.image_to_msg(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), 'rgb8',
                                 head),
        'depth': conv.image_to_msg(depth, '32FC1', head),
        'info': conv.camera_info_to_msg(k, w, h, head),
        'pose': pose,
        'seg': conv.image_to_msg(seg, '32SC1', head),
        'instances': {'stamp': 10.0, 'instances': {
            '0': {'label': 'Apple', 'states': {'sliced': False}},
            '1': {'label': 'Mug', 'states': {}}, '2': {'label': 'Wall'}}},
    }
    hostile = {
        'rgb': fm.image(), 'depth': fm.image(), 'seg': fm.image(), 'info': fm.camera_info(),
        'pose': fm.pose_stamped(),
        'instances': fm.json_value().map(
            lambda v: v if isinstance(v, dict) and 'instances' in v else
            {'stamp': 10.0, 'instances': v}),
    }
    for name in draw(st.lists(st.sampled_from(sorted(hostile)), min_size=0, max_size=3,
                              unique=True)):
        parts[name] = draw(hostile[name])
    if draw(st.booleans()):  # a depth image full of one hostile value (NaN, inf, 1e308)
        bad = draw(fm.f64())
        value = np.float32(bad) if not np.isfinite(bad) or abs(bad) < 3e38 else np.inf
        parts['depth'] = conv.image_to_msg(np.full((h, w), value, np.float32), '32FC1', head)
    return parts


class PerceptionHarness(Harness):
    """The perception node (simulator masks detector, camera pose on a topic)."""

    name = 'perception'

    def __init__(self, ros: RosContext, tmp: Path) -> None:
        super().__init__(ros, tmp)
        from memory_nodes.ros.perception_node import PerceptionNode

        self.node = PerceptionNode(context=ros.ctx, parameter_overrides=_params({
            'use_tf': False, 'sync_tolerance': 0.0}))
        from hypothesis import find

        # The simplest frame the strategy draws: no hostile part (drawn outside any @given).
        self.good = find(_frame_parts(), lambda _parts: True,
                         settings=settings(database=None, derandomize=True))

    def fingerprint(self) -> str:
        """What the node published so far (a rejected frame publishes nothing)."""
        return str(self.node.published)

    def _process(self, parts: dict) -> bool:
        before = sum(self.node.rejected.values())
        self.node._process(parts)
        return sum(self.node.rejected.values()) != before

    def _stream(self, stream: str) -> Callable[[Any], None]:
        callback = self.node._stamped(stream)

        def feed(msg: Any) -> None:
            failed = self.node.worker.failed
            callback(msg)
            _wait_worker(self.node.worker)
            if self.node.worker.failed != failed:
                raise RuntimeError(f'frame processing failed: {dict(self.node.rejected)}')
        return feed

    def _instances(self, msg: Any) -> bool:
        before = sum(self.node.rejected.values())
        self.node._on_instances(msg)
        return sum(self.node.rejected.values()) != before

    def targets(self) -> dict:
        """The frame processing (every part hostile or not) and each subscription."""
        return {
            'frame': (_frame_parts(), self._process),
            'rgb/image_raw': (fm.image(), self._stream('rgb')),
            'depth/image_raw': (fm.image(), self._stream('depth')),
            'segmentation/image_raw': (fm.image(), self._stream('seg')),
            'camera_info': (fm.camera_info(), self._stream('info')),
            'camera/pose': (fm.pose_stamped(), self._stream('pose')),
            'segmentation/instances': (fm.string_msg(
                ({'stamp': 1.0, 'instances': {'1': {'label': 'Apple'}}},)), self._instances),
        }

    def alive(self) -> str:
        """A good frame still becomes observations."""
        published = self.node.published
        self.node._process(self.good)
        return '' if self.node.published == published + 1 else \
            f'a good frame published nothing (rejected: {dict(self.node.rejected)})'


# ---- planner node ----------------------------------------------------------------------
class _GoalHandle:
    """What `ExecuteTask`'s execute callback uses of rclpy's ServerGoalHandle."""

    def __init__(self, request: Any) -> None:
        self.request = request
        self.is_cancel_requested = False
        self.status = 'executing'
        self.feedback = 0

    def publish_feedback(self, _msg: Any) -> None:
        self.feedback += 1

    def abort(self) -> None:
        self.status = 'aborted'

    def succeed(self) -> None:
        self.status = 'succeeded'

    def canceled(self) -> None:
        self.status = 'canceled'


def _goal_conditions() -> st.SearchStrategy[list[str]]:
    kinds = st.sampled_from(['ON', 'INSIDE', 'STATE', 'HOLDING', 'AT', 'on', 'XYZ', ''])
    args = st.lists(st.one_of(st.sampled_from(fm.LABELS + ('clean', 'Apple_1', '#Mug_2')),
                              fm.text(12)), max_size=3)
    built = st.builds(lambda k, a, v: f'{k}({", ".join(a)})' + v, kinds, args,
                      st.sampled_from(['', ': 1', ': 0', ': x', ')', '((']))
    return st.lists(st.one_of(built, fm.text()), max_size=4)


class PlannerHarness(Harness):
    """The planner node, with no memory or skill server answering (requests fail fast)."""

    name = 'planner'

    def __init__(self, ros: RosContext, tmp: Path) -> None:
        super().__init__(ros, tmp)
        from memory_nodes.ros.planner_node import PlannerNode

        self.node = PlannerNode(context=ros.ctx, parameter_overrides=_params({
            'max_skills': 3, 'max_replans': 1, 'skill_timeout': 1.0}))
        # Nothing answers on this private context: let every call time out at once.
        self.node.memory.timeout = 0.01
        self.node.robot.timeout = 0.01
        self.node.robot.catch_up_timeout = 0.01
        self.published = 0
        publish = self.node.context_pub.publish

        def counted(msg: Any) -> None:
            self.published += 1
            publish(msg)
        self.node.context_pub.publish = counted

    def fingerprint(self) -> str:
        """Contexts published, tasks remembered, rooms known (a rejected input adds none)."""
        return f'{self.published}/{len(self.node.previous_tasks)}/{self.node.memory.room_names}'

    def _goal(self, goal: Any) -> bool:
        from embodied_memory_msgs.action import ExecuteTask

        handle = _GoalHandle(goal)
        result = self.node._execute(handle)
        if handle.status == 'executing':
            raise RuntimeError('the goal was neither succeeded nor aborted')
        return result.error_code == ExecuteTask.Result.INVALID_REQUEST

    def _rooms(self, msg: Any) -> bool:
        from memory_nodes.memory.rooms import parse_room_annotation

        self.node.memory._on_rooms(msg)
        try:
            parse_room_annotation(msg.data)
        except ValueError:
            return True  # refused: the rooms the planner knew must be unchanged
        return False

    def targets(self) -> dict:
        """The ExecuteTask goal and the rooms subscription."""
        from embodied_memory_msgs.action import ExecuteTask

        goals = st.builds(ExecuteTask.Goal, instruction=st.one_of(
            fm.text(), st.sampled_from(['put the apple in the fridge', 'slice the bread',
                                        'open the fridge'])),
            goal_conditions=_goal_conditions())
        return {
            'execute_task': (goals, self._goal),
            'rooms': (fm.string_msg(({'frame_id': 'map', 'rooms': {'kitchen': [0, 0, 1, 1]}},)),
                      self._rooms),
        }

    def alive(self) -> str:
        """A normal request is answered (it fails: no memory answers here)."""
        from embodied_memory_msgs.action import ExecuteTask

        handle = _GoalHandle(ExecuteTask.Goal(instruction='put the apple in the fridge'))
        result = self.node._execute(handle)
        return '' if handle.status == 'aborted' and result.error_msg else \
            f'normal request: {handle.status} {result.error_msg!r}'


# ---- simulator bridge ------------------------------------------------------------------
class SimBridgeHarness(Harness):
    """The simulator bridge (a small camera): skills and episode control."""

    name = 'sim_bridge'

    def __init__(self, ros: RosContext, tmp: Path) -> None:
        super().__init__(ros, tmp)
        from memory_nodes.ros.sim_bridge_node import SimBridgeNode

        self.node = SimBridgeNode(context=ros.ctx, parameter_overrides=_params({
            'camera_width': 64, 'camera_height': 48, 'publish_tf': False}))

    def fingerprint(self) -> str:
        """The simulated world: home, robot pose, what it holds, every object's state."""
        sim = self.node.sim
        truth = {k: (v.object_type, [round(float(x), 4) for x in v.position],
                     sorted(v.states.items()), v.parent)
                 for k, v in sorted(sim.ground_truth().items())}
        pose = [round(float(x), 4) for x in sim.robot_pose()]
        return json.dumps([sim.home.name, pose, sim.holding(), truth,
                           self.node.task is not None], default=str)

    def _skill(self, request: Any) -> bool:
        from embodied_memory_msgs.srv import ExecuteSkill

        response = self.node._on_execute_skill(request, ExecuteSkill.Response())
        return response.error_code == ExecuteSkill.Response.INVALID_REQUEST

    def _control(self, request: Any) -> bool:
        from embodied_memory_msgs.srv import SimControl

        response = self.node._on_control(request, SimControl.Response())
        if response.success:
            json.loads(response.result_json)
        return not response.success

    def targets(self) -> dict:
        """ExecuteSkill and SimControl."""
        from embodied_memory_msgs.srv import ExecuteSkill, SimControl

        from memory_nodes.domain.skills import PRIMITIVE_SKILLS

        skills = st.builds(
            ExecuteSkill.Request,
            skill=st.one_of(st.sampled_from(PRIMITIVE_SKILLS), fm.text(12)),
            target_label=st.one_of(st.just(''), fm.label()),
            target_memory_id=st.one_of(st.just(''), fm.text(10)),
            target_position=fm.point(), target_position_known=st.booleans(),
            receptacle_label=st.one_of(st.just(''), fm.label()),
            receptacle_position=fm.point(), receptacle_position_known=st.booleans(),
            relation=st.one_of(st.sampled_from(['', 'in', 'on']), fm.text(6)),
            area=st.one_of(st.sampled_from(['', 'kitchen', 'living_room']), fm.text(12)))
        payloads = ({'seed': 1}, {'suite': 'slice_first', 'episode': 0}, {'task_id': 't0'})
        control = st.builds(
            SimControl.Request,
            command=st.one_of(st.sampled_from(['status', 'end_task', 'begin_task',
                                               'load_home', 'load_episode', 'STATUS', '']),
                              fm.text(12)),
            payload_json=fm.json_text(payloads))
        return {'execute_skill': (skills, self._skill), 'sim_control': (control, self._control)}

    def alive(self) -> str:
        """A status request and an explore skill are answered."""
        from embodied_memory_msgs.srv import ExecuteSkill, SimControl

        status = self.node._on_control(SimControl.Request(command='status'),
                                       SimControl.Response())
        if not status.success:
            return f'status failed: {status.message}'
        reply = self.node._on_execute_skill(ExecuteSkill.Request(skill='navigate_to',
                                                                 area='kitchen'),
                                            ExecuteSkill.Response())
        return '' if reply.error_code != ExecuteSkill.Response.INVALID_REQUEST else \
            f'navigate_to refused: {reply.error_msg}'


HARNESSES = {'memory': MemoryHarness, 'perception': PerceptionHarness,
             'planner': PlannerHarness, 'sim_bridge': SimBridgeHarness}

#: Inputs per target in the full run (>= 10,000 in all); quick runs a quarter.
FULL_EXAMPLES = {
    'memory': {'observations': 2500, 'object_state_events': 1000, 'rooms': 400,
               'task_context': 400, 'query_objects': 800, 'get_scene_graph': 400,
               'recall_states': 500, 'what_changed': 400, 'mark_missing': 300,
               'memory_stats': 50, 'save_memory': 150, 'load_memory': 250},
    'perception': {'frame': 1200, 'rgb/image_raw': 300, 'depth/image_raw': 300,
                   'segmentation/image_raw': 300, 'camera_info': 300, 'camera/pose': 300,
                   'segmentation/instances': 300},
    'planner': {'execute_task': 800, 'rooms': 200},
    'sim_bridge': {'execute_skill': 300, 'sim_control': 300},
}


def fuzz_nodes(examples: dict[str, dict[str, int]], tmp: Path,
               check_every: int = 50) -> list[TargetStats]:
    """Fuzz each named node's targets with the given numbers of inputs."""
    import logging
    import warnings

    ros = RosContext()
    out: list[TargetStats] = []
    logging.getLogger('memory_nodes').setLevel(logging.ERROR)
    with warnings.catch_warnings():
        # NaN and 1e308 in images and clouds make numpy warn; what escapes is measured.
        warnings.simplefilter('ignore', RuntimeWarning)
        try:
            for name, counts in examples.items():
                home = tmp / name
                home.mkdir(parents=True, exist_ok=True)
                harness = HARNESSES[name](ros, home)
                try:
                    # A rejected input's warning on every call would drown the output.
                    harness.node.get_logger().set_level(40)  # ERROR
                    out += harness.fuzz(counts, check_every)
                finally:
                    harness.close()
        finally:
            ros.close()
    return out


def summarize(stats: list[TargetStats]) -> dict[str, Any]:
    """Metrics, rows and notes in the reliability suite's shape."""
    metrics = {
        'fuzz_inputs': sum(s.inputs for s in stats),
        'node_deaths': sum(s.deaths for s in stats),
        'changed_by_rejected': sum(s.changed_by_rejected for s in stats),
        'fuzz_exceptions': sum(s.exceptions for s in stats),
        'fuzz_rejected': sum(s.rejected for s in stats),
    }
    rows: list[tuple[str, Any]] = []
    for node in dict.fromkeys(s.node for s in stats):
        mine = [s for s in stats if s.node == node]
        rows.append((f'fuzz {node}: inputs / rejected / exceptions / changed / deaths',
                     ' / '.join(str(sum(getattr(s, k) for s in mine)) for k in (
                         'inputs', 'rejected', 'exceptions', 'changed_by_rejected',
                         'deaths'))))
    notes = [f'{s.node} {s.target}: {e}' for s in stats for e in s.examples][:20]
    notes.insert(0, 'fuzzing: hypothesis (derandomized) draws real messages for every '
                    'subscription and service of the memory, perception, planner and '
                    'simulator-bridge nodes, called in process; a rejected input must '
                    "leave the memory digest (and the other nodes' state) unchanged")
    return {'metrics': metrics, 'rows': rows, 'notes': notes,
            'targets': [dataclasses.asdict(s) for s in stats]}


def run(quick: bool, out: Path) -> dict[str, Any]:
    """The fuzzing part of the reliability suite; writes `fuzz.json` into `out`."""
    scale = BUDGETS['quick' if quick else 'full']
    examples = {node: {t: max(1, int(n * scale)) for t, n in counts.items()}
                for node, counts in FULL_EXAMPLES.items()}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='fuzz_') as tmp:
        stats = fuzz_nodes(examples, Path(tmp))
    result = summarize(stats)
    result['metrics']['fuzz_seconds'] = round(time.perf_counter() - t0, 1)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'fuzz.json').write_text(json.dumps(result, indent=1, default=str))
    result.pop('targets')
    return result
