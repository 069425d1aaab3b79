"""Writing rosbag2-compatible MCAP: ROS 2 profile, CDR messages, full `ros2msg` schemas.

What `ros2 bag info/play` and Foxglove expect of a ROS 2 MCAP file (rosbag2's own MCAP
storage writes the same): the header's profile is `ros2`; each message type is a schema
named `pkg/msg/Type` whose data is the complete definition (see `definitions`); each
topic is a channel with message encoding `cdr` and metadata `offered_qos_profiles`, the
YAML list of the publishers' QoS (rosbag2 replays with it: a latched topic stays
latched); a message's data is the serialized CDR (with its 4-byte encapsulation header),
its log time the receive time and its publish time the header stamp when it has one.
The file is chunked (zstd, lz4 or none) with message indexes, statistics and a summary,
CRCs on chunks and the data section; `close` writes the summary and footer, so a file
whose writer was killed has no summary: `bag_info.read_bag_info` says so.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

from mcap.writer import CompressionType, Writer

from memory_nodes.bags.definitions import Schema

#: What the writer reports as `library` in the MCAP header.
LIBRARY = 'embodied_memory record'
#: rmw's "infinite" duration (RMW_DURATION_INFINITE), as rosbag2 writes it.
INFINITE_NS = 9_223_372_036_854_775_807
COMPRESSION = {'zstd': CompressionType.ZSTD, 'lz4': CompressionType.LZ4,
               'none': CompressionType.NONE}


@dataclass(frozen=True)
class QosOffer:
    """One publisher's QoS, in rmw's words ('keep_last', 'reliable', 'transient_local')."""

    history: str = 'keep_last'
    depth: int = 10
    reliability: str = 'reliable'
    durability: str = 'volatile'
    deadline_ns: int = INFINITE_NS
    lifespan_ns: int = INFINITE_NS
    liveliness: str = 'automatic'
    liveliness_lease_duration_ns: int = INFINITE_NS
    avoid_ros_namespace_conventions: bool = False


def _duration(name: str, ns: int) -> list[str]:
    sec, nsec = divmod(max(int(ns), 0), 1_000_000_000)
    return [f'  {name}:', f'    sec: {sec}', f'    nsec: {nsec}']


def qos_profiles_yaml(offers: list[QosOffer]) -> str:
    """The `offered_qos_profiles` channel metadata: rosbag2's YAML list (format version 9)."""
    if not offers:
        return '[]'
    lines: list[str] = []
    for q in offers:
        lines += [f'- history: {q.history}', f'  depth: {int(q.depth)}',
                  f'  reliability: {q.reliability}', f'  durability: {q.durability}',
                  *_duration('deadline', q.deadline_ns), *_duration('lifespan', q.lifespan_ns),
                  f'  liveliness: {q.liveliness}',
                  *_duration('liveliness_lease_duration', q.liveliness_lease_duration_ns),
                  '  avoid_ros_namespace_conventions: '
                  f'{"true" if q.avoid_ros_namespace_conventions else "false"}']
    return '\n'.join(lines)


def starts_with_header(schema: Schema) -> bool:
    """Whether the type's first field is a `std_msgs/Header` (its stamp is then first)."""
    if schema.encoding != 'ros2msg':
        return False
    for line in schema.text.splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
            return line.split()[0] in ('std_msgs/Header', 'Header')
    return False


def header_stamp_ns(data: bytes) -> int | None:
    """The header stamp (ns) of a CDR message whose first field is a Header; None if unreadable.

    After the 4-byte encapsulation header (byte 1: 0 big-, 1 little-endian) come the
    stamp's int32 sec and uint32 nanosec.
    """
    if len(data) < 12:
        return None
    endian = '<' if data[1] & 1 else '>'
    sec, nsec = struct.unpack_from(f'{endian}iI', data, 4)
    if sec < 0 or nsec >= 1_000_000_000:
        return None
    return sec * 1_000_000_000 + nsec


@dataclass
class TopicStats:
    """Per-topic bookkeeping of a recording."""

    type_name: str
    channel_id: int
    stamped: bool
    count: int = 0
    sequence: int = 0
    qos: list[QosOffer] = field(default_factory=list)


class BagWriter:
    """An MCAP file being recorded; thread-safe; `close()` finishes it (summary, CRCs)."""

    def __init__(self, path: str | Path, compression: str = 'zstd',
                 chunk_size: int = 1 << 20) -> None:
        if compression not in COMPRESSION:
            raise ValueError(f'compression {compression!r}: expected one of '
                             f'{sorted(COMPRESSION)}')
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._stream = open(self.path, 'wb')  # noqa: SIM115 - closed in close()
        self._writer = Writer(self._stream, chunk_size=chunk_size,
                              compression=COMPRESSION[compression], enable_crcs=True,
                              enable_data_crcs=True)
        self._writer.start(profile='ros2', library=LIBRARY)
        self._lock = threading.Lock()
        self._schemas: dict[str, int] = {}
        self.topics: dict[str, TopicStats] = {}
        self.closed = False

    def add_topic(self, topic: str, schema: Schema, offers: list[QosOffer],
                  type_hash: str = '') -> TopicStats:
        """Register `topic` (a channel; its type's schema once per type)."""
        with self._lock:
            if topic in self.topics:
                return self.topics[topic]
            if schema.name not in self._schemas:
                self._schemas[schema.name] = self._writer.register_schema(
                    name=schema.name, encoding=schema.encoding,
                    data=schema.text.encode('utf-8'))
            metadata = {'offered_qos_profiles': qos_profiles_yaml(offers)}
            if type_hash:
                metadata['topic_type_hash'] = type_hash
            channel = self._writer.register_channel(
                topic=topic, message_encoding='cdr', schema_id=self._schemas[schema.name],
                metadata=metadata)
            stats = TopicStats(schema.name, channel, starts_with_header(schema),
                               qos=list(offers))
            self.topics[topic] = stats
            return stats

    def write(self, topic: str, data: bytes, log_time_ns: int,
              publish_time_ns: int | None = None) -> None:
        """Append one serialized message; publish time = its header stamp if it has one."""
        with self._lock:
            if self.closed:
                return
            stats = self.topics.get(topic)
            if stats is None:
                raise KeyError(f'{topic}: not registered (add_topic first)')
            if publish_time_ns is None:
                stamp = header_stamp_ns(data) if stats.stamped else None
                publish_time_ns = stamp if stamp is not None else log_time_ns
            self._writer.add_message(channel_id=stats.channel_id, log_time=int(log_time_ns),
                                     data=bytes(data), publish_time=int(publish_time_ns),
                                     sequence=stats.sequence)
            stats.sequence += 1
            stats.count += 1

    def counts(self) -> dict[str, int]:
        """Messages written per topic."""
        with self._lock:
            return {t: s.count for t, s in self.topics.items()}

    def close(self) -> None:
        """Finish the file: last chunk, summary, footer (idempotent)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            try:
                self._writer.finish()
            finally:
                self._stream.close()

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
