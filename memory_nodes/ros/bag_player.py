"""Publish a bag on its topics with `/clock`, like `ros2 bag play`.

Each message's CDR bytes go out unchanged on its topic with the bag's type (rclpy
publishers take serialized bytes); `/clock` carries the bag's time so nodes with
`use_sim_time` consume the bag as if live. `/tf_static` is latched (transient local).
Types that are not installed here cannot be published: they are skipped with a warning
naming the topic and type.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from pathlib import Path

import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock

from memory_nodes.bags.reader import BagReader
from memory_nodes.bags.replay import DEFAULT_TOPICS
from memory_nodes.ros import conversions as conv


def topic_renames(pairs: Sequence[str]) -> dict[str, str]:
    """`--map TOPIC=NAME` -> {bag topic: published topic}; NAME may be a logical name."""
    out = {}
    for item in pairs:
        topic, sep, name = item.partition('=')
        if not sep or not topic or not name:
            raise ValueError(f'--map {item!r}: expected TOPIC=NAME')
        out[topic] = DEFAULT_TOPICS.get(name, {'tf': '/tf', 'tf_static': '/tf_static'}.get(
            name, name))
    return out


class BagPlayer(Node):
    """Publishes one bag's messages in time order at `rate` x real time."""

    def __init__(self, path: str | Path, rate: float = 1.0,
                 renames: dict[str, str] | None = None, **kwargs) -> None:  # noqa: ANN003
        super().__init__('bag_player', **kwargs)
        if rate <= 0:
            raise ValueError(f'rate must be > 0, got {rate}')
        self.reader = BagReader(path)
        self.rate = rate
        self.renames = renames or {}
        self.clock_pub = self.create_publisher(Clock, '/clock', 10)
        self._pubs: dict[str, object] = {}
        self._skipped: set[str] = set()
        self.published = 0

    def _publisher(self, topic: str, type_name: str):  # noqa: ANN202 - rclpy Publisher
        if topic in self._pubs:
            return self._pubs[topic]
        try:
            package, kind, name = type_name.split('/')
            msg_type = getattr(importlib.import_module(f'{package}.{kind}'), name)
        except (ValueError, ImportError, AttributeError) as exc:
            self.get_logger().warning(f'topic {topic}: type {type_name!r} is not installed, '
                                      f'not published ({exc})')
            self._pubs[topic] = None
            return None
        latched = topic.endswith('tf_static')
        qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL if latched
                         else DurabilityPolicy.VOLATILE)
        self._pubs[topic] = self.create_publisher(msg_type, self.renames.get(topic, topic), qos)
        return self._pubs[topic]

    def play_once(self) -> int:
        """Publish the whole bag once; returns the number of messages published."""
        start_wall, start_bag = time.monotonic(), None
        count = 0
        for msg in self.reader.messages():
            if not rclpy.ok(context=self.context):
                break
            if start_bag is None:
                start_bag = msg.log_time
            wait = (msg.log_time - start_bag) / self.rate - (time.monotonic() - start_wall)
            if wait > 0:
                time.sleep(wait)
            self.clock_pub.publish(Clock(clock=conv.seconds_to_stamp(msg.log_time)))
            pub = self._publisher(msg.topic, msg.type_name)
            if pub is None:
                continue
            pub.publish(msg.data)
            count += 1
        for problem in self.reader.problems:
            self.get_logger().warning(str(problem))
        self.reader.problems.clear()
        self.published += count
        return count


def play_bag(path: str | Path, rate: float = 1.0, loop: bool = False,
             remap: Sequence[str] = (), delay: float = 1.0) -> int:
    """Run the player until the bag ends (or forever with `loop`); 0 on success.

    The publishers are made first and playing starts `delay` seconds later (like
    `ros2 bag play --delay`), so subscribers discovered meanwhile get the first messages.
    """
    rclpy.init()
    node = BagPlayer(path, rate, topic_renames(remap))
    try:
        for topic, type_name in node.reader.topic_types().items():
            node._publisher(topic, type_name)
        time.sleep(max(delay, 0.0))
        while True:
            count = node.play_once()
            node.get_logger().info(f'played {count} messages of {node.reader.path.name}')
            if not loop or not rclpy.ok():
                break
        # Give late subscribers of the latched topics a moment before going away.
        time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
