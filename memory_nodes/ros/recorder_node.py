"""The recorder: topics of the running stack into an MCAP file that rosbag2 and Foxglove open.

`embodied-memory record OUT.mcap [--topics T ...] [--all] [--duration S]`, or the
`recorder` node of `sim_stack record:=true`. It subscribes to each wanted topic as soon as
a publisher of it appears in the graph, with the type the graph names, and takes the
messages as serialized CDR (`raw=True`: nothing is decoded, nothing is lost). Like
rosbag2 it asks for what every publisher offers: reliable only when all publishers are,
transient local (late joiners get the latched message) only when all are; `/tf_static`
always reliable and transient local. Schemas are the complete `.msg` definitions (see
`memory_nodes.bags.definitions`), channel metadata the publishers' QoS. A progress line
shows messages per topic; Ctrl-C, SIGTERM or `duration` finishes the file (summary and
CRCs written), and the recorder prints what the file holds.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import time
from datetime import datetime
from pathlib import Path

import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from memory_nodes.bags.bag_info import BagError, read_bag_info
from memory_nodes.bags.definitions import (
    DefinitionNotFound,
    MessageDefinitions,
    msg_text_from_fields,
    split_type,
)
from memory_nodes.bags.mcap_writer import COMPRESSION, BagWriter, QosOffer
from memory_nodes.bags.recording import ALWAYS_LATCHED, DEFAULT_TOPICS
from memory_nodes.ros.params import declare_config, describe


@dataclasses.dataclass
class RecorderConfig:
    """Parameters of the recorder."""

    output_path: str = describe('', "MCAP file to write ('' = recording_<time>.mcap here)")
    topics: tuple = describe(DEFAULT_TOPICS, 'topics to record (relative ones in the '
                             "recorder's namespace)")
    all_topics: bool = describe(False, 'record every topic (except hidden ones)')
    duration: float = describe(0.0, 'stop after this many seconds (0 = until stopped)',
                               min=0.0)
    compression: str = describe('zstd', 'chunk compression', choices=tuple(COMPRESSION))
    chunk_size: int = describe(1 << 20, 'bytes per MCAP chunk', min=1024)
    queue_depth: int = describe(100, 'subscription queue per topic', min=1)
    discovery_period: float = describe(0.25, 'seconds between graph scans for topics',
                                       min=0.05)
    progress_period: float = describe(1.0, 'seconds between progress lines (0 = none)',
                                      min=0.0)


def _rmw_name(policy: object) -> str:
    return getattr(policy, 'name', str(policy)).lower()


def offer_of(profile: QoSProfile) -> QosOffer:
    """An rclpy QoS profile (as the graph reports a publisher's) in rosbag2's terms."""
    return QosOffer(
        history=_rmw_name(profile.history), depth=int(profile.depth),
        reliability=_rmw_name(profile.reliability), durability=_rmw_name(profile.durability),
        deadline_ns=int(profile.deadline.nanoseconds),
        lifespan_ns=int(profile.lifespan.nanoseconds),
        liveliness=_rmw_name(profile.liveliness),
        liveliness_lease_duration_ns=int(profile.liveliness_lease_duration.nanoseconds),
        avoid_ros_namespace_conventions=bool(profile.avoid_ros_namespace_conventions))


def request_for(topic: str, offers: list[QosOffer], depth: int) -> QoSProfile:
    """What to subscribe with so that every publisher connects (rosbag2's rule)."""
    reliable = bool(offers) and all(o.reliability == 'reliable' for o in offers)
    latched = bool(offers) and all(o.durability == 'transient_local' for o in offers)
    if topic in ALWAYS_LATCHED:
        reliable = latched = True
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=depth,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)


def message_class(type_name: str) -> type:
    """The generated Python class of 'pkg/msg/Type' (ImportError naming it if missing)."""
    pkg, ns, name = split_type(type_name)
    try:
        return getattr(importlib.import_module(f'{pkg}.{ns}'), name)
    except (ImportError, AttributeError) as exc:
        raise ImportError(f'message type {type_name} is not installed: {exc}') from None


def _definition_from_class(type_name: str) -> str | None:
    """A .msg text derived from the generated class, for types whose .msg file is missing."""
    try:
        return msg_text_from_fields(message_class(type_name).get_fields_and_field_types())
    except ImportError:
        return None


class RecorderNode(Node):
    """Subscribes to the wanted topics as they appear and writes every message to MCAP."""

    def __init__(self, **kwargs) -> None:  # noqa: ANN003 - rclpy Node kwargs
        super().__init__('recorder', **kwargs)
        self.cfg = declare_config(self, RecorderConfig)
        path = self.cfg.output_path or datetime.now().strftime('recording_%Y%m%d_%H%M%S.mcap')
        self.path = Path(path).expanduser()
        self.writer = BagWriter(self.path, self.cfg.compression, self.cfg.chunk_size)
        self.definitions = MessageDefinitions(fallback=_definition_from_class)
        self.wanted = {self.resolve_topic_name(t) for t in self.cfg.topics}
        self.skipped: dict[str, str] = {}
        self.errors = 0
        self.done = False
        self.started = time.monotonic()
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        # Steady timers: with use_sim_time the recorder must run before /clock exists.
        self.create_timer(self.cfg.discovery_period, self._discover, clock=steady)
        if self.cfg.progress_period > 0:
            self.create_timer(self.cfg.progress_period, self._progress, clock=steady)
        self._discover()
        what = 'all topics' if self.cfg.all_topics else f'{len(self.wanted)} topics'
        self.get_logger().info(f'recording {what} to {self.path}')

    def _wants(self, topic: str) -> bool:
        if self.cfg.all_topics:
            return not any(part.startswith('_') for part in topic.split('/'))
        return topic in self.wanted

    def _discover(self) -> None:
        if self.cfg.duration > 0 and time.monotonic() - self.started >= self.cfg.duration:
            self.done = True
        for topic, types in self.get_topic_names_and_types():
            if topic in self.writer.topics or topic in self.skipped or not self._wants(topic):
                continue
            publishers = self.get_publishers_info_by_topic(topic)
            if not publishers:
                continue  # only subscribers so far: nothing to record, QoS unknown
            if len(types) != 1:
                self._skip(topic, f'{len(types)} types on one topic: {types}')
                continue
            try:
                self._subscribe(topic, types[0], publishers)
            except (ImportError, DefinitionNotFound, ValueError) as exc:
                self._skip(topic, str(exc))

    def _skip(self, topic: str, why: str) -> None:
        self.skipped[topic] = why
        self.get_logger().error(f'not recording {topic}: {why}')

    def _subscribe(self, topic: str, type_name: str, publishers: list) -> None:
        cls = message_class(type_name)
        schema = self.definitions.schema(type_name)
        offers = [offer_of(p.qos_profile) for p in publishers]
        type_hash = str(getattr(publishers[0], 'topic_type_hash', '') or '')
        self.writer.add_topic(topic, schema, offers, type_hash)
        qos = request_for(topic, offers, self.cfg.queue_depth)
        self.create_subscription(cls, topic, lambda data, t=topic: self._on_message(t, data),
                                 qos, raw=True)
        self.get_logger().info(f'recording {topic} ({type_name}, '
                               f'{qos.reliability.name.lower()}, '
                               f'{qos.durability.name.lower()})')

    def _on_message(self, topic: str, data: bytes) -> None:
        try:
            self.writer.write(topic, data, self.get_clock().now().nanoseconds)
        except (ValueError, KeyError, OSError) as exc:
            self.errors += 1
            self.get_logger().error(f'{topic}: message not written: {exc}',
                                    throttle_duration_sec=5.0)

    def progress_line(self) -> str:
        """`[record] 12.0 s  345 msgs  /tf 60  rgb/image_raw 60 ...`."""
        counts = self.writer.counts()
        per = '  '.join(f'{t} {n}' for t, n in sorted(counts.items()))
        return (f'[record] {time.monotonic() - self.started:6.1f} s  '
                f'{sum(counts.values())} msgs  {per}')

    def _progress(self) -> None:
        line = self.progress_line()
        if sys.stderr.isatty():
            print('\r' + line, end='', file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def finish(self) -> str:
        """Close the file; return what it holds (read back from it) for the user."""
        self.writer.close()
        missing = sorted(t for t in self.wanted if t not in self.writer.topics)
        lines = []
        try:
            lines.append(read_bag_info(self.path).describe())
        except BagError as exc:
            lines.append(f'[record] the file is not readable: {exc}')
        if missing and not self.cfg.all_topics:
            lines.append(f'[record] never published: {", ".join(missing)}')
        if self.skipped:
            lines += [f'[record] not recorded {t}: {why}' for t, why in self.skipped.items()]
        return '\n'.join(lines)

    def destroy_node(self) -> None:
        """Finish the file before the node goes."""
        self.writer.close()
        super().destroy_node()


def run(args: list[str] | None = None) -> int:
    """Record until Ctrl-C, SIGTERM or the configured duration; the file is always finished."""
    rclpy.init(args=args)
    node = None
    try:
        node = RecorderNode()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while rclpy.ok() and not node.done:
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            if sys.stderr.isatty():
                print(file=sys.stderr)
            print(node.progress_line(), file=sys.stderr)
            print(node.finish(), flush=True)
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def main(args: list[str] | None = None) -> None:
    """Entry point of the `recorder` node (`python -m memory_nodes.ros.recorder_node`)."""
    sys.exit(run(args))


if __name__ == '__main__':
    main()
