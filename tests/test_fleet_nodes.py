"""Two memory node processes share one memory through a real PostgreSQL server, over DDS.

Robot a's node is fed observations on its own topic; robot b's node answers about them
(with a's id, label and position); b's 'not there' (MarkMissing) reaches a's answers.
A node pointed at a server that does not answer exits with code 2 and one line that names
the server, never its password.
"""

import math
import time

import pytest
from ros_processes import NodeProcess, RosClient
from test_node_resilience import _observations

pytestmark = pytest.mark.ros

SCENE = [('Apple', (1.0, 0.5, 0.95), 0.08), ('DiningTable', (1.2, 0.3, 0.45), 0.9)]


def _node(robot, dsn, ros_env):
    params = {'store': 'postgres', 'dsn': dsn, 'robot_id': robot,
              'text_embeddings': 'hashing', 'fleet_poll_s': 0.5}
    return NodeProcess('memory_nodes.ros.memory_node', params, ros_env,
                       ros_args=['-r', f'__ns:=/robot_{robot}'])


def _query(client, robot, label):
    from embodied_memory_msgs.srv import QueryObjects

    return client.call(QueryObjects, f'/robot_{robot}/query_objects',
                       QueryObjects.Request(label=label), timeout=10.0)


def _until(what, probe, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = probe()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f'{what} within {timeout} s')


def test_what_robot_a_sees_robot_b_answers_and_b_missing_reaches_a(pg_dsn, ros_env):
    from builtin_interfaces.msg import Time
    from embodied_memory_msgs.msg import ObjectObservationArray
    from embodied_memory_msgs.srv import MarkMissing
    from rclpy.qos import qos_profile_sensor_data

    a, b = _node('a', pg_dsn, ros_env), _node('b', pg_dsn, ros_env)
    client = RosClient('fleet_nodes_test')
    try:
        a.wait_for('memory ready')
        b.wait_for('memory ready')
        assert 'as robot a' in a.output() and 'as robot b' in b.output()
        pub = client.node.create_publisher(ObjectObservationArray, '/robot_a/observations',
                                           qos_profile_sensor_data)
        stamp = [1.0]

        def feed_a():
            pub.publish(_observations(stamp[0], SCENE))
            stamp[0] += 0.2
            reply = _query(client, 'a', 'apple')
            return reply.objects

        _until('robot a confirms the apple it is shown', feed_a, timeout=30.0)
        t0 = time.monotonic()
        (apple,) = _until('robot b knows the apple robot a saw',
                          lambda: _query(client, 'b', 'apple').objects)
        heard_s = time.monotonic() - t0
        assert apple.id.endswith('-a'), apple.id  # a's node, not a copy of b's own
        assert apple.label == 'apple'
        assert math.dist((apple.pose.position.x, apple.pose.position.y), (1.0, 0.5)) < 0.05
        assert heard_s < 5.0

        request = MarkMissing.Request(object_id=apple.id, reason='not_found',
                                      stamp=Time(sec=int(stamp[0]) + 30))
        reply = client.call(MarkMissing, '/robot_b/mark_missing', request)
        assert reply.error_code == reply.SUCCESS, reply.error_msg
        assert not _query(client, 'b', 'apple').objects

        def absent_at_a():
            reply = _query(client, 'a', 'apple')
            return reply.error_code == reply.NOT_FOUND and not reply.objects
        _until('robot a hears that the apple is not where it saw it', absent_at_a)
        table = _query(client, 'a', 'diningtable').objects  # the rest is untouched
        assert [t.id for t in table] and table[0].id.endswith('-a')
        assert a.alive() and b.alive()
    finally:
        client.close()
        a.stop()
        b.stop()


def test_a_server_that_does_not_answer_exits_2_naming_it_without_the_password(ros_env):
    dsn = ('host=127.0.0.1 port=1 dbname=fleet user=robot password=s3cret-pw '
           'connect_timeout=2')
    node = _node('a', dsn, ros_env)
    try:
        code = node.proc.wait(timeout=60)
    finally:
        node.stop()
    out = node.output()
    assert code == 2, out
    lines = [line for line in out.splitlines() if 'shared memory' in line]
    assert len(lines) == 1, out
    assert 'host=127.0.0.1' in lines[0] and 'port=1' in lines[0], lines[0]
    assert 's3cret-pw' not in out
    assert 'Traceback' not in out
