"""Nodes in their own processes survive bad input; the memory node survives being killed."""

import math
import signal
import time

import numpy as np
import pytest
from ros_processes import NodeProcess, RosClient

pytestmark = [pytest.mark.ros]


def _observations(stamp, objects):
    from embodied_memory_msgs.msg import ObjectObservationArray

    from memory_nodes.memory.observation import ObjectObservation
    from memory_nodes.ros import conversions as conv

    rng = np.random.default_rng(int(stamp * 10))
    msg = ObjectObservationArray()
    msg.header.frame_id = 'map'
    msg.header.stamp = conv.seconds_to_stamp(stamp)
    for label, centre, size in objects:
        pts = np.asarray(centre) + rng.uniform(-size / 2, size / 2, (120, 3))
        msg.observations.append(conv.observation_to_msg(
            ObjectObservation(label=label, score=0.9, points=pts, stamp=stamp)))
    return msg


def test_memory_node_killed_mid_stream_keeps_what_it_confirmed(tmp_path, ros_env):
    from embodied_memory_msgs.msg import ObjectObservationArray
    from embodied_memory_msgs.srv import QueryObjects
    from rclpy.qos import qos_profile_sensor_data

    params = {'database_path': str(tmp_path / 'memory.db'), 'text_embeddings': 'hashing'}
    memory = NodeProcess('memory_nodes.ros.memory_node', params, ros_env)
    client = RosClient('memory_kill_test')
    try:
        memory.wait_for('memory ready')
        pub = client.node.create_publisher(ObjectObservationArray, 'observations',
                                           qos_profile_sensor_data)
        scene = [('Apple', (1.0, 0.5, 0.95), 0.08), ('Mug', (1.4, 0.1, 0.95), 0.1),
                 ('Book', (3.0, 2.0, 0.5), 0.2)]
        confirmed = set()
        deadline = time.monotonic() + 30
        stamp = 1.0
        while len(confirmed) < 3 and time.monotonic() < deadline:
            pub.publish(_observations(stamp, scene))
            stamp += 0.2
            time.sleep(0.1)
            for label in ('apple', 'mug', 'book'):
                reply = client.call(QueryObjects, 'query_objects',
                                    QueryObjects.Request(label=label))
                confirmed |= {o.id for o in reply.objects}
        assert len(confirmed) == 3
        # Keep streaming a new object while the node is killed (kill -9, no clean-up).
        for _ in range(5):
            pub.publish(_observations(stamp, scene + [('Bowl', (2.0, 2.0, 0.9), 0.12)]))
            stamp += 0.2
        memory.stop(signal.SIGKILL)
        memory = NodeProcess('memory_nodes.ros.memory_node', params, ros_env)
        memory.wait_for('memory ready')
        assert 'nodes loaded' in memory.output()
        after = set()
        for label in ('apple', 'mug', 'book'):
            # The killed node's endpoints linger in DDS discovery until their lease runs
            # out, so a request may go unanswered at first: retry, as any client would.
            for _attempt in range(12):
                try:
                    reply = client.call(QueryObjects, 'query_objects',
                                        QueryObjects.Request(label=label), timeout=5.0)
                    break
                except TimeoutError:
                    continue
            after |= {o.id for o in reply.objects}
        assert confirmed <= after, f'lost {confirmed - after} after kill -9'
    finally:
        client.close()
        memory.stop()


def _image(array, encoding, stamp, frame='head_camera_optical_frame'):
    from std_msgs.msg import Header

    from memory_nodes.ros import conversions as conv

    return conv.image_to_msg(array, encoding, Header(stamp=conv.seconds_to_stamp(stamp),
                                                     frame_id=frame))


def test_perception_node_drops_malformed_frames_and_keeps_working(ros_env):
    import json

    from embodied_memory_msgs.msg import ObjectObservationArray
    from geometry_msgs.msg import PoseStamped
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import Header, String

    from memory_nodes.ros import conversions as conv
    from memory_nodes.ros.qos import sensor_qos

    # Reliable camera topics: what is tested is how malformed frames are refused, and a
    # best-effort frame lost on loopback (1 run in 6) would leave too few to count.
    node = NodeProcess('memory_nodes.ros.perception_node',
                       {'use_tf': False, 'reliable_sensors': True}, ros_env)
    client = RosClient('perception_input')
    try:
        node.wait_for('perception ready')
        q = sensor_qos(True)
        pubs = {name: client.node.create_publisher(t, topic, q) for name, t, topic in [
            ('rgb', Image, 'rgb/image_raw'), ('depth', Image, 'depth/image_raw'),
            ('seg', Image, 'segmentation/image_raw'), ('info', CameraInfo, 'camera_info'),
            ('pose', PoseStamped, 'camera/pose'), ('inst', String, 'segmentation/instances')]}
        got = []
        client.node.create_subscription(ObjectObservationArray, 'observations', got.append, q)
        time.sleep(1.5)
        k = np.array([[200.0, 0, 79.5], [0, 200.0, 59.5], [0, 0, 1]])
        pose = np.eye(4)
        pose[:3, :3] = [[0, 0, 1], [-1, 0, 0], [0, -1, 0]]  # looking along map +x

        def frame(stamp, rgb=None, depth=None, seg=None, rgb_encoding='rgb8', k_=k):
            h, w = 120, 160
            rgb = np.full((h, w, 3), 128, np.uint8) if rgb is None else rgb
            if depth is None:
                depth = np.full((h, w), np.nan, np.float32)
                depth[40:80, 60:100] = 2.0
            if seg is None:
                seg = np.full((h, w), -1, np.int32)
                seg[40:80, 60:100] = 7
            cam = Header(stamp=conv.seconds_to_stamp(stamp), frame_id='cam')
            pubs['rgb'].publish(_image(rgb, 'rgb8', stamp) if rgb_encoding == 'rgb8' else
                                Image(header=cam, height=h, width=w, encoding=rgb_encoding,
                                      step=w * 3, data=rgb.tobytes()))
            pubs['depth'].publish(_image(depth, '32FC1', stamp))
            pubs['seg'].publish(_image(seg, '32SC1', stamp))
            pubs['info'].publish(conv.camera_info_to_msg(k_, rgb.shape[1], rgb.shape[0], cam))
            p = PoseStamped(pose=conv.matrix_to_pose(pose))
            p.header = Header(stamp=conv.seconds_to_stamp(stamp), frame_id='map')
            pubs['pose'].publish(p)
            pubs['inst'].publish(String(data=json.dumps(
                {'stamp': stamp, 'instances': {'7': {'label': 'Mug', 'states': {}}}})))
            time.sleep(0.3)

        frame(1.0, rgb_encoding='yuv422')                               # wrong encoding
        frame(2.0, depth=np.full((60, 80), 2.0, np.float32))            # size mismatch
        frame(3.0, depth=np.full((120, 160), np.nan, np.float32))       # all NaN depth
        frame(4.0, rgb=np.zeros((0, 160, 3), np.uint8))                 # empty image
        frame(5.0, k_=np.zeros((3, 3)))                                 # broken intrinsics
        frame(6.0)                                                      # a good frame
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(m.observations for m in got):
            time.sleep(0.1)
        assert node.alive(), node.output()
        good = [m for m in got if m.observations]
        assert good, f'no observation from the good frame; output:\n{node.output()}'
        mug = good[-1].observations[0]
        assert mug.label == 'Mug' and good[-1].header.frame_id == 'map'
        assert conv.stamp_to_seconds(good[-1].header.stamp) == pytest.approx(6.0)
        assert math.isclose(mug.centroid.x, 2.0, abs_tol=0.05)  # 2 m in front, along +x
        stats = client.stats('perception_stats')
        assert stats['rejected'].get('malformed_frame', 0) >= 3, stats
        assert 'dropped frame (malformed_frame)' in node.output()
    finally:
        client.close()
        node.stop()
