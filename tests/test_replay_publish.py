"""`replay --publish` feeds the live perception node a robot's bag, TF included.

A bag written by the third-party `rosbags` library (robot frame names, JPEG colour, 16UC1
depth, TF at another rate than the camera) is played onto ROS 2 topics with `/clock`
(`embodied-memory replay BAG --publish`); a perception node on simulated time, with the
camera pose from `/tf` + `/tf_static` through the core TF buffer (no tf2_ros here) and
compressed colour, turns it into observations in `map`: real processes over Fast DDS.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import numpy as np
import pytest
from ros_processes import NodeProcess, RosClient

from memory_nodes.evaluation.robot_bag import TOPICS, write_robot_bag

pytestmark = pytest.mark.ros


def test_a_published_bag_drives_the_live_perception_node(tmp_path, ros_env):
    bag = write_robot_bag(tmp_path / 'robot', anchors=('CounterTop',), frames_per_view=8)
    perception = NodeProcess('memory_nodes.ros.perception_node', {
        'use_sim_time': True, 'use_tf': True, 'rgb_transport': 'compressed',
        'reliable_sensors': True, 'frame_queue': 64}, ros_env)
    client = RosClient('publish_test')
    from embodied_memory_msgs.msg import ObjectObservationArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    received, lock = [], threading.Lock()

    def on_observations(msg):
        with lock:
            received.append(msg)

    client.node.create_subscription(ObjectObservationArray, 'observations', on_observations,
                                    QoSProfile(depth=100,
                                               reliability=ReliabilityPolicy.RELIABLE))
    try:
        perception.wait_for('perception ready')
        renames = {'rgb': '/rgb/image_raw/compressed', 'depth': '/depth/image_raw',
                   'camera_info': '/camera_info', 'segmentation': '/segmentation/image_raw',
                   'instances': '/segmentation/instances'}
        argv = [sys.executable, '-m', 'memory_nodes.commands.main', 'replay', str(bag.path),
                '--publish', '--rate', '2', '--delay', '5']
        for name, topic in TOPICS.items():
            argv += ['--map', f'{topic}={renames[name]}']
        player = subprocess.run(argv, env=ros_env, capture_output=True, text=True,
                                timeout=120)
        assert player.returncode == 0, player.stdout + player.stderr
        assert 'played' in player.stdout + player.stderr
        stats = {}
        for _ in range(40):
            stats = client.stats('perception_stats')
            if stats['worker']['processed'] + stats['worker']['dropped'] >= \
                    stats['sync_matched'] and stats['published'] >= 0.8 * bag.frames:
                break
            threading.Event().wait(0.25)
        assert stats['rejected'].get('no_tf', 0) == 0, stats
        assert stats['published'] >= 0.8 * bag.frames, json.dumps(stats)
        with lock:
            seen = [o for msg in received for o in msg.observations]
        assert seen and all(msg.header.frame_id == 'map' for msg in received)
        # The observations land where the ground truth puts the objects: the pose chained
        # from the bag's TF tree, interpolated at the image stamps, is right.
        truth = bag.seen_well(min_frames=2)
        assert truth
        hits = 0
        for label, position in truth:
            near = [np.linalg.norm(np.array([o.centroid.x, o.centroid.y, o.centroid.z])
                                   - position) for o in seen if o.label == label]
            hits += bool(near) and min(near) < 0.15
        assert hits >= 0.8 * len(truth), (hits, len(truth))
    finally:
        client.close()
        perception.stop()
