"""The memory node in a private context with an executor on a thread (real rclpy, real DDS)."""

import json
import math
import threading
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros


@pytest.fixture
def node_env(tmp_path):
    import rclpy
    from rclpy.executors import MultiThreadedExecutor

    from memory_nodes.ros.memory_node import MemoryNode

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    memory = MemoryNode(context=ctx, parameter_overrides=[
        rclpy.parameter.Parameter('database_path', value=str(tmp_path / 'memory.db')),
        rclpy.parameter.Parameter('text_embeddings', value='hashing'),
        rclpy.parameter.Parameter('publish_period', value=0.1),
    ])
    client = rclpy.create_node('memory_test_client', context=ctx)
    executor = MultiThreadedExecutor(num_threads=2, context=ctx)
    executor.add_node(memory)
    executor.add_node(client)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    yield memory, client, tmp_path
    executor.shutdown()
    memory.destroy_node()
    client.destroy_node()
    rclpy.shutdown(context=ctx)
    spinner.join(timeout=5)


def _call(client, srv_type, name, request, timeout=10.0):
    cli = client.create_client(srv_type, name)
    assert cli.wait_for_service(timeout_sec=timeout), f'{name} not offered'
    future = cli.call_async(request)
    deadline = time.monotonic() + timeout
    while not future.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert future.done(), f'{name} did not answer'
    return future.result()


def _frame(objects, stamp=1.0, frame='map'):
    from embodied_memory_msgs.msg import ObjectObservationArray

    from memory_nodes.memory.observation import ObjectObservation
    from memory_nodes.ros import conversions as conv

    rng = np.random.default_rng(1)
    msg = ObjectObservationArray()
    msg.header.frame_id = frame
    msg.header.stamp = conv.seconds_to_stamp(stamp)
    for label, centre, size in objects:
        pts = np.asarray(centre) + rng.uniform(-size / 2, size / 2, (150, 3))
        msg.observations.append(conv.observation_to_msg(
            ObjectObservation(label=label, score=0.9, points=pts, stamp=stamp)))
    return msg


SCENE = [('Apple', (1.0, 0.5, 0.95), 0.08), ('Mug', (1.4, 0.1, 0.95), 0.1),
         ('DiningTable', (1.2, 0.3, 0.45), 0.9)]


def _feed(memory, client, frames=3, scene=SCENE):
    from embodied_memory_msgs.msg import ObjectObservationArray
    from rclpy.qos import qos_profile_sensor_data

    pub = client.create_publisher(ObjectObservationArray, 'observations',
                                  qos_profile_sensor_data)
    deadline = time.monotonic() + 10
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    for i in range(frames):
        pub.publish(_frame(scene, stamp=1.0 + i))
        time.sleep(0.05)
        memory.worker.wait_idle(5.0)
    return pub


def test_query_by_label_point_and_relation(node_env):
    from embodied_memory_msgs.srv import QueryObjects

    memory, client, _ = node_env
    _feed(memory, client)
    reply = _call(client, QueryObjects, 'query_objects', QueryObjects.Request(label='apple'))
    assert reply.error_code == reply.SUCCESS, reply.error_msg
    apple = reply.objects[0]
    assert apple.label == 'apple'
    assert math.dist((apple.pose.position.x, apple.pose.position.y), (1.0, 0.5)) < 0.05
    assert apple.observation_count >= 2

    near = QueryObjects.Request(use_point=True, radius=0.2, top_k=5)
    near.near_point.x, near.near_point.y, near.near_point.z = 1.4, 0.1, 0.95
    reply = _call(client, QueryObjects, 'query_objects', near)
    assert [o.label for o in reply.objects] == ['mug']

    on_table = _call(client, QueryObjects, 'query_objects',
                     QueryObjects.Request(relation='on', relation_target='diningtable'))
    assert {o.label for o in on_table.objects} >= {'apple', 'mug'}

    bad = _call(client, QueryObjects, 'query_objects', QueryObjects.Request(relation='under',
                                                                            relation_target='x'))
    assert bad.error_code == bad.INVALID_REQUEST and 'relation' in bad.error_msg
    none = _call(client, QueryObjects, 'query_objects', QueryObjects.Request(label='toaster'))
    assert none.error_code == none.NOT_FOUND and not none.objects


def test_malformed_messages_are_dropped_and_counted(node_env):
    from embodied_memory_msgs.msg import ObjectObservationArray, ObjectStateEvent
    from embodied_memory_msgs.srv import QueryObjects
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from std_srvs.srv import Trigger

    memory, client, _ = node_env
    _feed(memory, client)
    pub = client.create_publisher(ObjectObservationArray, 'observations',
                                  qos_profile_sensor_data)
    events = client.create_publisher(ObjectStateEvent, 'object_state_events',
                                     QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    time.sleep(0.3)
    nan = _frame([('Apple', (math.nan, 0.0, 0.0), 0.1)], stamp=5.0)
    pub.publish(nan)
    pub.publish(_frame([('Apple', (1.0, 0.5, 0.95), 0.08)], stamp=5.0, frame='odom'))
    empty = _frame([('Bowl', (2.0, 2.0, 1.0), 0.1)], stamp=5.0)
    empty.observations[0].points = []
    empty.observations[0].centroid.x = math.inf
    pub.publish(empty)
    events.publish(ObjectStateEvent(label='', object_id='x'))
    time.sleep(0.5)
    memory.worker.wait_idle(5.0)
    stats = json.loads(_call(client, Trigger, 'memory_stats', Trigger.Request()).message)
    assert stats['rejected_messages'].get('wrong_frame', 0) >= 1
    assert stats['rejected_messages'].get('malformed_state_event', 0) >= 1
    assert sum(stats['ltm']['input']['rejected'].values()) >= 1
    # The memory still answers and still holds the apple where it was.
    reply = _call(client, QueryObjects, 'query_objects', QueryObjects.Request(label='apple'))
    assert len(reply.objects) == 1
    assert abs(reply.objects[0].pose.position.x - 1.0) < 0.05


def test_save_load_reset_and_scene_graph(node_env):
    from embodied_memory_msgs.srv import GetSceneGraph, LoadMemory, QueryObjects, SaveMemory
    from std_srvs.srv import Trigger

    memory, client, tmp = node_env
    _feed(memory, client)
    saved = _call(client, SaveMemory, 'save_memory',
                  SaveMemory.Request(path=str(tmp / 'snap.json.gz')))
    assert saved.error_code == saved.SUCCESS and saved.node_count >= 3
    full = _call(client, GetSceneGraph, 'get_scene_graph', GetSceneGraph.Request(mode=1))
    labels = {n['label'] for n in json.loads(full.json)['nodes']}
    assert {'apple', 'mug', 'dining table'} <= labels  # CamelCase labels are split
    collapsed = _call(client, GetSceneGraph, 'get_scene_graph',
                      GetSceneGraph.Request(mode=0, token_budget=60))
    assert collapsed.token_count <= 60
    assert _call(client, Trigger, 'reset_memory', Trigger.Request()).success
    gone = _call(client, QueryObjects, 'query_objects', QueryObjects.Request(label='apple'))
    assert not gone.objects
    missing = _call(client, LoadMemory, 'load_memory', LoadMemory.Request(path=str(tmp / 'no')))
    assert missing.error_code == missing.NOT_FOUND
    (tmp / 'junk.json').write_text('{not json')
    junk = _call(client, LoadMemory, 'load_memory',
                 LoadMemory.Request(path=str(tmp / 'junk.json')))
    assert junk.error_code != junk.SUCCESS and 'unchanged' in junk.error_msg
    loaded = _call(client, LoadMemory, 'load_memory',
                   LoadMemory.Request(path=str(tmp / 'snap.json.gz')))
    assert loaded.error_code == loaded.SUCCESS, loaded.error_msg
    back = _call(client, QueryObjects, 'query_objects', QueryObjects.Request(label='apple'))
    assert len(back.objects) == 1


def test_deltas_are_latched_and_sequenced(node_env):
    from embodied_memory_msgs.msg import SceneGraphDelta
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    memory, client, _ = node_env
    _feed(memory, client)
    time.sleep(0.4)
    got = []
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
    client.create_subscription(SceneGraphDelta, 'scene_graph/deltas', got.append, qos)
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
    assert got, 'a late subscriber received no latched delta'
    assert got[0].full_update
    assert {n.label for n in got[0].added_nodes} >= {'apple', 'mug'}
    _feed(memory, client, frames=1, scene=[('Bowl', (2.0, 1.0, 0.9), 0.12)])
    deadline = time.monotonic() + 10
    while len(got) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    seqs = [d.sequence for d in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
