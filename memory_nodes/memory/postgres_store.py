"""A scene graph shared by several robots in one PostgreSQL database.

Each robot keeps its whole graph in its own process (fusion and queries never wait for
the network) and `PostgresStore` makes it shared:

- **Writes** (`commit`) are serialized on the calling thread (as cheap as SQLite's) and
  queued; a writer thread sends them in transactions, in order. While the server is
  unreachable they stay queued (`pending_writes`) and the writer reconnects with backoff:
  the robot keeps serving from its own graph.
- **Every transaction takes one change number** from a sequence, under a transaction-level
  advisory lock, so change numbers commit in order. Rows carry the number of the
  transaction that last wrote them; a robot fetches everything above the number it has
  seen, so nothing is missed and nothing is applied twice.
- **Other robots hear of it** through `LISTEN/NOTIFY` (a notification per transaction,
  sent at commit) and also poll every `poll_s`, so a lost notification only delays.
- **Conflicts** are settled in the upsert itself by the rules in `remote_changes`
  (newer evidence wins; merges keep the smaller id and never close a cycle). A write
  that lost is answered with the stored row, which the robot adopts.

The schema is versioned (`em_schema`) and migrated on start-up under the same lock. The
tables are prefixed `em_` so the memory can live in a database that holds other things.
The connection string is a libpq DSN (or empty: the standard `PG*` variables); its
password is never logged (`safe_dsn`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from memory_nodes.memory.persistence import node_of_row, row_of_node
from memory_nodes.memory.remote_changes import (
    RemoteBatch,
    RemoteNode,
    evidence_stamp,
)
from memory_nodes.memory.scene_graph import ChangeEvent, SceneGraph
from memory_nodes.memory.timeline import NodeVersion, Timeline

_LOG = logging.getLogger(__name__)

#: The schema this build writes; `MIGRATIONS[v]` brings a database from v - 1 to v.
PG_SCHEMA_VERSION = 1

#: Each start of a robot mints ids from its own range (start n: from (n - 1) x this), so
#: an id published before a kill -9 but never stored is not given to another object.
BOOT_ID_STRIDE = 1_000_000
MIGRATIONS: dict[int, list[str]] = {
    1: [
        'CREATE TABLE IF NOT EXISTS em_meta (key text PRIMARY KEY, value text NOT NULL)',
        'CREATE SEQUENCE IF NOT EXISTS em_change_seq',
        """CREATE TABLE IF NOT EXISTS em_nodes (
            id text PRIMARY KEY, layer text NOT NULL, label text NOT NULL,
            status text NOT NULL, data text NOT NULL, points bytea, embedding bytea,
            x double precision, y double precision, z double precision, room text,
            evidence double precision NOT NULL, robot_id text NOT NULL,
            version bigint NOT NULL, change_seq bigint NOT NULL,
            deleted boolean NOT NULL DEFAULT false, merged_into text)""",
        'CREATE INDEX IF NOT EXISTS em_nodes_change ON em_nodes (change_seq)',
        'CREATE INDEX IF NOT EXISTS em_nodes_label ON em_nodes (label) WHERE NOT deleted',
        'CREATE INDEX IF NOT EXISTS em_nodes_xy ON em_nodes (x, y) WHERE NOT deleted',
        """CREATE TABLE IF NOT EXISTS em_edges (
            src text NOT NULL, dst text NOT NULL, kind text NOT NULL,
            PRIMARY KEY (src, dst))""",
        'CREATE INDEX IF NOT EXISTS em_edges_dst ON em_edges (dst)',
        """CREATE TABLE IF NOT EXISTS em_history (
            robot_id text NOT NULL, seq bigint NOT NULL, node_id text NOT NULL,
            stamp double precision NOT NULL, kind text NOT NULL, detail text NOT NULL,
            change_seq bigint NOT NULL, PRIMARY KEY (robot_id, seq))""",
        'CREATE INDEX IF NOT EXISTS em_history_change ON em_history (change_seq)',
        'CREATE INDEX IF NOT EXISTS em_history_node ON em_history (node_id)',
        """CREATE TABLE IF NOT EXISTS em_timeline (
            robot_id text NOT NULL, seq bigint NOT NULL, node_id text NOT NULL,
            stamp double precision NOT NULL, data text NOT NULL,
            PRIMARY KEY (robot_id, seq))""",
    ],
}
#: The advisory lock every writer takes (and the migration): change numbers in order.
LOCK_KEY = 0x656D_6D65  # 'emme'
CHANNEL = 'em_changes'

_UPSERT = """
INSERT INTO em_nodes AS n (id, layer, label, status, data, points, embedding, x, y, z,
    room, evidence, robot_id, version, change_seq, deleted, merged_into)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s, false, NULL)
ON CONFLICT (id) DO UPDATE SET layer = excluded.layer, label = excluded.label,
    status = excluded.status, data = excluded.data, points = excluded.points,
    embedding = excluded.embedding, x = excluded.x, y = excluded.y, z = excluded.z,
    room = excluded.room, evidence = excluded.evidence, robot_id = excluded.robot_id,
    version = n.version + 1, change_seq = excluded.change_seq
WHERE NOT n.deleted AND (excluded.evidence > n.evidence OR (
    excluded.evidence = n.evidence AND excluded.robot_id = n.robot_id))
RETURNING id, version
"""
_TOMBSTONE = """
UPDATE em_nodes SET deleted = true, merged_into = %s, robot_id = %s,
    version = version + 1, change_seq = %s, points = NULL, embedding = NULL
WHERE id = %s AND NOT deleted RETURNING version
"""
_FETCH_COLUMNS = ('id, data, points, embedding, deleted, merged_into, version, robot_id, '
                  'evidence, change_seq')


class PostgresSchemaError(RuntimeError):
    """The database holds a memory schema newer than this build reads."""


def safe_dsn(dsn: str) -> str:
    """`dsn` for logs: every password replaced by '***'."""
    if not dsn:
        return '(PG* environment)'
    try:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo
        parts = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - a DSN that does not parse is still never logged
        return '(unparsable DSN)'
    if 'password' in parts:
        parts['password'] = '***'
    return make_conninfo(**parts)


@dataclass
class WriteBatch:
    """One commit's changes, serialized on the committing thread."""

    rows: list[tuple] = field(default_factory=list)
    edges: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    removed: list[tuple[str, str | None]] = field(default_factory=list)
    history: list[tuple] = field(default_factory=list)
    timeline: list[tuple] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, float] = field(default_factory=dict)
    retention: tuple[dict[str, int], float | None, int] | None = None
    queued_at: float = 0.0


class PostgresStore:
    """One robot's connection to a memory shared through PostgreSQL.

    `robot_id` names the robot: its new node ids end in '-<robot_id>', its history and
    timeline rows are its own. `on_remote(batch)` is called (from the listener thread)
    with what other robots changed; set it before `start`. `poll_s`: how often to look
    for changes without a notification; `retry_s`: the longest wait between reconnects.
    """

    def __init__(self, dsn: str, robot_id: str, poll_s: float = 1.0,
                 retry_s: float = 2.0, connect_timeout_s: float = 5.0) -> None:
        import psycopg  # imported here: the SQLite path needs no PostgreSQL client

        if not robot_id or not all(c.isalnum() or c == '_' for c in robot_id):
            raise ValueError(f'robot_id must be letters, digits or _, got {robot_id!r}')
        self._psycopg = psycopg
        self.dsn = dsn
        self.robot_id = robot_id
        self.poll_s = float(poll_s)
        self.retry_s = float(retry_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.on_remote: Callable[[RemoteBatch], None] | None = None
        self.write_error = ''
        self.failed_commits = 0
        self.commits = 0
        self.rejected_batches = 0
        self.applied_batches = 0
        self.cursor = 0
        #: Node id -> the stored version this robot holds (written or applied).
        self.known_version: dict[str, int] = {}
        #: Node id -> evidence of this robot's writes still queued.
        self.pending: dict[str, float] = {}
        self.sync_ms: deque[float] = deque(maxlen=1000)
        self._queue: deque[WriteBatch] = deque()
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards known_version, pending, cursor
        #: One delivery at a time (listener, adoption): a row is applied only when newer
        #: than what the robot holds, checked and applied under this lock.
        self._deliver_lock = threading.RLock()
        self._one_at_a_time = False
        self._writer: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._conn = self._connect()
        self._migrate()

    # ---- connections ---------------------------------------------------------------
    def _connect(self, autocommit: bool = False):
        return self._psycopg.connect(self.dsn, autocommit=autocommit,
                                     connect_timeout=max(1, int(self.connect_timeout_s)),
                                     application_name=f'embodied_memory:{self.robot_id}')

    def _migrate(self) -> None:
        conn = self._conn
        with conn.transaction():
            conn.execute('SELECT pg_advisory_xact_lock(%s)', (LOCK_KEY,))
            conn.execute('CREATE TABLE IF NOT EXISTS em_schema (version integer NOT NULL)')
            row = conn.execute('SELECT max(version) FROM em_schema').fetchone()
            have = int(row[0]) if row and row[0] is not None else 0
            if have > PG_SCHEMA_VERSION:
                raise PostgresSchemaError(
                    f'the database at {safe_dsn(self.dsn)} holds memory schema version '
                    f'{have}; this build reads up to {PG_SCHEMA_VERSION}: update the build')
            for version in range(have + 1, PG_SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute('INSERT INTO em_schema VALUES (%s)', (version,))
                _LOG.info('memory schema at %s migrated to version %d',
                          safe_dsn(self.dsn), version)
        self.migrated_from = have

    # ---- MemoryStore ---------------------------------------------------------------
    def load(self, graph: SceneGraph, timeline: Timeline | None = None) -> int:
        """Fill an empty `graph` (and this robot's `timeline`) from the shared store."""
        graph.id_suffix = f'-{self.robot_id}'
        conn = self._conn
        with conn.transaction():
            conn.execute('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ')
            batch = self._fetch(conn, -1)
            meta = dict(conn.execute(
                'SELECT key, value FROM em_meta WHERE key LIKE %s',
                (f'{self.robot_id}/%',)).fetchall())
            # Which start of this robot this is: ids it published but the store never
            # acknowledged (kill -9 with writes queued) must not be minted again.
            (boots,) = conn.execute(
                "INSERT INTO em_meta (key, value) VALUES (%s, '1') ON CONFLICT (key) DO "
                'UPDATE SET value = (em_meta.value::bigint + 1)::text RETURNING value',
                (f'{self.robot_id}/boots',)).fetchone()
            versions = [] if timeline is None else [
                NodeVersion.from_dict(json.loads(data)) for (data,) in conn.execute(
                    'SELECT data FROM em_timeline WHERE robot_id = %s ORDER BY seq',
                    (self.robot_id,))]
        for row in batch.nodes:
            if row.deleted:
                if row.merged_into:
                    graph.merged_into[row.id] = row.merged_into
                continue
            assert row.node is not None
            graph.restore_node(row.node)
        for row in batch.nodes:
            if row.node is not None:
                for dst, kind in row.edges:
                    if dst in graph.nodes:
                        graph.edges.add_edge(row.id, dst, kind=kind)
        for ev in sorted(batch.history, key=lambda e: (e.stamp, e.seq)):
            hist = graph.history.setdefault(ev.node_id,
                                            deque(maxlen=graph.history_per_node))
            hist.append(ev)
        key = f'{self.robot_id}/'
        graph.id_counter = max(graph.id_counter, int(meta.get(key + 'id_counter', 0)),
                               (int(boots) - 1) * BOOT_ID_STRIDE)
        graph.seq = max(graph.seq, int(meta.get(key + 'seq', 0)))
        if timeline is not None:
            horizon = meta.get(key + 'timeline_horizon')
            timeline.restore(versions, float(horizon) if horizon else None,
                             int(meta.get(key + 'timeline_seq', 0)))
        with self._lock:
            self.cursor = batch.cursor
            self.known_version = {r.id: r.version for r in batch.nodes}
        return len(graph.nodes)

    def commit(self, graph: SceneGraph, timeline: Timeline | None = None) -> int:
        """Serialize every change since the last commit and queue it for the writer."""
        dirty, removed, journal = graph.drain()
        versions = timeline.drain() if timeline is not None else []
        if not dirty and not removed and not journal and not versions:
            return 0
        batch = WriteBatch(queued_at=time.perf_counter())
        robot = self.robot_id
        for nid in dirty:
            node = graph.nodes.get(nid)
            if node is None or node.status == 'tentative':
                continue
            data, pts, emb = row_of_node(node)
            ev = evidence_stamp(node)
            x, y, z = (float(v) for v in node.position[:3])
            batch.rows.append((nid, node.layer, node.label, node.status, data, pts, emb,
                               x, y, z, node.room, ev, robot))
            batch.evidence[nid] = ev
            batch.edges[nid] = graph.out_edges(nid)
        batch.removed = [(nid, graph.merged_into.get(nid)) for nid in removed]
        batch.history = [(robot, ev.seq, ev.node_id, ev.stamp, ev.kind,
                          json.dumps(ev.detail)) for ev in journal]
        batch.timeline = [(robot, v.seq, v.node_id, v.stamp, json.dumps(v.to_dict()))
                          for v in versions]
        batch.meta = {f'{robot}/id_counter': str(graph.id_counter),
                      f'{robot}/seq': str(graph.seq)}
        if timeline is not None:
            batch.meta[f'{robot}/timeline_seq'] = str(timeline.seq)
            batch.meta[f'{robot}/timeline_horizon'] = (
                '' if timeline.horizon is None else repr(timeline.horizon))
        self._enqueue(batch)
        return len(batch.rows)

    def apply_retention(self, timeline: Timeline | None, history_cut: float | None,
                        history_per_node: int) -> int:
        """Queue the retention policy for this robot's rows; returns 0 (applied later)."""
        compacted = timeline.take_compacted() if timeline is not None else {}
        batch = WriteBatch(queued_at=time.perf_counter(),
                           retention=(compacted, history_cut, history_per_node))
        if timeline is not None:
            batch.meta[f'{self.robot_id}/timeline_horizon'] = (
                '' if timeline.horizon is None else repr(timeline.horizon))
        self._enqueue(batch)
        return 0

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is queued (waiting up to `timeout_s`), then stop and disconnect."""
        if self._writer is not None:
            self.flush(timeout_s)
        else:
            self._drain_inline()
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        for thread in (self._writer, self._listener):
            if thread is not None:
                thread.join(timeout=5.0)
        self._writer = self._listener = None
        if self._queue:
            _LOG.error('closing with %d memory writes not sent to %s (%s)',
                       len(self._queue), safe_dsn(self.dsn), self.write_error or 'timeout')
        with contextlib.suppress(Exception):  # a broken connection
            self._conn.close()

    # ---- running -------------------------------------------------------------------
    def start(self, on_remote: Callable[[RemoteBatch], None] | None = None) -> None:
        """Start the writer and the listener threads (call after `load`)."""
        if on_remote is not None:
            self.on_remote = on_remote
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, daemon=True,
                                            name=f'pg-writer-{self.robot_id}')
            self._writer.start()
        if self._listener is None:
            self._listener = threading.Thread(target=self._listen_loop, daemon=True,
                                              name=f'pg-listener-{self.robot_id}')
            self._listener.start()

    @property
    def pending_writes(self) -> int:
        """Commits queued and not yet in the store."""
        return len(self._queue)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued commit is written; False on timeout."""
        if self._writer is None:
            self._drain_inline()
            return not self._queue
        deadline = time.monotonic() + timeout_s
        with self._wake:
            while self._queue and time.monotonic() < deadline:
                self._wake.notify_all()
                self._wake.wait(0.05)
        return not self._queue

    def sync_now(self) -> int:
        """Fetch and apply what others changed, now, on this thread; returns rows seen."""
        conn = self._connect(autocommit=False)
        try:
            return self._sync(conn)
        finally:
            conn.close()

    def stats(self) -> dict[str, Any]:
        """Robot id, DSN (no password), queue, cursor, errors, sync latency."""
        ms = sorted(self.sync_ms)
        return {
            'store': 'postgres', 'dsn': safe_dsn(self.dsn), 'robot_id': self.robot_id,
            'pending_writes': self.pending_writes, 'commits': self.commits,
            'failed_commits': self.failed_commits, 'write_error': self.write_error,
            'rejected_batches': self.rejected_batches, 'cursor': self.cursor,
            'applied_batches': self.applied_batches,
            'write_ms_p50': ms[len(ms) // 2] if ms else 0.0,
            'write_ms_p95': ms[int(len(ms) * 0.95)] if ms else 0.0,
        }

    # ---- writing -------------------------------------------------------------------
    def _enqueue(self, batch: WriteBatch) -> None:
        with self._lock:
            for nid, ev in batch.evidence.items():
                self.pending[nid] = max(ev, self.pending.get(nid, float('-inf')))
        with self._wake:
            self._queue.append(batch)
            self._wake.notify_all()

    def _drain_inline(self) -> None:
        """Write the queue on this thread (before `start`, or after the threads end)."""
        while self._queue and not self._stop.is_set():
            if not self._write_next():
                break

    def _write_loop(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            with self._wake:
                if not self._queue:
                    self._wake.wait(0.5)
                    continue
            if self._write_next():
                backoff = 0.05
            else:
                self._stop.wait(backoff)
                backoff = min(self.retry_s, backoff * 2)
        with self._wake:
            self._wake.notify_all()

    def _write_next(self) -> bool:
        """Write the batches at the head of the queue in one transaction; False: retry."""
        OperationalError = (self._psycopg.OperationalError, self._psycopg.InterfaceError)
        with self._wake:
            batches = list(self._queue)[:1 if self._one_at_a_time else 32]
        try:
            if self._conn.closed or self._conn.broken:
                self._conn = self._connect()
            lost = self._write(batches)
        except OperationalError as exc:
            cause = f'{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ""}'
            self.failed_commits += 1
            if cause != self.write_error:
                _LOG.error('cannot write the shared memory at %s (%s); the robot keeps '
                           'serving from its own graph and %d commits stay queued',
                           safe_dsn(self.dsn), cause, len(self._queue))
            self.write_error = cause
            with contextlib.suppress(Exception):  # a broken connection
                self._conn.close()
            return False
        except self._psycopg.Error as exc:
            # Not the connection: a batch the server refuses (a bug, or bad data). The
            # batches are retried one by one; the one refused alone is named and set
            # aside rather than retried forever.
            with contextlib.suppress(Exception):  # a broken connection
                self._conn.rollback()
            if len(batches) > 1:
                self._one_at_a_time = True
                return True
            self.rejected_batches += 1
            _LOG.error('the shared memory refused a write (%s: %s); %d node rows set '
                       'aside', type(exc).__name__, exc, len(batches[0].rows))
            lost = []
        self._one_at_a_time = False
        if self.write_error:  # before a flush waiting on the queue can see it empty
            _LOG.warning('writes to the shared memory resumed after %d failed attempts',
                         self.failed_commits)
            self.write_error = ''
        now = time.perf_counter()
        with self._wake:
            for batch in batches:
                self._queue.popleft()
                self.sync_ms.append((now - batch.queued_at) * 1000.0)
            self._wake.notify_all()
        with self._lock:
            for batch in batches:
                for nid, ev in batch.evidence.items():
                    if self.pending.get(nid) == ev:
                        del self.pending[nid]
        if lost:
            self._adopt(lost)
        return True

    def _write(self, batches: list[WriteBatch]) -> list[str]:
        """One transaction for `batches`; returns the ids whose write lost (rule 1)."""
        conn = self._conn
        won: dict[str, int] = {}
        lost: set[str] = set()
        with conn.transaction():
            cur = conn.cursor()
            cur.execute('SELECT pg_advisory_xact_lock(%s)', (LOCK_KEY,))
            seq = cur.execute("SELECT nextval('em_change_seq')").fetchone()[0]
            for batch in batches:
                if batch.retention is not None:
                    self._retention(cur, *batch.retention)
                for nid, into in batch.removed:
                    if into is not None:
                        row = cur.execute('SELECT merged_into FROM em_nodes WHERE id = %s '
                                          'AND deleted', (into,)).fetchone()
                        if row is not None and row[0] == nid:
                            lost.add(nid)  # rule 2: a cycle; the stored survivor stays
                            continue
                    cur.execute(_TOMBSTONE, (into, self.robot_id, seq, nid))
                    got = cur.fetchone()
                    if got is not None:
                        won[nid] = got[0]
                    cur.execute('DELETE FROM em_edges WHERE src = %s OR dst = %s', (nid, nid))
                if batch.rows:
                    cur.executemany(_UPSERT, [r + (seq,) for r in batch.rows], returning=True)
                    written: set[str] = set()
                    while True:
                        got = cur.fetchone()
                        if got is not None:
                            won[got[0]] = got[1]
                            written.add(got[0])
                        if not cur.nextset():
                            break
                    lost |= {r[0] for r in batch.rows} - written
                    ids = [r[0] for r in batch.rows if r[0] in written]
                    if ids:
                        cur.execute('DELETE FROM em_edges WHERE src = ANY(%s)', (ids,))
                        edges = [(src, dst, kind) for src in ids
                                 for dst, kind in batch.edges.get(src, ())]
                        if edges:
                            cur.executemany(
                                'INSERT INTO em_edges VALUES (%s, %s, %s) ON CONFLICT '
                                '(src, dst) DO UPDATE SET kind = excluded.kind', edges)
                if batch.history:
                    cur.executemany(
                        'INSERT INTO em_history VALUES (%s, %s, %s, %s, %s, %s, %s) '
                        'ON CONFLICT DO NOTHING', [h + (seq,) for h in batch.history])
                if batch.timeline:
                    cur.executemany(
                        'INSERT INTO em_timeline VALUES (%s, %s, %s, %s, %s) ON CONFLICT '
                        '(robot_id, seq) DO UPDATE SET data = excluded.data', batch.timeline)
                if batch.meta:
                    cur.executemany(
                        'INSERT INTO em_meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE '
                        'SET value = excluded.value', list(batch.meta.items()))
            cur.execute('SELECT pg_notify(%s, %s)', (CHANNEL, f'{seq} {self.robot_id}'))
        self.commits += 1
        with self._lock:
            for nid, version in won.items():
                self.known_version[nid] = max(version, self.known_version.get(nid, 0))
        return sorted(lost - set(won))

    def _retention(self, cur: Any, compacted: dict[str, int], cut: float | None,
                   per_node: int) -> None:
        robot = self.robot_id
        for nid, first in compacted.items():
            if first:
                cur.execute('DELETE FROM em_timeline WHERE robot_id = %s AND node_id = %s '
                            'AND seq < %s', (robot, nid, first))
            else:
                cur.execute('DELETE FROM em_timeline WHERE robot_id = %s AND node_id = %s',
                            (robot, nid))
        if cut is not None:
            cur.execute('DELETE FROM em_history WHERE robot_id = %s AND stamp < %s',
                        (robot, cut))
        if per_node > 0:
            cur.execute('DELETE FROM em_history WHERE robot_id = %s AND seq IN (SELECT seq '
                        'FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY node_id ORDER BY '
                        'seq DESC) AS k FROM em_history WHERE robot_id = %s) ranked '
                        'WHERE k > %s)', (robot, robot, per_node))

    def _adopt(self, ids: list[str]) -> None:
        """Hand the stored rows this robot's writes lost to back to the robot (rule 1)."""
        conn = self._conn
        with conn.transaction():
            rows = conn.execute(f'SELECT {_FETCH_COLUMNS} FROM em_nodes WHERE id = ANY(%s)',
                                (ids,)).fetchall()
            batch = RemoteBatch(nodes=self._rows_to_nodes(conn, rows), adopt=True)
        if batch and self.on_remote is not None:
            self._deliver(batch)

    # ---- reading -------------------------------------------------------------------
    def _listen_loop(self) -> None:
        conn = None
        backoff = 0.1
        while not self._stop.is_set():
            try:
                if conn is None or conn.closed or conn.broken:
                    conn = self._connect(autocommit=True)
                    conn.execute(f'LISTEN {CHANNEL}')
                    backoff = 0.1
                    self._sync(conn)  # whatever was missed while disconnected
                # Wake on a notification, or after poll_s without one (a lost one).
                for _ in conn.notifies(timeout=self.poll_s, stop_after=1):
                    pass
                if self._stop.is_set():
                    break
                self._sync(conn)
            except (self._psycopg.OperationalError, self._psycopg.InterfaceError) as exc:
                _LOG.warning('shared memory listener lost %s (%s); reconnecting',
                             safe_dsn(self.dsn), str(exc).strip().splitlines()[0]
                             if str(exc) else type(exc).__name__)
                if conn is not None:
                    with contextlib.suppress(Exception):  # a broken connection
                        conn.close()
                conn = None
                self._stop.wait(backoff)
                backoff = min(self.retry_s, backoff * 2)
        if conn is not None:
            conn.close()

    def _sync(self, conn: Any) -> int:
        """Fetch what changed above the cursor and deliver it; returns the rows seen."""
        with self._lock:
            cursor = self.cursor
        with conn.transaction():
            conn.execute('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ')
            batch = self._fetch(conn, cursor)
        seen = len(batch.nodes) + len(batch.history)
        # Rows this robot wrote last are what it holds already (an adoption brings the
        # others' rows its writes lost to); `_deliver` keeps only newer ones (rule 3).
        batch.nodes = [r for r in batch.nodes if r.robot_id != self.robot_id]
        with self._lock:
            self.cursor = max(self.cursor, batch.cursor)
        if batch and self.on_remote is not None:
            self._deliver(batch)
        return seen

    def _deliver(self, batch: RemoteBatch) -> None:
        assert self.on_remote is not None
        with self._deliver_lock:
            # Rows were fetched a moment ago: meanwhile this robot's writer may have
            # written a newer version (and cleared its pending evidence), or another
            # delivery applied one. The versions held and the writes still queued are
            # read together, so the robot never applies a row older than what it holds.
            with self._lock:
                known = self.known_version
                batch.nodes = [r for r in batch.nodes if r.version > known.get(r.id, 0) or (
                    batch.adopt and r.version == known.get(r.id, 0))]
                batch.pending = dict(self.pending)
            if not batch:
                return
            try:
                self.on_remote(batch)
            except Exception:  # noqa: BLE001 - a bug applying must not stop the listener
                _LOG.exception('applying %d shared-memory rows failed', len(batch.nodes))
                return
            self.applied_batches += 1
            with self._lock:
                for r in batch.nodes:
                    self.known_version[r.id] = max(r.version,
                                                   self.known_version.get(r.id, 0))

    def _fetch(self, conn: Any, cursor: int) -> RemoteBatch:
        """Rows above `cursor` (all rows for -1) with their edges and others' history."""
        rows = conn.execute(f'SELECT {_FETCH_COLUMNS} FROM em_nodes WHERE change_seq > %s '
                            'ORDER BY change_seq', (cursor,)).fetchall()
        top = max((r[9] for r in rows), default=cursor)
        if cursor < 0:
            hist = conn.execute('SELECT robot_id, seq, node_id, stamp, kind, detail, '
                                'change_seq FROM em_history ORDER BY change_seq, seq'
                                ).fetchall()
        else:
            hist = conn.execute('SELECT robot_id, seq, node_id, stamp, kind, detail, '
                                'change_seq FROM em_history WHERE change_seq > %s AND '
                                'robot_id <> %s ORDER BY change_seq, seq',
                                (cursor, self.robot_id)).fetchall()
        top = max([top] + [h[6] for h in hist])
        events = [ChangeEvent(int(seq), float(stamp), nid, kind, json.loads(detail))
                  for _, seq, nid, stamp, kind, detail, _ in hist]
        return RemoteBatch(nodes=self._rows_to_nodes(conn, rows), history=events,
                           cursor=max(top, 0))

    def _rows_to_nodes(self, conn: Any, rows: list[tuple]) -> list[RemoteNode]:
        live = [r[0] for r in rows if not r[4]]
        edges: dict[str, list[tuple[str, str]]] = {}
        if live:
            for src, dst, kind in conn.execute(
                    'SELECT src, dst, kind FROM em_edges WHERE src = ANY(%s)', (live,)):
                edges.setdefault(src, []).append((dst, kind))
        out = []
        for nid, data, pts, emb, deleted, into, version, robot, ev, _ in rows:
            node = None if deleted else node_of_row(
                data, bytes(pts) if pts is not None else None,
                bytes(emb) if emb is not None else None)
            out.append(RemoteNode(nid, int(version), robot, float(ev), node, into,
                                  edges.get(nid, [])))
        return out
