"""QueryObjects/GetSceneGraph as of a stamp and WhatChanged over real DDS (memory node)."""

import json
import math
import threading
import time

import pytest
from test_memory_node import _call, _feed

pytestmark = pytest.mark.ros


@pytest.fixture
def timeline_node(tmp_path):
    import rclpy
    from rclpy.executors import MultiThreadedExecutor

    from memory_nodes.ros.memory_node import MemoryNode

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    P = rclpy.parameter.Parameter
    memory = MemoryNode(context=ctx, parameter_overrides=[
        P('database_path', value=str(tmp_path / 'memory.db')),
        P('text_embeddings', value='hashing'),
        P('publish_period', value=0.1),
        P('ltm.timeline.max_age_s', value=8.0),
        P('ltm.timeline.retention_every', value=1),
    ])
    client = rclpy.create_node('timeline_test_client', context=ctx)
    executor = MultiThreadedExecutor(num_threads=2, context=ctx)
    executor.add_node(memory)
    executor.add_node(client)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    yield memory, client
    executor.shutdown()
    memory.destroy_node()
    client.destroy_node()
    rclpy.shutdown(context=ctx)
    spinner.join(timeout=5)


def _move_mug(memory, client, stamp, position):
    from embodied_memory_msgs.msg import ObjectStateEvent
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from memory_nodes.ros import conversions as conv

    pub = client.create_publisher(ObjectStateEvent, 'object_state_events', QoSProfile(
        depth=10, reliability=ReliabilityPolicy.RELIABLE))
    deadline = time.monotonic() + 10
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    msg = ObjectStateEvent(label='Mug')
    msg.header.stamp = conv.seconds_to_stamp(stamp)
    msg.header.frame_id = 'map'
    msg.position.x, msg.position.y, msg.position.z = position
    pub.publish(msg)
    while memory.memory.ltm.timeline.latest < stamp and time.monotonic() < deadline:
        time.sleep(0.02)
    assert memory.memory.ltm.timeline.latest >= stamp, 'state event not consolidated'


def test_as_of_queries_and_what_changed_over_dds(timeline_node):
    from embodied_memory_msgs.srv import GetSceneGraph, QueryObjects, WhatChanged

    from memory_nodes.ros import conversions as conv

    memory, client = timeline_node
    _feed(memory, client)  # apple, mug, table seen at stamps 1, 2, 3
    _move_mug(memory, client, 10.0, (3.0, 2.0, 0.95))

    def mug_x(as_of):
        req = QueryObjects.Request(label='mug', as_of=conv.seconds_to_stamp(as_of))
        reply = _call(client, QueryObjects, 'query_objects', req)
        assert reply.error_code == reply.SUCCESS, reply.error_msg
        return reply.objects[0].pose.position.x

    assert math.isclose(mug_x(2.5), 1.4, abs_tol=0.05)
    assert math.isclose(mug_x(0.0), 3.0, abs_tol=0.01)  # zero: now
    on_table = QueryObjects.Request(relation='on', relation_target='diningtable',
                                    as_of=conv.seconds_to_stamp(2.5))
    reply = _call(client, QueryObjects, 'query_objects', on_table)
    assert {o.label for o in reply.objects} == {'apple', 'mug'}

    full = GetSceneGraph.Request(mode=GetSceneGraph.Request.MODE_FULL,
                                 as_of=conv.seconds_to_stamp(2.5))
    reply = _call(client, GetSceneGraph, 'get_scene_graph', full)
    assert reply.error_code == reply.SUCCESS, reply.error_msg
    nodes = {n['label']: n for n in json.loads(reply.json)['nodes']}
    assert math.isclose(nodes['mug']['position'][0], 1.4, abs_tol=0.05)

    changed = _call(client, WhatChanged, 'what_changed',
                    WhatChanged.Request(since=conv.seconds_to_stamp(2.5)))
    assert changed.error_code == changed.SUCCESS, changed.error_msg
    assert [(c.label, c.kind) for c in changed.changes] == [('mug', 'moved')]
    mug = changed.changes[0]
    assert mug.has_before and mug.has_after and mug.support_before.startswith('on dining table')
    assert math.isclose(mug.position_after.x, 3.0, abs_tol=0.01)
    assert conv.stamp_to_seconds(mug.stamp) == 10.0

    def bad(request, words):
        reply = _call(client, WhatChanged, 'what_changed', request)
        assert reply.error_code == reply.INVALID_REQUEST and words in reply.error_msg, \
            reply.error_msg

    stamp = conv.seconds_to_stamp
    bad(WhatChanged.Request(since=stamp(9.0), until=stamp(5.0)), 'before since')
    bad(WhatChanged.Request(since=stamp(2.5), room='garage'), "unknown room 'garage'")
    # Retention keeps 8 s before the newest stamp (10): 1.0 is gone.
    bad(WhatChanged.Request(since=stamp(1.0)), 'retention horizon')
    old = _call(client, QueryObjects, 'query_objects',
                QueryObjects.Request(label='mug', as_of=stamp(1.0)))
    assert old.error_code == old.INVALID_REQUEST and 'retention horizon' in old.error_msg
