"""Real ROS 2: two processes talk through our own topic and service types over Fast DDS."""

import subprocess
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ros]
PEER = Path(__file__).parent / 'peers' / 'observation_store.py'


@pytest.fixture
def peer(ros_env, python):
    proc = subprocess.Popen([python, str(PEER)], env=ros_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail('peer did not stop on SIGTERM')


def test_topic_and_service_between_two_processes(peer):
    import rclpy
    from embodied_memory_msgs.msg import ObjectObservation, ObjectObservationArray, ObjectState
    from embodied_memory_msgs.srv import QueryObjects
    from geometry_msgs.msg import Point32
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, QoSReliabilityPolicy

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node('transport_test', context=ctx)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(node)
    try:
        pub = node.create_publisher(
            ObjectObservationArray, 'observations',
            QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE))
        client = node.create_client(QueryObjects, 'query_objects')
        assert client.wait_for_service(timeout_sec=20.0), 'peer service never appeared'
        deadline = time.monotonic() + 20.0
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pub.get_subscription_count() == 1

        obs = ObjectObservation(label='Apple', score=0.9, track_id=7)
        obs.header.frame_id = 'map'
        obs.centroid.x, obs.centroid.y, obs.centroid.z = 1.0, 2.0, 0.9
        obs.points = [Point32(x=1.0, y=2.0, z=0.9), Point32(x=1.05, y=2.0, z=0.95)]
        obs.states = [ObjectState(name='sliced', value=True)]
        msg = ObjectObservationArray(observations=[obs])
        msg.header.frame_id = 'map'

        reply = None
        while time.monotonic() < deadline:
            pub.publish(msg)
            future = client.call_async(QueryObjects.Request(label='apple'))
            executor.spin_until_future_complete(future, timeout_sec=5.0)
            reply = future.result()
            if reply is not None and reply.objects:
                break
            time.sleep(0.1)
        assert reply is not None and reply.error_code == QueryObjects.Response.SUCCESS
        obj = reply.objects[0]
        assert obj.id == 'Apple-7'
        assert (obj.pose.position.x, obj.pose.position.y) == (1.0, 2.0)
        assert obj.states[0].name == 'sliced' and obj.states[0].value

        missing = client.call_async(QueryObjects.Request(label='toaster'))
        executor.spin_until_future_complete(missing, timeout_sec=5.0)
        assert missing.result().error_code == QueryObjects.Response.NOT_FOUND
        assert 'toaster' in missing.result().error_msg
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=ctx)
