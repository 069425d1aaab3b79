"""SQLite (WAL) storage of the scene graph: every confirmed change is durable.

Each `commit` writes what changed since the last one (dirty nodes with their outgoing
edges, removals, merges, history events, id counters) in one transaction, so a process
killed at any instant leaves the last committed graph intact; WAL with synchronous
NORMAL survives a process kill (only an OS crash or power cut may lose the newest
transactions; use FULL for that). Tentative nodes are not written: they are not yet
knowledge. The file carries a schema version; an older file is migrated when opened
(version 1 had no timeline table: it is added, and the timeline starts from the graph
as it is), a newer one is refused. `apply_retention` bounds the timeline and history
tables by the retention policy.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import weakref
from pathlib import Path

import numpy as np

from memory_nodes.memory.config import PersistenceConfig
from memory_nodes.memory.export import SCHEMA_VERSION, node_from_dict, node_to_dict
from memory_nodes.memory.scene_graph import ChangeEvent, SceneGraph, SceneNode
from memory_nodes.memory.timeline import NodeVersion, Timeline

_LOG = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY, layer TEXT NOT NULL, label TEXT NOT NULL, status TEXT NOT NULL,
    data TEXT NOT NULL, points BLOB, embedding BLOB);
CREATE TABLE IF NOT EXISTS edges (
    src TEXT NOT NULL, dst TEXT NOT NULL, kind TEXT NOT NULL, PRIMARY KEY (src, dst));
CREATE INDEX IF NOT EXISTS edges_dst ON edges (dst);
CREATE TABLE IF NOT EXISTS merged (old TEXT PRIMARY KEY, new TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY, node_id TEXT NOT NULL, stamp REAL NOT NULL,
    kind TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS history_node ON history (node_id);
CREATE TABLE IF NOT EXISTS timeline (
    seq INTEGER PRIMARY KEY, node_id TEXT NOT NULL, stamp REAL NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS timeline_node ON timeline (node_id, seq);
"""


def _checkpoint_loop(path: Path, interval: float, stop: threading.Event,
                     count: list[int]) -> None:
    """Checkpoint the WAL of `path` every `interval` s until `stop` is set."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        conn.execute('PRAGMA busy_timeout=1000')
        while not stop.wait(interval):
            try:
                conn.execute('PRAGMA wal_checkpoint(PASSIVE)')
                count[0] += 1
            except sqlite3.Error as exc:  # busy, locked or gone: the next round retries
                _LOG.debug('WAL checkpoint skipped: %s', exc)
    finally:
        conn.close()


def read_tables(conn: sqlite3.Connection, graph: SceneGraph,
                timeline: Timeline | None = None) -> int:
    """Fill an empty `graph` (and `timeline`) from an open memory database.

    Returns the node count; sqlite3.DatabaseError, ValueError, KeyError or TypeError when
    a page or a row cannot be read.
    """
    from collections import deque

    cur = conn.execute('SELECT data, points, embedding FROM nodes')
    for data, pts, emb in cur:
        graph.restore_node(node_of_row(data, pts, emb))
    for s, d, k in conn.execute('SELECT src, dst, kind FROM edges'):
        if s in graph.nodes and d in graph.nodes:
            graph.edges.add_edge(s, d, kind=k)
    graph.merged_into.update(dict(conn.execute('SELECT old, new FROM merged')))
    for seq, nid, stamp, kind, detail in conn.execute(
            'SELECT seq, node_id, stamp, kind, detail FROM history ORDER BY seq'):
        hist = graph.history.setdefault(nid, deque(maxlen=graph.history_per_node))
        hist.append(ChangeEvent(seq, stamp, nid, kind, json.loads(detail)))
    meta = dict(conn.execute('SELECT key, value FROM meta'))
    graph.id_counter = max(graph.id_counter, int(meta.get('id_counter', 0)))
    graph.seq = max(graph.seq, int(meta.get('seq', 0)))
    if timeline is not None:
        versions = [NodeVersion.from_dict(json.loads(data)) for (data,) in
                    conn.execute('SELECT data FROM timeline ORDER BY seq')]
        horizon = meta.get('timeline_horizon')
        timeline.restore(versions, float(horizon) if horizon else None,
                         int(meta.get('timeline_seq', 0)))
    return len(graph.nodes)


def node_of_row(data: str, pts: bytes | None, emb: bytes | None) -> SceneNode:
    """A SceneNode from a stored row (JSON fields, float32 points and embedding)."""
    node = node_from_dict(json.loads(data))
    if pts is not None:
        node.points = np.frombuffer(pts, dtype=np.float32).reshape(-1, 3).copy()
    if emb is not None:
        node.embedding = np.frombuffer(emb, dtype=np.float32).copy()
    return node


def row_of_node(node: SceneNode) -> tuple[str, bytes | None, bytes | None]:
    """A node as stored: (JSON fields without the cloud, float32 points, embedding)."""
    pts = node.points.astype(np.float32).tobytes() if node.points is not None else None
    emb = node.embedding.astype(np.float32).tobytes() if node.embedding is not None else None
    return json.dumps(node_to_dict(node, include_points=False)), pts, emb


#: SQLite result codes of a write that failed for a reason outside this process (disk
#: full, I/O error, file or directory made read-only, another writer): the changes stay
#: pending and the next commit retries them.
WRITE_FAILURES = frozenset({
    'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_BUSY',
    'SQLITE_LOCKED', 'SQLITE_PERM'})


def error_name(exc: BaseException) -> str:
    """The primary SQLite result code name of `exc` ('SQLITE_FULL', ...; '' if none)."""
    name = getattr(exc, 'sqlite_errorname', '') or ''
    # Extended codes (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED) keep the primary prefix.
    for primary in ('SQLITE_IOERR', 'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_BUSY',
                    'SQLITE_LOCKED', 'SQLITE_CORRUPT'):
        if name.startswith(primary):
            return primary
    return name


#: Older schema versions this build migrates when it opens them.
MIGRATABLE = (1,)


class SchemaVersionError(RuntimeError):
    """The database was written by a build with another schema version."""


class SqliteStore:
    """One SQLite file holding one scene graph."""

    def __init__(self, path: str | Path, config: PersistenceConfig | None = None) -> None:
        self.path = Path(path)
        self.config = config or PersistenceConfig()
        self.conn = sqlite3.connect(str(self.path), isolation_level=None,
                                    check_same_thread=False)
        try:
            self._open()
        except BaseException:
            self.conn.close()  # a file that cannot be opened leaves no connection behind
            raise

    def _open(self) -> None:
        self.conn.execute('PRAGMA journal_mode=WAL')
        sync = self.config.synchronous.upper()
        if sync not in ('OFF', 'NORMAL', 'FULL', 'EXTRA'):
            raise ValueError(f'bad synchronous mode {sync!r}')
        self.conn.execute(f'PRAGMA synchronous={sync}')
        self.conn.executescript(_SCHEMA)
        if self.config.max_size_mb < 0:
            raise ValueError(f'max_size_mb must be >= 0, got {self.config.max_size_mb}')
        if self.config.max_size_mb > 0:
            page = self.conn.execute('PRAGMA page_size').fetchone()[0]
            pages = max(1, int(self.config.max_size_mb * 1e6 // page))
            self.conn.execute(f'PRAGMA max_page_count={pages}')
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        self.migrated_from: int | None = None
        if row is None:
            self.conn.execute("INSERT INTO meta VALUES ('schema_version', ?)",
                              (str(SCHEMA_VERSION),))
        elif int(row[0]) in MIGRATABLE:
            # The tables a newer schema adds were created above (IF NOT EXISTS).
            self.conn.execute("UPDATE meta SET value=? WHERE key='schema_version'",
                              (str(SCHEMA_VERSION),))
            self.migrated_from = int(row[0])
            _LOG.info('%s migrated from scene graph schema version %s to %d',
                      self.path.name, row[0], SCHEMA_VERSION)
        elif int(row[0]) != SCHEMA_VERSION:
            raise SchemaVersionError(
                f'{self.path.name} has scene graph schema version {row[0]}, this build '
                f'reads version {SCHEMA_VERSION}: open another file or migrate it')
        self.commits = 0
        #: Why the last commit could not be written ('' when the last one was).
        self.write_error = ''
        #: Commits that failed (disk full, I/O, read-only) and were kept for a retry.
        self.failed_commits = 0
        self._checkpoint_count = [0]
        self._stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        interval = self.config.checkpoint_interval_s
        if interval < 0:
            raise ValueError(f'checkpoint_interval_s must be >= 0, got {interval}')
        if interval > 0:
            # Commits only append to the WAL; a background connection copies it into the
            # database (sqlite3 releases the GIL while it works). The thread holds no
            # reference to the store: a store dropped without close() stops it too.
            self.conn.execute('PRAGMA wal_autocheckpoint=0')
            weakref.finalize(self, self._stop.set)
            self._checkpointer = threading.Thread(
                target=_checkpoint_loop, name='sqlite-checkpoint', daemon=True,
                args=(self.path, interval, self._stop, self._checkpoint_count))
            self._checkpointer.start()

    @property
    def checkpoints(self) -> int:
        """WAL checkpoints the background thread has run."""
        return self._checkpoint_count[0]

    def close(self) -> None:
        """Stop the checkpointer, checkpoint everything and close the database."""
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join(timeout=5.0)
            self._checkpointer = None
        try:
            self.conn.execute('PRAGMA wal_checkpoint(TRUNCATE)')
        except sqlite3.Error as exc:  # a full disk: the WAL still holds every commit
            _LOG.warning('%s: final checkpoint failed (%s); the WAL keeps the commits',
                         self.path, exc)
        finally:
            self.conn.close()

    def load(self, graph: SceneGraph, timeline: Timeline | None = None) -> int:
        """Fill an empty `graph` (and `timeline`) from the database; return the node count."""
        return read_tables(self.conn, graph, timeline)

    def commit(self, graph: SceneGraph, timeline: Timeline | None = None) -> int:
        """Write every change since the last commit in one transaction.

        Returns the number of node rows written. Dirty tentative nodes are skipped (they
        are written when they are confirmed, which touches them again). New timeline
        versions are appended.
        """
        dirty, removed, journal = graph.drain()
        versions = timeline.drain() if timeline is not None else []
        if not dirty and not removed and not journal and not versions:
            return 0
        rows = []
        edge_rows: list[tuple[str, str, str]] = []
        written = []
        for nid in dirty:
            node = graph.nodes.get(nid)
            if node is None or node.status == 'tentative':
                continue
            data, pts, emb = row_of_node(node)
            rows.append((nid, node.layer, node.label, node.status, data, pts, emb))
            written.append(nid)
            edge_rows.extend((nid, dst, kind) for dst, kind in graph.out_edges(nid))
        c = self.conn
        c.execute('BEGIN IMMEDIATE')
        try:
            for nid in removed:
                c.execute('DELETE FROM nodes WHERE id=?', (nid,))
                c.execute('DELETE FROM edges WHERE src=? OR dst=?', (nid, nid))
                if nid in graph.merged_into:
                    c.execute('INSERT OR REPLACE INTO merged VALUES (?, ?)',
                              (nid, graph.merged_into[nid]))
            c.executemany('INSERT OR REPLACE INTO nodes VALUES (?, ?, ?, ?, ?, ?, ?)', rows)
            c.executemany('DELETE FROM edges WHERE src=?', [(n,) for n in written])
            c.executemany('INSERT OR REPLACE INTO edges VALUES (?, ?, ?)', edge_rows)
            c.executemany('INSERT OR REPLACE INTO history VALUES (?, ?, ?, ?, ?)', [
                (ev.seq, ev.node_id, ev.stamp, ev.kind, json.dumps(ev.detail))
                for ev in journal])
            c.executemany('INSERT OR REPLACE INTO timeline VALUES (?, ?, ?, ?)', [
                (v.seq, v.node_id, v.stamp, json.dumps(v.to_dict())) for v in versions])
            meta = [('id_counter', str(graph.id_counter)), ('seq', str(graph.seq))]
            if timeline is not None:
                meta += [('timeline_seq', str(timeline.seq)),
                         ('timeline_horizon', '' if timeline.horizon is None
                          else repr(timeline.horizon))]
            c.executemany('INSERT OR REPLACE INTO meta VALUES (?, ?)', meta)
            c.execute('COMMIT')
        except BaseException as exc:
            self._rollback()
            # Put the changes back so the next commit retries them.
            graph.dirty |= dirty
            graph.removed |= removed
            graph.journal[:0] = journal
            if timeline is not None:
                timeline.journal[:0] = versions
            if isinstance(exc, sqlite3.Error) and error_name(exc) in WRITE_FAILURES:
                self._write_failed(exc, len(dirty) + len(removed))
                return 0
            raise
        if self.write_error:
            _LOG.warning('%s: writes resumed after %d failed commits (%s); every pending '
                         'change is written', self.path, self.failed_commits,
                         self.write_error)
            self.write_error = ''
        self.commits += 1
        return len(rows)

    def _rollback(self) -> None:
        # SQLite may have rolled back already (disk full, I/O error): nothing to undo.
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute('ROLLBACK')

    def _write_failed(self, exc: sqlite3.Error, pending: int) -> None:
        """A commit failed for an outside reason: log it (once per cause), keep serving."""
        cause = f'{error_name(exc)}: {exc}'
        self.failed_commits += 1
        if cause != self.write_error:
            _LOG.error('%s: cannot write the memory database (%s); the memory keeps '
                       'serving from RAM and %d changed nodes stay pending until a write '
                       'succeeds', self.path, cause, pending)
        self.write_error = cause

    def write_all(self, graph: SceneGraph, timeline: Timeline | None = None) -> None:
        """Write the whole graph and timeline (save-to-file), replacing the file's content."""
        c = self.conn
        c.execute('BEGIN IMMEDIATE')
        for table in ('nodes', 'edges', 'merged', 'history', 'timeline'):
            c.execute(f'DELETE FROM {table}')
        c.execute('COMMIT')
        saved = (graph.dirty, graph.removed, graph.journal)
        graph.dirty = set(graph.nodes)
        graph.removed = set(graph.merged_into)
        graph.journal = [ev for h in graph.history.values() for ev in h]
        tl_saved = timeline.journal if timeline is not None else []
        if timeline is not None:
            timeline.journal = [v for vs in timeline.versions.values() for v in vs]
        try:
            self.commit(graph, timeline)
        finally:
            graph.dirty, graph.removed, graph.journal = saved
            if timeline is not None:
                timeline.journal = tl_saved

    def apply_retention(self, timeline: Timeline | None, history_cut: float | None,
                        history_per_node: int) -> int:
        """Bound the stored timeline and change history; returns the rows deleted.

        Timeline rows follow what `timeline.compact` dropped; history rows older than
        `history_cut` go, and each node keeps at most `history_per_node` (0: no cap).
        """
        compacted = timeline.take_compacted() if timeline is not None else {}
        c = self.conn
        before = c.total_changes
        c.execute('BEGIN IMMEDIATE')
        try:
            for nid, first in compacted.items():
                if first:
                    c.execute('DELETE FROM timeline WHERE node_id=? AND seq<?', (nid, first))
                else:
                    c.execute('DELETE FROM timeline WHERE node_id=?', (nid,))
            if history_cut is not None:
                c.execute('DELETE FROM history WHERE stamp<?', (history_cut,))
            if history_per_node > 0:
                c.execute('DELETE FROM history WHERE seq IN (SELECT seq FROM (SELECT seq, '
                          'ROW_NUMBER() OVER (PARTITION BY node_id ORDER BY seq DESC) AS k '
                          'FROM history) WHERE k>?)', (history_per_node,))
            if timeline is not None:
                c.execute('INSERT OR REPLACE INTO meta VALUES (?, ?)', (
                    'timeline_horizon',
                    '' if timeline.horizon is None else repr(timeline.horizon)))
            c.execute('COMMIT')
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error) and error_name(exc) in WRITE_FAILURES:
                # Retention is retried at its next turn; nothing it deletes is needed.
                self._write_failed(exc, 0)
                return 0
            raise
        return c.total_changes - before
