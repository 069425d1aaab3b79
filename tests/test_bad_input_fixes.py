"""Faults the fuzzing found, each pinned by the input that showed it (issue 19).

Core parts are tested without ROS; node callbacks on nodes built in a private rclpy
context and called directly, as the fuzz harness does.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from memory_nodes.domain.labels import name_problem
from memory_nodes.memory.config import InputCheckConfig
from memory_nodes.memory.input_checks import InputChecker
from memory_nodes.memory.observation import ObjectObservation
from memory_nodes.memory.rooms import parse_room_annotation
from memory_nodes.perception.sim_segmentation import instances_from_json


# ---- core ------------------------------------------------------------------------------
@pytest.mark.parametrize('name,problem', [
    ('Apple', ''), ('dining table', ''), ('苹果 🍎', ''), ('', 'empty'), ('   ', 'empty'),
    ('a' * 129, '129 characters'), ('a\ud800b', 'U+D800'), ('Mug\x00', 'U+0000'),
    ('two\nlines', 'U+000A'), (3, 'not a string')])
def test_name_problem_names_what_no_database_can_store(name, problem):
    got = name_problem(name)
    assert (got == '') if not problem else (problem in got)


@pytest.mark.parametrize('label,room,reason', [
    ('a' * 200, None, 'label_too_long'), ('apple\ud800', None, 'unstorable_text'),
    ('apple', 'kitchen\udfff', 'unstorable_text'), ('apple\x00', None, 'unstorable_text')])
def test_checker_refuses_labels_sqlite_cannot_store_or_nobody_writes(label, room, reason):
    checker = InputChecker(InputCheckConfig())
    obs = ObjectObservation(label, 0.9, np.zeros((10, 3)) + [1.0, 1.0, 0.9], 1.0, room=room)
    assert checker.check_observation(obs) is None
    assert checker.rejected[reason] == 1


@pytest.mark.parametrize('name', ['', 'k\ud800', 'a' * 500, 'hall\x1b[2J'])
def test_room_annotation_with_an_unstorable_name_is_refused(name):
    text = json.dumps({'rooms': {name: [0, 0, 1, 1]}})
    with pytest.raises(ValueError, match='room name'):
        parse_room_annotation(text)


@pytest.mark.parametrize('data,message', [
    ([], 'expected'), ({'instances': []}, 'expected'), ({'instances': {'x': {}}}, 'integer'),
    ({'instances': {'1': 'Apple'}}, 'string label'),
    ({'instances': {'1': {'label': 3}}}, 'string label'),
    ({'instances': {'1': {'label': 'Apple', 'states': [1]}}}, 'states')])
def test_malformed_instances_are_a_value_error(data, message):
    with pytest.raises(ValueError, match=message):
        instances_from_json(data)
    assert instances_from_json({'instances': {'2': {'label': 'Mug'}}}) == {
        2: {'label': 'Mug', 'states': {}, 'held': False}}


# ---- nodes in process -------------------------------------------------------------------
@pytest.fixture
def ros_context():
    import rclpy

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.try_shutdown(context=ctx)


def _params(**values):
    from rclpy.parameter import Parameter

    return [Parameter(k, value=v) for k, v in values.items()]


@pytest.fixture
def memory_node(ros_context, tmp_path):
    from memory_nodes.ros.memory_node import MemoryNode

    node = MemoryNode(context=ros_context, parameter_overrides=_params(
        database_path=str(tmp_path / 'memory.db'), text_embeddings='hashing'))
    yield node
    node.destroy_node()


def _frame(stamp_sec, stamp_nanosec=0, label='Apple', centre=(1.0, 1.0, 0.9)):
    from embodied_memory_msgs.msg import ObjectObservationArray

    from memory_nodes.ros import conversions as conv

    msg = ObjectObservationArray()
    msg.header.frame_id = 'map'
    msg.header.stamp.sec, msg.header.stamp.nanosec = stamp_sec, stamp_nanosec
    pts = np.asarray(centre) + np.random.default_rng(stamp_sec % 1000).uniform(
        -0.03, 0.03, (50, 3))
    msg.observations.append(conv.observation_to_msg(ObjectObservation(label, 0.9, pts, 0.0)))
    return msg


def _fuse(node, msg):
    node._on_observations(msg)
    assert node.worker.wait_idle(10.0)


@pytest.mark.ros
def test_a_future_stamp_cannot_blind_the_memory(memory_node):
    """One frame stamped in 2038 used to make every later frame 'stale' for good."""
    node = memory_node
    now = int(node.get_clock().now().nanoseconds * 1e-9)
    before = node.memory.digest()
    for sec, nanosec in ((2**31 - 1, 0), (now + 3600, 0), (-5, 0), (now, 1_500_000_000)):
        _fuse(node, _frame(sec, nanosec))
    assert node.rejected['bad_stamp'] == 4
    assert node.memory.digest() == before
    accepted = node.memory.ltm.checker.accepted
    _fuse(node, _frame(now))
    assert node.memory.ltm.checker.accepted == accepted + 1  # a frame stamped now is fused


@pytest.mark.ros
def test_state_events_with_unstorable_or_future_labels_are_refused(memory_node):
    from embodied_memory_msgs.msg import ObjectStateEvent

    node = memory_node
    now = int(node.get_clock().now().nanoseconds * 1e-9)
    before = node.memory.digest()
    for label, parent, sec in (('Apple\ud800', '', now), ('x' * 300, '', now),
                               ('Apple', 'Fridge\x00', now), ('Apple', '', now + 10**6)):
        event = ObjectStateEvent(label=label, parent_label=parent)
        event.header.stamp.sec = sec
        node._on_state_event(event)
    assert node.rejected.get('malformed_state_event', 0) == 4
    assert node.memory.digest() == before
    good = ObjectStateEvent(label='Apple')
    good.header.stamp.sec = now
    node._on_state_event(good)
    assert node.memory.digest() != before


@pytest.mark.ros
def test_save_to_a_path_with_nul_answers_an_io_error(memory_node, tmp_path):
    from embodied_memory_msgs.srv import SaveMemory

    reply = memory_node._on_save(SaveMemory.Request(path=str(tmp_path / 'a\x00b.json.gz')),
                                 SaveMemory.Response())
    assert reply.error_code == reply.IO_ERROR and 'null' in reply.error_msg


@pytest.mark.ros
def test_rooms_with_a_surrogate_name_never_reach_the_database(memory_node):
    from std_msgs.msg import String

    before = memory_node.memory.digest()
    memory_node._on_rooms(String(data='{"rooms": {"\\ud800": [0, 0, 1, 1]}}'))
    assert memory_node.rejected == {'malformed_rooms': 1}
    assert memory_node.memory.digest() == before


@pytest.mark.ros
def test_perception_reports_malformed_instances_as_a_bad_frame(ros_context):
    """A list or a string where the instance table belongs used to crash the worker."""
    from hypothesis import find, settings

    from memory_nodes.evaluation.reliability.fuzz import _frame_parts
    from memory_nodes.ros.perception_node import PerceptionNode

    node = PerceptionNode(context=ros_context, parameter_overrides=_params(use_tf=False))
    try:
        parts = find(_frame_parts(), lambda _p: True,
                     settings=settings(database=None, derandomize=True))
        for bad in ([], {'1': 'Apple'}, {'1': {'label': 'Apple', 'states': 'open'}}):
            node._process(dict(parts, instances={'stamp': 10.0, 'instances': bad}))
        assert node.rejected['malformed_frame'] == 3 and node.published == 0
        node._process(parts)
        assert node.published == 1
    finally:
        node.destroy_node()


@pytest.mark.ros
def test_sim_control_with_an_infinite_seed_is_refused(ros_context):
    from embodied_memory_msgs.srv import SimControl

    from memory_nodes.ros.sim_bridge_node import SimBridgeNode

    node = SimBridgeNode(context=ros_context, parameter_overrides=_params(
        camera_width=64, camera_height=48, publish_tf=False))
    try:
        home = node.sim.home.name
        for payload in ('{"seed": Infinity}', '{"seed": -Infinity}',
                        '{"suite": "x", "episode": Infinity}'):
            command = 'load_home' if 'seed' in payload else 'load_episode'
            reply = node._on_control(SimControl.Request(command=command, payload_json=payload),
                                     SimControl.Response())
            assert not reply.success and command in reply.message
        assert node.sim.home.name == home
        assert math.isfinite(node.sim.time)
    finally:
        node.destroy_node()


@pytest.mark.ros
def test_planner_ignores_a_rooms_message_that_is_not_an_annotation(ros_context):
    from std_msgs.msg import String

    from memory_nodes.ros.planner_node import PlannerNode

    node = PlannerNode(context=ros_context)
    try:
        view = node.memory
        view._on_rooms(String(data=json.dumps({'rooms': {'kitchen': [0, 0, 1, 1]}})))
        assert view.room_names == ['kitchen']
        for bad in ('{"rooms": "kitchen"}', '{"rooms": ["hall", 3]}', '{"rooms": {"": []}}'):
            view._on_rooms(String(data=bad))
            assert view.room_names == ['kitchen']  # was ['c', 'e', 'h', 'i', 'k', 'n', 't']
    finally:
        node.destroy_node()


@pytest.mark.parametrize('name,content', [
    ('list.json.gz', b'[1, 2]'), ('int_nodes.json', b'{"schema_version": 2, "nodes": 3}'),
    ('string.json', b'"x"'), ('cut.json.gz', None), ('garbage.db', b'not a database' * 20)])
def test_a_file_that_is_not_memory_is_a_value_error_naming_it(tmp_path, name, content):
    """LoadMemory used to let AttributeError, TypeError and zlib.error out of its handler."""
    import gzip

    from memory_nodes.memory.long_term import LongTermMemory

    path = tmp_path / name
    if content is None:
        path.write_bytes(gzip.compress(b'{"schema_version": 2, "nodes": []}' * 50)[:40])
    else:
        path.write_bytes(gzip.compress(content) if name.endswith('.gz') else content)
    with pytest.raises(ValueError, match=name):
        LongTermMemory.load(path)


@pytest.mark.ros
def test_load_memory_of_a_corrupt_file_answers_and_changes_nothing(memory_node, tmp_path):
    import gzip

    from embodied_memory_msgs.srv import LoadMemory

    before = memory_node.memory.digest()
    path = tmp_path / 'bad.json.gz'
    path.write_bytes(gzip.compress(b'[1, 2]'))
    reply = memory_node._on_load(LoadMemory.Request(path=str(path)), LoadMemory.Response())
    assert reply.error_code == reply.IO_ERROR and 'bad.json.gz' in reply.error_msg
    assert memory_node.memory.digest() == before


def test_recall_refuses_a_huge_instruction():
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.robot_memory import RobotMemory

    cfg = LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    with pytest.raises(ValueError, match='200000 characters'):
        RobotMemory(cfg).recall('a' * 200_000)
