"""Read an MCAP bag (a file, or a rosbag2 folder holding one) message by message.

Messages are decoded with the ROS 2 schema embedded in the bag (`mcap_ros2`), so types
that are not installed here decode too. Reading streams the file record by record: a
truncated file yields every message before the cut and then one `BagProblem`
('truncated'); a channel whose schema does not parse yields 'unknown_schema' once per
topic, and its messages are 'undecodable'. A file that is not a bag raises `BagError`
naming the file.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MCAP_MAGIC = b'\x89MCAP0\r\n'


class BagError(ValueError):
    """The file cannot be read as a bag at all; the message names the file and why."""


@dataclass
class BagProblem:
    """Something wrong in a bag that reading continued past."""

    kind: str
    topic: str
    stamp: float
    detail: str

    def __str__(self) -> str:
        """One line naming kind, topic and stamp."""
        return f'{self.kind}: topic {self.topic or "-"} at stamp {self.stamp:.6f}: {self.detail}'


@dataclass
class BagMessage:
    """One message: topic, type, log time (s) and its CDR bytes (decode with the reader)."""

    topic: str
    type_name: str
    log_time: float
    data: bytes
    channel_id: int


def resolve_bag_path(path: str | Path) -> Path:
    """The .mcap file of `path` (a file, or a rosbag2 folder); BagError naming it if none."""
    p = Path(path).expanduser()
    if p.is_dir():
        files = sorted(p.glob('*.mcap'))
        if not files:
            db3 = sorted(p.glob('*.db3'))
            hint = (' (it holds sqlite3 storage: convert it to MCAP, e.g. `ros2 bag convert`'
                    ' or the rosbags library)' if db3 else '')
            raise BagError(f'{str(p)!r} is a folder without an .mcap file{hint}')
        p = files[0]
    if not p.is_file():
        raise BagError(f'no such bag file: {str(p)!r}')
    with p.open('rb') as f:
        head = f.read(len(MCAP_MAGIC))
    if head != MCAP_MAGIC:
        kind = 'a rosbag2 sqlite3 database' if head.startswith(b'SQLite f') else \
            'a ROS 1 bag' if head.startswith(b'#ROSBAG') else 'not an MCAP file'
        raise BagError(f'{str(p)!r} is not an MCAP bag ({kind}; first bytes {head!r})')
    return p


class BagReader:
    """Streams the messages of one MCAP bag; problems collect in `problems`."""

    def __init__(self, path: str | Path) -> None:
        self.path = resolve_bag_path(path)
        self.problems: list[BagProblem] = []
        self._decoders: dict[int, Any] = {}
        self._bad_channels: set[int] = set()
        self.topics: dict[str, str] = {}  # topic -> type name, as channels appear
        self.counts: dict[str, int] = {}

    def topic_types(self) -> dict[str, str]:
        """Every topic of the bag with its type, from the summary (a scan without one)."""
        from memory_nodes.bags.bag_info import read_bag_info

        try:
            return {t: info.type_name for t, info in read_bag_info(self.path).topics.items()}
        except BagError:
            for _ in self.messages(()):
                pass
            self.problems.clear()
            return dict(self.topics)

    def messages(self, topics: Iterable[str] | None = None) -> Iterator[BagMessage]:
        """Every message (of `topics`, if given) in file order; stops at a truncation."""
        from mcap.exceptions import McapError
        from mcap.records import Channel, Message, Schema
        from mcap.stream_reader import StreamReader

        wanted = set(topics) if topics is not None else None
        schemas: dict[int, Any] = {}
        self._channels: dict[int, Any] = {}
        self._schemas = schemas
        last = 0.0
        with self.path.open('rb') as f:
            records = StreamReader(f).records
            while True:
                try:
                    record = next(records)
                except StopIteration:
                    return
                except (McapError, struct.error, EOFError, ValueError, OSError) as exc:
                    why = str(exc) or 'end of data'
                    self.problems.append(BagProblem(
                        'truncated', '', last, f'{self.path.name}: reading stopped after '
                        f'the message at {last:.6f} ({type(exc).__name__}: {why}); the bag '
                        f'is truncated or corrupt'))
                    return
                if isinstance(record, Schema):
                    schemas[record.id] = record
                elif isinstance(record, Channel):
                    self._channels[record.id] = record
                    schema = schemas.get(record.schema_id)
                    self.topics[record.topic] = schema.name if schema else ''
                elif isinstance(record, Message):
                    channel = self._channels.get(record.channel_id)
                    if channel is None:
                        continue
                    last = record.log_time * 1e-9
                    if wanted is not None and channel.topic not in wanted:
                        continue
                    self.counts[channel.topic] = self.counts.get(channel.topic, 0) + 1
                    yield BagMessage(channel.topic, self.topics.get(channel.topic, ''),
                                     last, bytes(record.data), record.channel_id)

    def decode(self, msg: BagMessage) -> Any:
        """The decoded message, or ValueError naming topic and stamp (schema, bytes)."""
        decoder = self._decoder(msg)
        try:
            return decoder(msg.data)
        except Exception as exc:  # noqa: BLE001 - any failure of generated decoders
            raise ValueError(f'topic {msg.topic} at {msg.log_time:.6f}: {msg.type_name or "?"}'
                             f' message does not decode ({type(exc).__name__}: {exc})'
                             ) from exc

    def _decoder(self, msg: BagMessage) -> Any:
        decoder = self._decoders.get(msg.channel_id)
        if decoder is not None:
            return decoder
        if msg.channel_id in self._bad_channels:
            raise ValueError(f'topic {msg.topic} at {msg.log_time:.6f}: its schema '
                             f'{msg.type_name or "(none)"!r} does not parse')
        from mcap_ros2.decoder import DecoderFactory

        channel = self._channels[msg.channel_id]
        schema = self._schemas.get(channel.schema_id)
        detail = ''
        try:
            decoder = DecoderFactory().decoder_for(channel.message_encoding, schema)
            if decoder is None:
                detail = (f'encoding {channel.message_encoding!r}, schema '
                          f'{getattr(schema, "encoding", None)!r}: only CDR with a ros2msg '
                          f'schema decodes')
        except Exception as exc:  # noqa: BLE001 - the schema parser raises many kinds
            detail = f'{type(exc).__name__}: {exc}'
        if decoder is None:
            self._bad_channels.add(msg.channel_id)
            self.problems.append(BagProblem(
                'unknown_schema', msg.topic, msg.log_time,
                f'schema {msg.type_name or "(none)"!r} cannot be decoded ({detail})'))
            raise ValueError(f'topic {msg.topic} at {msg.log_time:.6f}: schema '
                             f'{msg.type_name or "(none)"!r} cannot be decoded ({detail})')
        self._decoders[msg.channel_id] = decoder
        return decoder


def stamp_of(msg: Any, fallback: float) -> float:
    """header.stamp in seconds, else `fallback` (messages without a header)."""
    header = getattr(msg, 'header', None)
    if header is None:
        return fallback
    return float(header.stamp.sec) + float(header.stamp.nanosec) * 1e-9
