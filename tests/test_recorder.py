"""The sim bridge's TF tree and the recorder, over real DDS, into real MCAP files.

The bridge runs as its own process; the TF test listens like a tf2 listener would and
chains the transforms at each image stamp; the recording tests run `embodied-memory
record` as a process and read what it wrote with the `mcap` library alone (schemas from
the file, CRCs checked).
"""

import json
import math
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import ROOT
from ros_processes import NodeProcess, RosClient

pytestmark = [pytest.mark.ros, pytest.mark.slow]

CAMERA_TOPICS = ('/rgb/image_raw', '/depth/image_raw', '/camera_info')


@pytest.fixture(scope='module')
def bridge(tmp_path_factory):
    import os

    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT), env.get('PYTHONPATH', '')])
    env['PYTHONUNBUFFERED'] = '1'
    proc = NodeProcess('memory_nodes.ros.sim_bridge_node',
                       {'reliable_sensors': True, 'camera_rate_hz': 5.0}, env)
    proc.wait_for('sim bridge ready', timeout=90)
    yield proc
    proc.stop(signal.SIGINT)


def _matrix(t):
    from memory_nodes.perception.transforms import make_transform

    tr, q = t.translation, t.rotation
    return make_transform((tr.x, tr.y, tr.z), (q.x, q.y, q.z, q.w))


def _look_somewhere_else(client):
    """Turn the base and tilt the head (look_at a point) so the tree is not the default."""
    from embodied_memory_msgs.srv import ExecuteSkill, SimControl

    status = client.call(SimControl, 'sim_control',
                         SimControl.Request(command='status', payload_json='{}'), timeout=30)
    x, y, yaw = json.loads(status.result_json)['robot']
    request = ExecuteSkill.Request(skill='look_at', target_position_known=True)
    request.target_position.x = x + 1.2 * math.cos(yaw + 0.8)
    request.target_position.y = y + 1.2 * math.sin(yaw + 0.8)
    request.target_position.z = 0.3
    reply = client.call(ExecuteSkill, 'execute_skill', request, timeout=60)
    assert reply.error_code == reply.SUCCESS, reply.error_msg


def test_tf_chain_at_each_image_stamp_is_the_published_camera_pose(bridge):
    from geometry_msgs.msg import PoseStamped
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from tf2_msgs.msg import TFMessage

    from memory_nodes.ros.conversions import pose_to_matrix, stamp_to_seconds
    from memory_nodes.ros.tf_messages import TF_QOS, TF_STATIC_QOS

    client = RosClient('tf_listener')
    dynamic, static, poses = {}, {}, []
    lock = threading.Lock()

    def on_tf(msg, into):
        with lock:
            for t in msg.transforms:
                key = (t.header.frame_id, t.child_frame_id)
                into.setdefault(key, {})[stamp_to_seconds(t.header.stamp)] = _matrix(t.transform)

    node = client.node
    node.create_subscription(TFMessage, '/tf', lambda m: on_tf(m, dynamic), TF_QOS)
    node.create_subscription(TFMessage, '/tf_static', lambda m: on_tf(m, static), TF_STATIC_QOS)
    node.create_subscription(PoseStamped, 'camera/pose', lambda m: poses.append(m),
                             QoSProfile(depth=30, reliability=ReliabilityPolicy.RELIABLE))
    try:
        deadline = time.monotonic() + 20
        while len(poses) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        _look_somewhere_else(client)
        n_before = len(poses)
        deadline = time.monotonic() + 20
        while len(poses) < n_before + 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        client.close()

    # The static tree arrived (transient local) though we subscribed after it was sent.
    optical = static[('head_camera_link', 'head_camera_optical_frame')]
    link_t_optical = next(iter(optical.values()))
    # REP 103: the optical z is the link's x (forward), x its -y (right), y its -z (down).
    assert np.allclose(link_t_optical[:3, :3], [[0, 0, 1], [-1, 0, 0], [0, -1, 0]])
    assert set(dynamic) == {('map', 'odom'), ('odom', 'base_link'),
                            ('base_link', 'head_camera_link')}
    assert len(poses) >= 6
    checked, tilts = 0, set()
    for pose in poses:
        stamp = stamp_to_seconds(pose.header.stamp)
        assert pose.header.frame_id == 'map'
        chain = [dynamic[key].get(stamp) for key in
                 (('map', 'odom'), ('odom', 'base_link'), ('base_link', 'head_camera_link'))]
        if any(m is None for m in chain):
            continue  # that frame's /tf message was not received (none should be lost)
        assert np.allclose(chain[0], np.eye(4))
        map_t_optical = chain[0] @ chain[1] @ chain[2] @ link_t_optical
        assert np.abs(map_t_optical - pose_to_matrix(pose.pose)).max() < 1e-6, stamp
        tilts.add(round(float(np.arcsin(-chain[2][2, 0])), 3))
        checked += 1
    assert checked >= len(poses) - 1
    assert len(tilts) >= 2, 'the head tilt changed after look_at: both must be checked'


def _record(ros_env, out, *args, timeout=60):
    return subprocess.Popen([sys.executable, '-m', 'memory_nodes.commands.main', 'record',
                             str(out), *args], cwd=ROOT, env=ros_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope='module')
def recording(bridge, tmp_path_factory):
    import os

    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT), env.get('PYTHONPATH', '')])
    out = tmp_path_factory.mktemp('rec') / 'sim.mcap'
    proc = _record(env, out, '--duration', '4')
    output, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, output
    return out, output


def test_recording_is_a_rosbag2_style_mcap(recording):
    from mcap.reader import make_reader

    path, output = recording
    assert '[record]' in output and '/tf ' in output  # progress lines, per topic
    with open(path, 'rb') as f:
        reader = make_reader(f, validate_crcs=True)
        assert reader.get_header().profile == 'ros2'
        summary = reader.get_summary()
        counts = summary.statistics.channel_message_counts
        by_topic = {ch.topic: (cid, ch) for cid, ch in summary.channels.items()}
        for topic, (_cid, ch) in by_topic.items():
            schema = summary.schemas[ch.schema_id]
            assert ch.message_encoding == 'cdr', topic
            assert schema.encoding == 'ros2msg', topic
            assert schema.data, topic
            assert 'offered_qos_profiles' in ch.metadata, topic
        for topic in (*CAMERA_TOPICS, '/tf', '/segmentation/image_raw'):
            assert counts.get(by_topic[topic][0], 0) > 0, topic
        cid, tf_static = by_topic['/tf_static']
        assert counts[cid] == 1  # sent once before the recorder started: transient local
        assert 'durability: transient_local' in tf_static.metadata['offered_qos_profiles']
        assert summary.schemas[tf_static.schema_id].name == 'tf2_msgs/msg/TFMessage'
        tf_schema = summary.schemas[tf_static.schema_id].data.decode()
        assert tf_schema.startswith('geometry_msgs/TransformStamped[] transforms')
        assert '\n' + '=' * 80 + '\nMSG: geometry_msgs/TransformStamped\n' in tf_schema
        assert tf_schema.count('MSG: std_msgs/Header') == 1
        assert 'durability: volatile' in by_topic['/tf'][1].metadata['offered_qos_profiles']


def test_recorded_messages_decode_from_the_embedded_schemas_alone(recording):
    """mcap_ros2 builds its decoders from the file's schema text: the text is complete."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    path, _ = recording
    seen = {}
    with open(path, 'rb') as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()], validate_crcs=True)
        for _schema, channel, message, decoded in reader.iter_decoded_messages():
            seen[channel.topic] = seen.get(channel.topic, 0) + 1
            if channel.topic == '/rgb/image_raw':
                assert (decoded.width, decoded.height, decoded.encoding) == (320, 240, 'rgb8')
                assert len(decoded.data) == 320 * 240 * 3
                stamp = decoded.header.stamp.sec * 10**9 + decoded.header.stamp.nanosec
                assert message.publish_time == stamp  # header stamp, not receive time
            if channel.topic == '/tf_static':
                (t,) = decoded.transforms
                assert (t.header.frame_id, t.child_frame_id) == \
                    ('head_camera_link', 'head_camera_optical_frame')
                assert (t.transform.rotation.x, t.transform.rotation.w) == (-0.5, 0.5)
            if channel.topic == '/tf':
                assert [t.child_frame_id for t in decoded.transforms] == \
                    ['odom', 'base_link', 'head_camera_link']
            if channel.topic == '/camera_info':
                assert len(decoded.k) == 9 and decoded.k[0] > 0
    assert all(seen.get(t, 0) > 0 for t in (*CAMERA_TOPICS, '/tf', '/tf_static'))


def test_truncated_or_corrupted_file_gives_a_clear_error(recording, tmp_path):
    from memory_nodes.bags.bag_info import BagError, read_bag_info

    path, _ = recording
    info = read_bag_info(path, validate=True)
    assert info.profile == 'ros2' and info.message_count > 0
    truncated = tmp_path / 'cut.mcap'
    data = path.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(BagError, match=r'cut\.mcap: truncated MCAP file .*not finished'):
        read_bag_info(truncated)
    not_mcap = tmp_path / 'notes.mcap'
    not_mcap.write_text('hello')
    with pytest.raises(BagError, match='notes.mcap: not an MCAP file'):
        read_bag_info(not_mcap)
    # One flipped byte inside the first chunk's records: its CRC no longer matches.
    corrupt = tmp_path / 'flipped.mcap'
    shutil.copy(path, corrupt)
    raw = bytearray(corrupt.read_bytes())
    raw[len(raw) // 4] ^= 0xFF
    corrupt.write_bytes(bytes(raw))
    with pytest.raises(BagError, match='flipped.mcap'):
        read_bag_info(corrupt, validate=True)


def test_sigterm_finishes_the_file(bridge, ros_env, tmp_path):
    from memory_nodes.bags.bag_info import read_bag_info

    out = tmp_path / 'stopped.mcap'
    proc = _record(ros_env, out, '--topics', '/tf', '/tf_static', 'camera_info')
    lines = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and not any('/tf ' in ln and 'msgs' in ln and
                                                  ' 0 msgs' not in ln for ln in lines):
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, ''.join(lines)
    info = read_bag_info(out, validate=True)
    assert set(info.topics) == {'/tf', '/tf_static', '/camera_info'}
    assert info.topics['/tf'].count > 0 and info.topics['/tf_static'].count == 1


def test_sim_stack_with_record_true_records_the_memory_outputs(ros_env, tmp_path):
    """`launch sim_stack record:=true`: the recorder starts with the stack, Ctrl-C finishes it."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    out = tmp_path / 'stack.mcap'
    proc = subprocess.Popen(
        [sys.executable, '-m', 'memory_nodes.commands.main', 'launch', 'sim_stack',
         'record:=true', f'record_path:={out}', '--param', 'memory.text_embeddings=hashing'],
        cwd=ROOT, env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(
            'recording /scene_graph/deltas' in ln for ln in lines):
        assert proc.poll() is None, ''.join(lines)
        time.sleep(0.2)
    time.sleep(4.0)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0, ''.join(lines)
    assert any(f'{out}: ' in ln and 'messages' in ln for ln in lines), ''.join(lines)
    deltas = 0
    with open(out, 'rb') as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()], validate_crcs=True)
        summary = reader.get_summary()
        topics = {ch.topic for ch in summary.channels.values()}
        assert {'/scene_graph/deltas', '/scene_graph/markers', '/tf', '/tf_static',
                '/rgb/image_raw'} <= topics
        for _s, _channel, _m, decoded in reader.iter_decoded_messages(
                topics=['/scene_graph/deltas']):
            deltas += 1
            assert decoded.header.frame_id == 'map'
            assert decoded.sequence >= 0
    assert deltas > 0
