"""`embodied-memory smoke`: a real round trip through the memory node over ROS 2.

Starts the `memory_only` stack with the project launcher (the memory node in its own
process), publishes one frame of object observations from this process, calls
QueryObjects and GetSceneGraph of our own interfaces and prints what came back.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from memory_nodes.launch.ros_env import apply_loopback_defaults


def _frame(stamp_s: float):  # noqa: ANN202 - ROS message
    from embodied_memory_msgs.msg import ObjectObservation, ObjectObservationArray

    from memory_nodes.memory.observation import ObjectObservation as CoreObservation
    from memory_nodes.ros import conversions as conv

    rng = np.random.default_rng(0)
    scene = [('Apple', (1.2, 0.4, 0.95), 0.08), ('Mug', (1.5, 0.2, 0.95), 0.1),
             ('DiningTable', (1.4, 0.3, 0.45), 0.9)]
    msg = ObjectObservationArray()
    msg.header.frame_id = 'map'
    msg.header.stamp = conv.seconds_to_stamp(stamp_s)
    for label, centre, size in scene:
        pts = np.asarray(centre) + rng.uniform(-size / 2, size / 2, size=(200, 3))
        item: ObjectObservation = conv.observation_to_msg(
            CoreObservation(label=label, score=0.95, points=pts, stamp=stamp_s))
        item.header = msg.header
        msg.observations.append(item)
    return msg


def run_smoke(timeout: float = 60.0) -> int:
    """Launch the memory node, feed it, query it, print the replies; 0 on success."""
    apply_loopback_defaults()
    import rclpy
    from embodied_memory_msgs.msg import ObjectObservationArray
    from embodied_memory_msgs.srv import GetSceneGraph, QueryObjects
    from rclpy.qos import qos_profile_sensor_data

    from memory_nodes.launch.launcher import Launcher, plan

    print('[smoke] starting the memory node (embodied-memory launch memory_only) ...')
    launcher = Launcher(plan('memory_only', {'memory': {'text_embeddings': 'hashing'}}))
    launcher.start()
    rclpy.init()
    node = rclpy.create_node('smoke_client')
    code = 1
    try:
        query = node.create_client(QueryObjects, 'query_objects')
        graph = node.create_client(GetSceneGraph, 'get_scene_graph')
        if not query.wait_for_service(timeout_sec=timeout):
            print('[smoke] the memory node never offered query_objects', file=sys.stderr)
            return 1
        pub = node.create_publisher(ObjectObservationArray, 'observations',
                                    qos_profile_sensor_data)
        deadline = time.monotonic() + timeout
        reply = None
        frames = 0
        while time.monotonic() < deadline:
            pub.publish(_frame(1.0 + frames * 0.2))
            frames += 1
            future = query.call_async(QueryObjects.Request(label='apple', top_k=5))
            rclpy.spin_until_future_complete(node, future, timeout_sec=5.0)
            reply = future.result()
            if reply is not None and reply.objects:
                break
            time.sleep(0.2)
        if reply is None or not reply.objects:
            print('[smoke] no answer with an apple in time', file=sys.stderr)
            return 1
        print(f'[smoke] published {frames} observation frame(s); QueryObjects(label=apple) ->')
        for obj in reply.objects:
            p = obj.pose.position
            print(f'  {obj.id}: {obj.label} at ({p.x:.2f}, {p.y:.2f}, {p.z:.2f}) m in map, '
                  f'on {obj.parent_id or "-"} ({obj.relation or "-"}), '
                  f'confidence {obj.confidence:.2f}, seen {obj.observation_count}x')
        future = graph.call_async(GetSceneGraph.Request(mode=0, token_budget=200))
        rclpy.spin_until_future_complete(node, future, timeout_sec=10.0)
        summary = future.result()
        print(f'[smoke] GetSceneGraph(collapsed, 200 tokens) -> {summary.node_count} nodes, '
              f'{summary.token_count} tokens:')
        print('  ' + summary.json[:400])
        code = 0
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
        launcher.stop()
        print(f'[smoke] memory node stopped; smoke {"passed" if code == 0 else "FAILED"}')
    return code


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `smoke` to the command line."""
    p = subparsers.add_parser('smoke', help='memory node round trip over ROS 2')
    p.add_argument('--timeout', type=float, default=60.0)
    p.set_defaults(func=lambda a: run_smoke(a.timeout))
