"""Damaged, unreadable and unwritable memory files: say what and why, keep, recover.

`open_memory_database` is how a long-term memory opens its SQLite file. A healthy file
opens as it always did. Otherwise:

- **damaged** (not a SQLite file, a page or row that does not read, a file cut short):
  the file (with its `-wal`/`-shm`) is renamed aside to `<name>.corrupt-<UTC stamp>`
  (never overwritten, never deleted), every table row that still reads is salvaged from
  it (a scan, then rowid ranges around the damaged pages), and when nothing could be
  salvaged the newest JSON snapshot that loads next to it (or one the caller names) is
  taken instead. What was recovered is written to a fresh file at the original path and
  served; the report says which source, how many nodes, what was unreadable. Nothing
  recovered: the memory starts empty and the report says so loudly.
- **unwritable** (read-only directory or file, no permission): the memory is read from a
  private copy and served from RAM, nothing is written; the report says so.
- a file this build must not touch: `SchemaVersionError` (a newer schema), or
  `MemoryFileError` naming the file and the cause (a directory, locked by another
  writer).

`read_memory_file` reads a memory file given by a user (LoadMemory, `memory at --file`)
without writing to it; every failure is a `MemoryFileError` naming file and cause.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import re
import shutil
import sqlite3
import struct
import tempfile
import time
import zlib
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memory_nodes.memory.config import PersistenceConfig
from memory_nodes.memory.export import graph_from_dict
from memory_nodes.memory.persistence import (
    SchemaVersionError,
    SqliteStore,
    error_name,
    node_of_row,
)
from memory_nodes.memory.scene_graph import ChangeEvent, SceneGraph
from memory_nodes.memory.timeline import NodeVersion, Timeline

_LOG = logging.getLogger(__name__)

SQLITE_MAGIC = b'SQLite format 3\x00'
SQLITE_SUFFIXES = ('.db', '.sqlite', '.sqlite3')
#: Suffix of a damaged file moved aside (followed by a UTC stamp).
DAMAGED_SUFFIX = '.corrupt-'
#: What a file that does not read raises, whatever its format.
READ_ERRORS = (OSError, EOFError, sqlite3.Error, ValueError, KeyError, TypeError,
               AttributeError, IndexError, zlib.error, UnicodeDecodeError, SchemaVersionError)


class MemoryFileError(ValueError):
    """A memory file that cannot be used; the message names the file and the cause."""

    def __init__(self, path: str | Path, cause: str) -> None:
        self.path = Path(path)
        self.cause = cause
        super().__init__(f'{str(self.path)!r}: {cause}')


@dataclass
class OpenReport:
    """How a memory database was opened.

    `state`: 'ok' (opened as is), 'created' (a new file), 'recovered' (damaged, moved
    aside, what could be read served), 'read_only' (served from RAM, nothing written).
    """

    path: Path
    state: str = 'ok'
    cause: str = ''
    moved_to: Path | None = None
    source: str = ''
    nodes: int = 0
    unreadable: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """True when the file opened as it is and is written to."""
        return self.state in ('ok', 'created')

    def message(self) -> str:
        """One line for the log, naming the file, the cause and what is served."""
        if self.state == 'created':
            return f'memory database {str(self.path)!r} created'
        if self.state == 'ok':
            return f'memory database {str(self.path)!r}: {self.nodes} nodes'
        if self.state == 'read_only':
            return (f'memory database {str(self.path)!r} cannot be written ({self.cause}): '
                    f'serving the {self.nodes} nodes read from it from RAM; NEW CHANGES ARE '
                    f'NOT SAVED until the file can be written and the node restarts')
        text = (f'memory database {str(self.path)!r} is damaged ({self.cause}); moved aside '
                f'to {str(self.moved_to)!r}; ')
        if self.nodes:
            text += f'recovered {self.nodes} nodes from {self.source}'
        else:
            text += ('NOTHING COULD BE RECOVERED (no readable row, no snapshot next to it): '
                     'the memory starts EMPTY')
        if self.unreadable:
            text += f'; unreadable: {"; ".join(self.unreadable[:5])}'
            if len(self.unreadable) > 5:
                text += f' (+{len(self.unreadable) - 5} more)'
        return text

    def as_dict(self) -> dict[str, object]:
        """JSON-able form (for the node's stats)."""
        return {'path': str(self.path), 'state': self.state, 'cause': self.cause,
                'moved_to': str(self.moved_to) if self.moved_to else '',
                'source': self.source, 'nodes': self.nodes,
                'unreadable': list(self.unreadable)}


# ---- diagnosis -----------------------------------------------------------------------
def describe(exc: BaseException) -> str:
    """The cause of a failed read or write in words (with SQLite's code when it has one)."""
    name = error_name(exc)
    if isinstance(exc, EOFError):
        return f'the file ends early (truncated): {exc}'
    if isinstance(exc, (gzip.BadGzipFile, zlib.error)):
        return f'not a valid gzip file: {exc}'
    if isinstance(exc, UnicodeDecodeError):
        return f'not UTF-8 text: {exc}'
    if isinstance(exc, json.JSONDecodeError):
        return f'not valid JSON (truncated or damaged): {exc}'
    if isinstance(exc, (KeyError, TypeError, AttributeError, IndexError)):
        return f'not a memory file: a field is missing or of the wrong type ({exc!r})'
    if isinstance(exc, PermissionError):
        return f'permission denied: {exc}'
    if name:
        return f'{name}: {exc}'
    return str(exc) or type(exc).__name__


def is_damage(exc: BaseException) -> bool:
    """True for errors that mean the file's content is bad (not access or locking)."""
    if isinstance(exc, SchemaVersionError):
        return False
    if isinstance(exc, sqlite3.Error):
        name = error_name(exc)
        if name in ('SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_FORMAT', 'SQLITE_RANGE'):
            return True
        return name == '' and isinstance(exc, sqlite3.DatabaseError) \
            and not isinstance(exc, sqlite3.OperationalError)
    return isinstance(exc, (ValueError, KeyError, TypeError, AttributeError, IndexError,
                            UnicodeDecodeError))


def is_access(exc: BaseException) -> bool:
    """True for errors that mean the file or its directory cannot be written."""
    if isinstance(exc, PermissionError):
        return True
    return isinstance(exc, sqlite3.Error) and error_name(exc) in (
        'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_PERM', 'SQLITE_AUTH')


def diagnose(path: Path) -> str:
    """'' for a readable SQLite file, else the reason it is damaged."""
    with path.open('rb') as f:
        head = f.read(len(SQLITE_MAGIC))
    if not head:
        return ''  # an empty file is an empty database
    if head != SQLITE_MAGIC:
        return f'not a SQLite database (first bytes {head[:16]!r})'
    conn = sqlite3.connect(f'{path.resolve().as_uri()}?mode=ro', uri=True)
    try:
        rows = [r[0] for r in conn.execute('PRAGMA quick_check(5)')]
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        return describe(exc)
    finally:
        conn.close()
    if rows != ['ok']:
        return 'integrity check failed: ' + '; '.join(rows)
    return ''


def move_aside(path: Path, now: float | None = None) -> Path:
    """Rename `path` (and its -wal/-shm) to `<name>.corrupt-<UTC stamp>`; never overwrite."""
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))
    target = path.with_name(f'{path.name}{DAMAGED_SUFFIX}{stamp}')
    n = 1
    while any(Path(f'{target}{s}').exists() for s in ('', '-wal', '-shm')):
        target = path.with_name(f'{path.name}{DAMAGED_SUFFIX}{stamp}-{n}')
        n += 1
    os.rename(path, target)
    for suffix in ('-wal', '-shm'):
        side = Path(f'{path}{suffix}')
        if side.exists():
            os.rename(side, Path(f'{target}{suffix}'))
    return target


# ---- salvage -------------------------------------------------------------------------
def _rows(conn: sqlite3.Connection, table: str, columns: str, problems: list[str]
          ) -> list[tuple]:
    """Every row of `table` that still reads: a scan, then rowid ranges past the damage."""
    got: dict[int, tuple] = {}
    try:
        for row in conn.execute(f'SELECT rowid, {columns} FROM {table}'):  # noqa: S608
            got[row[0]] = row[1:]
        return list(got.values())
    except sqlite3.DatabaseError as exc:
        if got or not str(exc).startswith('no such table'):
            problems.append(f'{table}: {describe(exc)}')
        if str(exc).startswith('no such table') or 'not a database' in str(exc):
            return list(got.values())
    try:
        top = conn.execute(f'SELECT max(rowid) FROM {table}').fetchone()[0] or 0  # noqa: S608
    except sqlite3.DatabaseError:
        top = 0
    top = max(top, max(got, default=0) + 4096)
    lost = 0
    step = 256
    for lo in range(1, top + 1, step):
        try:
            for row in conn.execute(f'SELECT rowid, {columns} FROM {table} '  # noqa: S608
                                    'WHERE rowid BETWEEN ? AND ?', (lo, lo + step - 1)):
                got[row[0]] = row[1:]
        except sqlite3.DatabaseError:
            for rowid in range(lo, lo + step):
                try:
                    row = conn.execute(f'SELECT rowid, {columns} FROM {table} '  # noqa: S608
                                       'WHERE rowid=?', (rowid,)).fetchone()
                except sqlite3.DatabaseError:
                    lost += 1
                    continue
                if row is not None:
                    got[row[0]] = row[1:]
    if lost:
        problems.append(f'{table}: rows past the damage may be lost ({lost} rowid probes '
                        'failed)')
    return list(got.values())


_ID_NUMBER = re.compile(r'(\d+)$')


def _max_id_number(ids: Iterable[str]) -> int:
    best = 0
    for nid in ids:
        m = _ID_NUMBER.search(nid or '')
        if m:
            best = max(best, int(m.group(1)))
    return best


def salvage(path: Path, graph: SceneGraph, timeline: Timeline | None) -> list[str]:
    """Fill an empty `graph`/`timeline` with every row of a damaged database that reads.

    Returns what could not be read. Ids stay above every id seen, so none is reused.
    """
    with tempfile.TemporaryDirectory(prefix='memory-salvage-') as tmp:
        # A private copy: the damaged file stays exactly as it was found.
        copy = Path(tmp) / 'salvage.db'
        try:
            shutil.copyfile(path, copy)
            if Path(f'{path}-wal').is_file():
                shutil.copyfile(Path(f'{path}-wal'), Path(f'{copy}-wal'))
            present = _fit_header_to_file(copy)
            if present:
                _drop_missing_tables(copy, present)
            conn = sqlite3.connect(str(copy))
        except (OSError, sqlite3.Error) as exc:
            return [f'cannot open: {describe(exc)}']
        try:
            problems = _salvage_rows(conn, graph, timeline)
        finally:
            conn.close()
    # Ids are never reused, even when the rows that held the counter are gone: the
    # highest id written anywhere in the file bounds it.
    graph.id_counter = max(graph.id_counter, _max_id_in_bytes(path))
    return problems


#: A node id in any page (a layer letter and six or more digits; a rare false match in
#: binary data only makes new ids skip some numbers).
_ID_IN_ROW = re.compile(rb'(?<![A-Za-z0-9])[brpfoa](\d{6,9})(?![0-9])')


def _max_id_in_bytes(path: Path) -> int:
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    return max((int(m.group(1)) for m in _ID_IN_ROW.finditer(data)), default=0)


def _drop_missing_tables(copy: Path, present: int) -> None:
    """Forget (in the private copy) tables whose root page was cut off.

    SQLite refuses the whole schema when one root page lies past the end; without
    them the other tables read.
    """
    conn = sqlite3.connect(str(copy))
    try:
        conn.execute('PRAGMA writable_schema=ON')
        conn.execute('DELETE FROM sqlite_master WHERE rootpage > ?', (present,))
        conn.commit()
    except sqlite3.Error:
        pass  # the schema page itself is damaged: the scan says what reads
    finally:
        conn.close()


def _fit_header_to_file(path: Path) -> int:
    """Make a file cut short claim only the pages it still has; returns that count.

    Its header keeps the old page count, and SQLite then refuses every page as
    malformed; with the count fitted, every page that is there reads. 0: not cut.
    """
    with path.open('r+b') as f:
        head = f.read(100)
        if len(head) < 100 or not head.startswith(SQLITE_MAGIC):
            return 0
        page = struct.unpack('>H', head[16:18])[0]
        page = 65536 if page == 1 else page
        claimed = struct.unpack('>I', head[28:32])[0]
        present = path.stat().st_size // page if page else 0
        if 0 < present < claimed:
            f.seek(28)
            f.write(struct.pack('>I', present))
            return present
        return 0


def _salvage_rows(conn: sqlite3.Connection, graph: SceneGraph,
                  timeline: Timeline | None) -> list[str]:
    problems: list[str] = []
    bad_rows = 0
    for data, pts, emb in _rows(conn, 'nodes', 'data, points, embedding', problems):
        try:
            graph.restore_node(node_of_row(data, pts, emb))
        except (ValueError, KeyError, TypeError, AttributeError):
            bad_rows += 1
    if bad_rows:
        problems.append(f'nodes: {bad_rows} rows that do not decode')
    for s, d, k in _rows(conn, 'edges', 'src, dst, kind', problems):
        if s in graph.nodes and d in graph.nodes:
            graph.edges.add_edge(s, d, kind=k)
    for old, new in _rows(conn, 'merged', 'old, new', problems):
        graph.merged_into[old] = new
    events = []
    for seq, nid, stamp, kind, detail in _rows(
            conn, 'history', 'seq, node_id, stamp, kind, detail', problems):
        try:
            events.append(ChangeEvent(int(seq), float(stamp), nid, kind,
                                      json.loads(detail)))
        except (ValueError, TypeError):
            continue
    for ev in sorted(events, key=lambda e: e.seq):
        if ev.node_id in graph.nodes:
            graph.history.setdefault(ev.node_id, deque(
                maxlen=graph.history_per_node)).append(ev)
    meta = dict(_rows(conn, 'meta', 'key, value', problems))
    versions = []
    if timeline is not None:
        for (data,) in _rows(conn, 'timeline', 'data', problems):
            try:
                v = NodeVersion.from_dict(json.loads(data))
            except (ValueError, KeyError, TypeError):
                continue
            if v.node_id in graph.nodes:
                versions.append(v)
    try:
        counter = int(meta.get('id_counter', 0))
        seq = int(meta.get('seq', 0))
        tl_seq = int(meta.get('timeline_seq', 0))
    except ValueError:
        counter = seq = tl_seq = 0
    ids = list(graph.nodes) + list(graph.merged_into) + list(graph.merged_into.values())
    graph.id_counter = max(counter, _max_id_number(ids))
    graph.seq = max([seq] + [ev.seq for ev in events])
    if timeline is not None and versions:
        versions.sort(key=lambda v: v.seq)
        timeline.restore(versions, None, max([tl_seq] + [v.seq for v in versions]))
    return problems


# ---- snapshots -----------------------------------------------------------------------
def _read_json_file(path: Path) -> dict:
    raw = path.read_bytes()
    if path.suffix == '.gz':
        raw = gzip.decompress(raw)
    data = json.loads(raw.decode('utf-8'))
    if not isinstance(data, dict):
        raise TypeError(f'the top level is a {type(data).__name__}, not an object')
    return data


def snapshot_candidates(db_path: Path, extra: Sequence[str | Path] = ()) -> list[Path]:
    """JSON memory snapshots next to `db_path` and the `extra` ones, newest first."""
    found = {Path(p).expanduser() for p in extra if p}
    with contextlib.suppress(OSError):  # an unreadable directory: the extra ones only
        found.update(p for p in db_path.parent.iterdir()
                     if p.name.endswith(('.json', '.json.gz')) and p.is_file())

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return -1.0

    return sorted((p for p in found if mtime(p) >= 0), key=mtime, reverse=True)


def load_snapshot(path: Path, graph: SceneGraph, timeline: Timeline | None) -> None:
    """Fill an empty graph from a JSON snapshot; MemoryFileError if it does not read."""
    try:
        graph_from_dict(_read_json_file(path), graph, timeline)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MemoryFileError(path, describe(exc)) from None
    except ValueError as exc:
        cause = str(exc) if 'schema version' in str(exc) else \
            f'not a memory file: a field has the wrong type or value ({exc})'
        raise MemoryFileError(path, cause) from None
    except READ_ERRORS as exc:
        raise MemoryFileError(path, describe(exc)) from None


# ---- opening -------------------------------------------------------------------------
def _reset(graph: SceneGraph, timeline: Timeline | None) -> None:
    graph.clear()
    if timeline is not None:
        timeline.clear()


def open_memory_database(path: str | Path, config: PersistenceConfig, graph: SceneGraph,
                         timeline: Timeline | None,
                         snapshots: Sequence[str | Path] = ()
                         ) -> tuple[SqliteStore | None, OpenReport]:
    """Open (or create) the memory database at `path` into an empty `graph`/`timeline`.

    Returns the store (None when the file cannot be written: the graph is served from
    RAM) and a report of what happened. See the module docstring for the rules.
    """
    path = Path(path)
    report = OpenReport(path)
    if path.is_dir():
        raise MemoryFileError(path, 'is a directory, not a memory database file')
    existed = path.exists()
    cause = ''
    if existed:
        try:
            cause = diagnose(path)
        except (OSError, sqlite3.Error) as exc:
            if not is_access(exc) and not isinstance(exc, OSError):
                raise MemoryFileError(path, describe(exc)) from None
            return None, _read_only(path, graph, timeline, report, describe(exc))
    if not cause:
        try:
            store = SqliteStore(path, config)
        except SchemaVersionError:
            raise  # a newer build's file: refused as it is, never moved or changed
        except (OSError, sqlite3.Error) as exc:
            if is_access(exc) or isinstance(exc, OSError):
                if existed:
                    return None, _read_only(path, graph, timeline, report, describe(exc))
                report.state, report.cause = 'read_only', (
                    f'cannot create it: {describe(exc)} (is the directory '
                    f'{str(path.parent)!r} writable?)')
                return None, report
            if not is_damage(exc):
                raise MemoryFileError(path, describe(exc)) from None
            cause = describe(exc)
        else:
            try:
                report.nodes = store.load(graph, timeline)
                report.state = 'ok' if existed and path.stat().st_size else 'created'
                return store, report
            except READ_ERRORS as exc:
                with contextlib.suppress(sqlite3.Error):  # its checkpoint may fail too
                    store.close()
                if not is_damage(exc):
                    raise MemoryFileError(path, describe(exc)) from None
                cause = f'a row does not read: {describe(exc)}'
    _reset(graph, timeline)
    report.state, report.cause = 'recovered', cause
    report.moved_to = move_aside(path)
    report.unreadable = salvage(report.moved_to, graph, timeline)
    kept = sum(1 for n in graph.nodes.values() if n.layer not in ('building',))
    report.source = f'the damaged file ({len(graph.nodes)} nodes readable)'
    if not kept:
        floor = graph.id_counter  # ids seen in the damaged file are never reused
        _reset(graph, timeline)
        for candidate in snapshot_candidates(path, snapshots):
            try:
                load_snapshot(candidate, graph, timeline)
            except MemoryFileError as exc:
                report.unreadable.append(f'snapshot {exc}')
                _reset(graph, timeline)
                continue
            report.source = f'the snapshot {str(candidate)!r}'
            break
        graph.id_counter = max(graph.id_counter, floor)
    report.nodes = len(graph.nodes)
    store = SqliteStore(path, config)
    store.write_all(graph, timeline)
    graph.drain()
    if timeline is not None:
        timeline.drain()
    return store, report


def _read_only(path: Path, graph: SceneGraph, timeline: Timeline | None,
               report: OpenReport, cause: str) -> OpenReport:
    """Read `path` from a private copy into `graph` (nothing is written to it)."""
    report.state, report.cause = 'read_only', cause
    _reset(graph, timeline)
    report.nodes = _read_copy(path, graph, timeline)
    return report


def _read_copy(path: Path, graph: SceneGraph, timeline: Timeline | None) -> int:
    """Read a SQLite memory file through a private copy (with its WAL): never written."""
    with tempfile.TemporaryDirectory(prefix='memory-read-') as tmp:
        copy = Path(tmp) / path.name
        try:
            shutil.copyfile(path, copy)
            wal = Path(f'{path}-wal')
            if wal.is_file():
                shutil.copyfile(wal, Path(f'{copy}-wal'))
        except OSError as exc:
            raise MemoryFileError(path, f'cannot read it: {describe(exc)}') from None
        try:
            # A private copy: an older schema may be migrated in it, the user's file not.
            store = SqliteStore(copy, PersistenceConfig(checkpoint_interval_s=0.0))
        except READ_ERRORS as exc:
            raise MemoryFileError(path, describe(exc)) from None
        try:
            return store.load(graph, timeline)
        except READ_ERRORS as exc:
            raise MemoryFileError(path, describe(exc)) from None
        finally:
            store.close()


def read_memory_file(path: str | Path, graph: SceneGraph, timeline: Timeline | None) -> None:
    """Fill an empty graph from a user's memory file (SQLite or JSON); never writes to it.

    Raises MemoryFileError naming the file and the cause (missing, damaged, truncated,
    wrong types, newer schema).
    """
    p = Path(path)
    if not p.is_file():
        raise MemoryFileError(p, 'no such file' if not p.exists() else 'not a regular file')
    if p.suffix in SQLITE_SUFFIXES:
        with p.open('rb') as f:
            head = f.read(len(SQLITE_MAGIC))
        if head != SQLITE_MAGIC:
            raise MemoryFileError(p, f'not a SQLite database (first bytes {head[:16]!r})')
        _read_copy(p, graph, timeline)
        return
    load_snapshot(p, graph, timeline)
