"""A bag written by a third-party writer (rosbags) replays into the scene's ground truth.

The bag has a robot's TF tree (map -> odom -> base_footprint -> camera_link ->
camera_color_optical_frame; dynamic TF at another rate than the camera), JPEG colour,
16UC1 millimetre depth, camera info and the simulator's segmentation on non-default
topics, rendered from a PyBullet home. Damaged copies (rewritten with rosbags too) give
named drops and problems while replay goes on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from memory_nodes.bags.reader import BagError, BagReader
from memory_nodes.bags.replay import (
    ReplayOptions,
    confirmed_objects,
    match_confirmed,
    replay_bag,
)
from memory_nodes.evaluation.robot_bag import TOPICS, remap_args, write_robot_bag

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def robot_bag(tmp_path_factory):
    return write_robot_bag(tmp_path_factory.mktemp('bags') / 'robot', frames_per_view=6)


def options(out=None):
    opts = ReplayOptions(out=out)
    opts.remap(remap_args())
    return opts


def rewrite(src: Path, dst: Path, change) -> None:
    """Copy a bag with rosbags, `change(topic, stamp_ns, msg) -> msg | None` per message."""
    from rosbags.rosbag2 import Reader, StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_KILTED)
    with Reader(src) as reader, Writer(dst, version=9,
                                       storage_plugin=StoragePlugin.MCAP) as writer:
        conns = {c.id: writer.add_connection(c.topic, c.msgtype, typestore=ts)
                 for c in reader.connections}
        for conn, stamp, raw in reader.messages():
            msg = change(conn.topic, stamp, ts.deserialize_cdr(raw, conn.msgtype))
            if msg is not None:
                writer.write(conns[conn.id], stamp, ts.serialize_cdr(msg, conn.msgtype))


def test_third_party_bag_replays_with_one_command_into_the_ground_truth(robot_bag, tmp_path):
    out = tmp_path / 'out'
    argv = [sys.executable, '-m', 'memory_nodes.commands.main', 'replay', str(robot_bag.path),
            '--out', str(out)]
    for item in remap_args():
        argv += ['--map', item]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**__import__('os').environ, 'PYTHONPATH': str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert f'{robot_bag.frames}/{robot_bag.frames} frames used' in done.stdout
    assert '[replay]' in done.stderr and 'real time' in done.stderr  # the progress line
    for name in ('memory.db', 'memory.json', 'scene_graph.png', 'summary.json'):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['frames_used'] == robot_bag.frames and summary['frames_dropped'] == {}
    assert {'map', 'odom', 'base_footprint', 'camera_link',
            'camera_color_optical_frame'} <= set(summary['tf']['frames'])
    assert summary['bag_duration_s'] > 0 and summary['speedup'] > 0
    # The saved memory: every object seen well is there with its label, within 0.15 m,
    # and every confirmed object is a real one.
    graph = json.loads((out / 'memory.json').read_text())
    truth = robot_bag.seen_well()
    assert len(truth) >= 5
    assert match_confirmed(truth, graph, tol_m=0.15) == 1.0
    found = confirmed_objects(graph, ('object',))
    all_truth = [(t.object_type, t.position) for t in robot_bag.truth.values()]
    assert match_confirmed(found, all_truth, tol_m=0.15) >= 0.95
    import sqlite3

    with sqlite3.connect(out / 'memory.db') as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
    assert tables


def test_interpolated_tf_gives_the_rendered_camera_pose(robot_bag):
    from memory_nodes.perception.tf_tree import TfBuffer, add_tf_message

    reader = BagReader(robot_bag.path)
    tf = TfBuffer(cache_time=100.0)
    dynamic = []
    for msg in reader.messages(['/tf', '/tf_static']):
        decoded = reader.decode(msg)
        add_tf_message(tf, decoded, msg.topic == '/tf_static')
        dynamic += [msg.log_time] if msg.topic == '/tf' else []
    for stamp, pose in robot_bag.camera_poses.items():
        assert min(abs(stamp - t) for t in dynamic) > 0.005  # between TF samples
        got = tf.lookup('map', 'camera_color_optical_frame', stamp)
        assert np.allclose(got, pose, atol=1e-6), stamp


def test_damaged_bag_drops_named_frames_and_goes_on(robot_bag, tmp_path):
    stamps = sorted(robot_bag.camera_poses)
    corrupt_jpeg, bad_info = stamps[1], stamps[2]
    second_view = stamps[len(stamps) // 3:2 * len(stamps) // 3]
    lo, hi = second_view[0] - 0.4, second_view[-1] + 0.4

    def damage(topic, ns, msg):
        t = ns * 1e-9
        if topic == TOPICS['rgb'] and abs(t - corrupt_jpeg) < 1e-6:
            msg.data = msg.data[:200]  # cut short: not a decodable JPEG
        if topic == TOPICS['camera_info'] and abs(t - bad_info) < 1e-6:
            msg.width, msg.height = 640, 480
        if topic == '/tf' and lo <= t <= hi:
            return None  # no odometry during the second view
        return msg

    bad = tmp_path / 'bad'
    rewrite(robot_bag.path, bad, damage)
    result = replay_bag(bad, options())
    s = result.summary
    dropped = s['frames_dropped']
    assert dropped['undecodable'] == 1 and dropped['size_mismatch'] == 1
    assert dropped['no_tf'] == len(second_view)
    ex = s['dropped_examples']
    assert ex['undecodable'][0]['topic'] == TOPICS['rgb']
    assert ex['undecodable'][0]['stamp'] == pytest.approx(corrupt_jpeg, abs=1e-6)
    assert 'does not decode' in ex['undecodable'][0]['detail']
    assert '640' in ex['size_mismatch'][0]['detail'] and \
        TOPICS['camera_info'] in ex['size_mismatch'][0]['detail']
    assert 'camera_color_optical_frame' in ex['no_tf'][0]['detail']
    assert s['frames_used'] == robot_bag.frames - 2 - len(second_view)
    assert len(confirmed_objects(result.memory)) > 0


def test_truncated_bag_replays_what_is_there(robot_bag, tmp_path):
    src = next(robot_bag.path.glob('*.mcap'))
    cut = tmp_path / 'cut.mcap'
    cut.write_bytes(src.read_bytes()[:int(src.stat().st_size * 0.6)])
    result = replay_bag(cut, options())
    problems = [p for p in result.summary['problems'] if p['kind'] == 'truncated']
    assert problems and 'cut.mcap' in problems[0]['detail']
    assert 0 < result.summary['frames_used'] < robot_bag.frames


def test_unknown_schema_is_named_and_the_rest_replays(robot_bag, tmp_path):
    from rosbags.rosbag2 import Reader, StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_KILTED)
    dst = tmp_path / 'odd'
    with Reader(robot_bag.path) as reader, Writer(dst, version=9,
                                                  storage_plugin=StoragePlugin.MCAP) as w:
        conns = {c.id: w.add_connection(c.topic, c.msgtype, typestore=ts)
                 for c in reader.connections}
        odd = w.add_connection('/acme/status', 'acme_msgs/msg/Status',
                               msgdef='this is not a message definition ((',
                               rihs01='RIHS01_' + '0' * 64)
        for conn, stamp, raw in reader.messages():
            w.write(conns[conn.id], stamp, raw)
            if conn.topic == TOPICS['rgb']:
                w.write(odd, stamp, b'\x00\x01\x00\x00junk')
    opts = options()
    opts.remap(['/acme/status=instances'])  # a user maps the wrong topic
    result = replay_bag(dst, opts)
    problems = [p for p in result.summary['problems'] if p['kind'] == 'unknown_schema']
    assert problems and problems[0]['topic'] == '/acme/status'
    assert 'acme_msgs/msg/Status' in problems[0]['detail']
    assert result.summary['frames_used'] == 0
    assert result.summary['frames_dropped']['unpaired'] == robot_bag.frames


def test_a_file_that_is_not_a_bag_is_named(tmp_path):
    junk = tmp_path / 'notes.mcap'
    junk.write_text('hello, not a bag')
    with pytest.raises(BagError, match='notes.mcap'):
        replay_bag(junk, options())
    done = subprocess.run([sys.executable, '-m', 'memory_nodes.commands.main', 'replay',
                           str(junk), '--out', str(tmp_path / 'o')], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**__import__('os').environ, 'PYTHONPATH': str(ROOT)})
    assert done.returncode == 2 and 'notes.mcap' in done.stderr
    assert 'not an MCAP bag' in done.stderr
