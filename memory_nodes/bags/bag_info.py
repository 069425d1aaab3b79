"""What is in an MCAP file, checked: topics, types, counts, time span; clear errors if broken.

`read_bag_info` reads the summary at the end of the file (what a finished recording has)
and, with `validate=True`, every chunk with its CRC. A file that is not MCAP, or whose
writer never finished it (killed, disk full: the summary and footer are missing), raises
`BagError` naming the file and what is wrong, instead of the reader library's bare
exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mcap.exceptions import McapError
from mcap.reader import make_reader

from memory_nodes.bags.reader import MCAP_MAGIC as MAGIC
from memory_nodes.bags.reader import BagError

__all__ = ['BagError', 'BagInfo', 'TopicInfo', 'read_bag_info']


@dataclass
class TopicInfo:
    """One channel of a bag."""

    topic: str
    type_name: str
    schema_encoding: str
    message_encoding: str
    count: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class BagInfo:
    """The summary of a bag."""

    path: Path
    profile: str
    library: str
    start_ns: int
    end_ns: int
    topics: dict[str, TopicInfo]

    @property
    def message_count(self) -> int:
        """Messages in the whole file."""
        return sum(t.count for t in self.topics.values())

    @property
    def duration_s(self) -> float:
        """Seconds from the first to the last message's log time."""
        return max(self.end_ns - self.start_ns, 0) / 1e9

    def describe(self) -> str:
        """Lines like `ros2 bag info` prints."""
        lines = [f'{self.path}: {self.message_count} messages, {self.duration_s:.1f} s, '
                 f'profile {self.profile!r}']
        for t in sorted(self.topics.values(), key=lambda t: t.topic):
            lines.append(f'  {t.topic:<34} {t.type_name:<40} {t.count:>6}')
        return '\n'.join(lines)


def _check_ends(path: Path) -> None:
    """Both magics present: otherwise not MCAP or not finished."""
    size = path.stat().st_size
    with open(path, 'rb') as f:
        head = f.read(len(MAGIC))
        if head != MAGIC:
            raise BagError(f'{path}: not an MCAP file (no MCAP magic at the start)')
        f.seek(max(size - len(MAGIC), 0))
        tail = f.read(len(MAGIC))
    if tail != MAGIC or size < 2 * len(MAGIC) + 20:
        raise BagError(f'{path}: truncated MCAP file ({size} bytes, no footer at the end): '
                       'its recording was not finished (killed or out of disk); '
                       '`mcap recover` can salvage the complete chunks')


def read_bag_info(path: str | Path, validate: bool = False) -> BagInfo:
    """The summary of the MCAP file at `path`; `validate` also reads every chunk (CRCs)."""
    path = Path(path)
    if not path.is_file():
        raise BagError(f'{path}: no such file')
    _check_ends(path)
    try:
        with open(path, 'rb') as f:
            reader = make_reader(f, validate_crcs=validate)
            header = reader.get_header()
            summary = reader.get_summary()
            if summary is None:
                raise BagError(f'{path}: MCAP file without a summary section '
                               '(not written by a finished recording)')
            counts = dict(summary.statistics.channel_message_counts) \
                if summary.statistics else {}
            topics = {}
            for cid, ch in summary.channels.items():
                schema = summary.schemas.get(ch.schema_id)
                topics[ch.topic] = TopicInfo(
                    ch.topic, schema.name if schema else '',
                    schema.encoding if schema else '', ch.message_encoding,
                    int(counts.get(cid, 0)), dict(ch.metadata))
            stats = summary.statistics
            info = BagInfo(path, header.profile, header.library,
                           stats.message_start_time if stats else 0,
                           stats.message_end_time if stats else 0, topics)
            if validate:
                seen = 0
                for _ in reader.iter_messages():
                    seen += 1
                if seen != info.message_count:
                    raise BagError(f'{path}: summary counts {info.message_count} messages, '
                                   f'the chunks hold {seen}')
            return info
    except BagError:
        raise
    except (McapError, EOFError, OSError, ValueError, KeyError) as exc:
        raise BagError(f'{path}: unreadable MCAP file ({type(exc).__name__}: {exc})') from exc
    except Exception as exc:  # a decompressor's own error for a damaged chunk
        raise BagError(f'{path}: damaged MCAP data ({type(exc).__name__}: {exc})') from exc
