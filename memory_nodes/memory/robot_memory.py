"""Both memories of one robot behind one interface: what the memory node and benches call.

`RobotMemory` owns a `LongTermMemory` (scene graph) and a `ShortTermMemory` (recent
states) wired so every short-term write is consolidated into the long-term graph. It
turns fused observations into short-term entries, answers combined queries (text, label,
room, relation, point), and hands out scene-graph deltas since the last call.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.export import CollapsedExport, graph_to_dict
from memory_nodes.memory.fusion import FusionReport
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import CameraView, ObjectObservation
from memory_nodes.memory.persistence import SqliteStore
from memory_nodes.memory.read_replica import ReadReplica
from memory_nodes.memory.recovery import MemoryFileError, describe
from memory_nodes.memory.remote_changes import RemoteBatch, evidence_stamp
from memory_nodes.memory.scene_graph import SceneNode
from memory_nodes.memory.short_term import RetrievedEntry, ShortTermConfig, ShortTermMemory
from memory_nodes.memory.state_change import StateChange
from memory_nodes.memory.store import MemoryStore
from memory_nodes.memory.timeline import Change

RELATIONS = ('on', 'in', 'near')


@dataclass
class ObjectQuery:
    """Criteria of a memory query; empty fields are unused, given ones combine with AND."""

    text: str = ''
    label: str = ''
    object_id: str = ''
    room: str = ''
    relation: str = ''
    relation_target: str = ''
    near_point: tuple[float, float, float] | None = None
    radius: float = 0.0
    top_k: int = 10

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        if self.relation and self.relation not in RELATIONS:
            raise ValueError(f'relation must be one of {RELATIONS}, got {self.relation!r}')
        if self.relation and not self.relation_target:
            raise ValueError('relation_target is required with relation')
        if self.near_point is not None and not all(math.isfinite(v) for v in self.near_point):
            raise ValueError(f'near_point must be finite, got {self.near_point}')
        if not math.isfinite(self.radius) or self.radius < 0:
            raise ValueError(f'radius must be >= 0, got {self.radius}')
        if self.top_k < 0:
            raise ValueError(f'top_k must be >= 0, got {self.top_k}')
        if len(self.text) > 2000:
            raise ValueError(f'text is {len(self.text)} characters; at most 2000')


@dataclass
class QueryHit:
    """One query result: the node, its support (parent id, relation) and a score in [0, 1]."""

    node: SceneNode
    score: float
    support: tuple[str, str] | None


@dataclass
class GraphDelta:
    """Node ids changed or removed since the previous delta, with a sequence number."""

    sequence: int
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class RobotMemory:
    """Long-term scene graph + short-term state buffer of one robot (thread-safe)."""

    def __init__(
        self,
        ltm_config: LongTermMemoryConfig | None = None,
        stm_config: ShortTermConfig | None = None,
        db_path: str | Path | None = None,
        stm_from_observations: bool = True,
        snapshots: Sequence[str | Path] = (),
        read_replica: bool = False,
        store: MemoryStore | None = None,
    ) -> None:
        self.db_path = Path(db_path) if db_path is not None else None
        # A damaged database is moved aside and recovered (rows that read, else the
        # newest of `snapshots` or of the JSON files next to it): see `open_report`.
        # With `store` (PostgreSQL), the memory is shared with other robots.
        self.ltm = LongTermMemory(ltm_config, db_path=db_path, snapshots=snapshots,
                                  store=store)
        self.shared_store = store
        self.open_report = self.ltm.open_report
        self.stm_config = stm_config or ShortTermConfig()
        self.stm = ShortTermMemory(self.stm_config, sink=self.ltm, embedder=self.ltm.embedder)
        self.stm_from_observations = stm_from_observations
        self.lock = threading.RLock()
        #: The short-term memory's own lock (inside `lock` for writers): recalls take only
        #: this one, so they do not wait for a frame's fusion, only for its short-term
        #: writes. A read is a use there (policies count it), so it is a lock, not a copy.
        self.stm_lock = threading.RLock()
        self._sequence = 0
        self._changed: set[str] = set()
        self._removed: set[str] = set()
        self._known: set[str] = set(self.ltm.graph.nodes)
        #: The skill executor's object handles -> memory node ids (see `record`).
        self._executor_ids: dict[str, str] = {}
        #: Bumped whenever the long-term memory is replaced (load, reset).
        self._generation = 0
        self._graph_json: tuple[tuple[int, ...], str] | None = None
        #: With `read_replica`, queries read a copy kept in step at every commit and
        #: never wait for fusion (a node serving many clients); without, they take
        #: `lock` (benches and tools calling from one thread).
        self.replica = ReadReplica(self.ltm) if read_replica else None
        if store is not None and hasattr(store, 'start'):
            store.start(self.apply_remote)

    def apply_remote(self, batch: RemoteBatch) -> None:
        """Apply what other robots wrote to the shared memory (the store's listener)."""
        with self.lock:
            changes = self.ltm.apply_remote(batch)
            self._track(changes.touched, changes.removed)
            self._drop_superseded(batch)

    def _drop_superseded(self, batch: RemoteBatch) -> None:
        """Short-term facts that newer evidence from other robots replaced are dropped.

        The planner reads short-term facts first: an entry of this robot's older sighting
        would keep sending it to where the object was before another robot moved it (or
        found it missing, or merged it away). The long-term node holds the newer fact.
        """
        with self.stm_lock:
            for row in batch.nodes:
                entry = self.stm.peek(row.id)
                if entry is None:
                    continue
                node = self.ltm.graph.get(row.id)
                # Applied (the node holds the row's evidence now) and newer than the entry.
                if node is None or (row.evidence > entry.stamp
                                    and evidence_stamp(node) >= row.evidence):
                    self.stm.forget(row.id)

    # ---- writing -----------------------------------------------------------------
    def observe(self, observations: Sequence[ObjectObservation],
                camera_view: CameraView | None = None) -> FusionReport:
        """Fuse one camera frame; confirmed objects seen in it become short-term entries."""
        with self.lock:
            report = self.ltm.integrate(observations, camera_view)
            if self.stm_from_observations:
                self._observed_to_stm(observations, report)
            self._track(report.associations + report.absent
                        + [keep for _, keep in report.merged],
                        [gone for gone, _ in report.merged])
            return report

    def _observed_to_stm(self, observations: Sequence[ObjectObservation],
                         report: FusionReport) -> None:
        """Confirmed objects seen in a fused frame become short-term entries."""
        stamp = max((o.stamp for o in observations), default=0.0)
        news = {nid: ['states'] for nid in report.state_changes}
        for nid in report.confirmed:
            news.setdefault(nid, []).append('confirmed')
        with self.stm_lock:
            for nid in dict.fromkeys(report.associations):
                node = self.ltm.get(nid)
                if node is None or node.status != 'confirmed' or node.layer != 'object':
                    continue
                # A sighting that changed nothing carries no news (`changed` empty):
                # eviction policies may tell it from a real use. It is read off the node
                # fusion just committed, so it is not consolidated back: that re-ran
                # relations and a database commit per object seen (20 commits for a
                # 20-object frame, ~10x the fusion time at 1,000 objects), and a frame is
                # one transaction.
                self.stm.write(self._change_of(node, stamp, 'observation',
                                               news.get(nid, [])), from_sink=True)

    def record(self, change: StateChange, executor_id: str = '') -> str:
        """A state change (own action or told): short-term entry + long-term consolidation.

        `executor_id` is the skill executor's own handle of the object (the sim bridge's
        object id; a robot's grasp or task server has one too). Once one change names both
        it and a memory node, later changes with only the handle attach to that node: the
        knife the robot carries from room to room stays one knife, even when its location
        changes arrive before the frames that show it in the hand are fused.
        """
        with self.lock:
            if executor_id and not change.object_id:
                known = self._executor_ids.get(executor_id)
                if known is not None and self.ltm.get(known) is not None:
                    change = replace(change, object_id=known)
            oid = self._write_stm(change)
            if executor_id and oid:
                self._executor_ids[executor_id] = oid
            self._track([oid] if oid else [], [])
            return oid

    def _write_stm(self, change: StateChange) -> str:
        with self.stm_lock:
            return self.stm.write(change)

    def _change_of(self, node: SceneNode, stamp: float, source: str,
                   changed: list[str]) -> StateChange:
        p = node.position
        return StateChange(
            label=node.label, stamp=float(stamp), object_id=node.id,
            position=(float(p[0]), float(p[1]), float(p[2])),
            room=self.room_name(node.room) or None,
            states={k: bool(v) for k, v in node.states.items() if isinstance(v, bool)},
            changed=changed, source=source)  # type: ignore[arg-type]

    def mark_missing(self, node_id: str, stamp: float, reason: str = 'not_found') -> bool:
        """The robot looked where memory put `node_id` and it was not there.

        Stronger evidence than a camera frame: the node becomes absent at once (its last
        position kept in its history) and its short-term entry is dropped. Returns False
        for an unknown id.
        """
        with self.lock:
            graph = self.ltm.graph
            node = graph.get(node_id)
            if node is None:
                return False
            node.status = 'absent'
            node.confidence = 0.0
            node.last_absent = float(stamp)
            if node.first_absent is None:
                node.first_absent = float(stamp)
            graph.record(node.id, 'absent', float(stamp), {
                'reason': reason,
                'last_position': [round(float(x), 4) for x in node.position]})
            graph.touch(node.id)
            self.ltm._commit(float(stamp))
            with self.stm_lock:
                if node.id in self.stm:
                    self.stm.forget(node.id)
            self._track([node.id], [])
            return True

    def room_name(self, room_id: str | None) -> str:
        """The label of a room node id ('' if unknown)."""
        node = self.ltm.graph.nodes.get(room_id or '')
        return node.label if node is not None else ''

    # ---- deltas ------------------------------------------------------------------
    def _track(self, changed: Iterable[str], removed: Iterable[str]) -> None:
        for nid in changed:
            if nid:
                self._changed.add(nid)
        for nid in removed:
            self._removed.add(nid)
            self._changed.discard(nid)

    def take_delta(self) -> GraphDelta | None:
        """Changed/removed node ids since the last call (None when nothing changed).

        Parents (rooms, places, furniture) touched by a change are included, and nodes
        that disappeared from the graph (merges, resets) are reported as removed.
        """
        with self.lock:
            nodes = self.ltm.graph.nodes
            current = set(nodes)
            vanished = (self._known - current) | {r for r in self._removed if r not in nodes}
            changed = {n for n in self._changed if n in nodes}
            for nid in list(changed):
                for parent in (nodes[nid].room,):
                    if parent and parent in nodes:
                        changed.add(parent)
            changed |= current - self._known
            self._known = current
            self._changed.clear()
            self._removed.clear()
            if not changed and not vanished:
                return None
            self._sequence += 1
            return GraphDelta(self._sequence, sorted(changed), sorted(vanished))

    @property
    def sequence(self) -> int:
        """Sequence number of the last delta handed out."""
        return self._sequence

    # ---- reading -----------------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[LongTermMemory]:
        """The long-term memory to read, held still for the `with` block.

        The read replica under its own lock when there is one (fusion goes on meanwhile),
        else the memory itself under `lock`.
        """
        replica = self.replica
        if replica is None:
            with self.lock:
                yield self.ltm
        else:
            with replica.lock:
                yield replica.ltm

    def query(self, q: ObjectQuery, as_of: float | None = None) -> list[QueryHit]:
        """Objects and furniture matching every given criterion, best score first.

        Label, room and relation filter; a point (distance) and free text (cosine
        similarity) rank. With no ranking criterion, confidence ranks. With `as_of`, the
        criteria apply to the graph as it was believed at that stamp.
        """
        q.validate()
        top_k = q.top_k or 10
        with self.reading() as now:
            if as_of is not None and q.text:
                _ = now.embedder  # created once, shared with the past graph
            ltm = now if as_of is None else now.past(as_of)
            allowed: set[str] | None = None

            def restrict(ids: Iterable[str]) -> None:
                nonlocal allowed
                allowed = set(ids) if allowed is None else allowed & set(ids)

            if q.object_id:
                node = ltm.get(q.object_id)
                restrict([node.id] if node is not None else [])
            if q.label:
                exact = [n for n in ltm.by_label(q.label) if n.status == 'confirmed']
                # A learned detector's memory: no confirmed node under this label, then the
                # nodes that may be one under another name (LongTermMemory.lookalikes).
                restrict(n.id for n in (exact or ltm.lookalikes(q.label)
                                        or ltm.by_label(q.label)))
            if q.room:
                restrict(n.id for n in ltm.in_room(q.room))
            if q.relation:
                restrict(n.id for n in ltm.related(q.relation, q.relation_target))
            nodes = ltm.graph.nodes
            dist: dict[str, float] | None = None
            if q.near_point is not None and (q.radius > 0 or allowed is None):
                # The spatial index answers without touching every node: all within the
                # radius, or (unfiltered k-nearest) just the k nearest.
                near = (ltm.within_radius(q.near_point, q.radius) if q.radius > 0 else
                        ltm.nearest(q.near_point, top_k if not q.text else len(nodes)))
                dist = {n.id: d for d, n in near}
                allowed = set(dist) if allowed is None else allowed & set(dist)
            if allowed is None:
                allowed = {n.id for n in nodes.values() if n.layer in ('object', 'furniture')}
            # Tentative nodes (seen fewer times than needed to confirm) may be noise.
            scores = {nid: float(nodes[nid].confidence) for nid in allowed
                      if nodes[nid].status == 'confirmed'
                      and nodes[nid].layer in ('object', 'furniture', 'room')}
            if q.near_point is not None:
                if dist is None:  # filtered k-nearest: distances of the few allowed only
                    p = np.asarray(q.near_point, dtype=float)
                    dist = {k: float(np.linalg.norm(nodes[k].position - p)) for k in scores}
                scores = {k: 1.0 / (1.0 + dist[k]) for k in scores if k in dist}
            if q.text and scores:
                sims = {n.id: max(0.0, float(s))
                        for s, n in ltm.by_text(q.text, len(ltm.graph.nodes))}
                scores = {k: v * sims.get(k, 0.0) if q.near_point is not None
                          else sims.get(k, 0.0) for k, v in scores.items()}
            ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
            return [QueryHit(ltm.graph.nodes[nid], min(1.0, score), ltm.graph.support(nid))
                    for nid, score in ranked]

    def graph_json(self) -> str:
        """The graph as JSON without point clouds, embeddings or timeline (GetSceneGraph).

        Assembled from per-node fragments cached in the long-term memory (only nodes
        changed since the previous answer are encoded again: a few ms at 1,000 objects
        after a fused frame) and reused whole while nothing changed, so clients polling
        the full graph between two fused frames share one text.
        """
        with self.reading() as ltm:
            graph = ltm.graph
            key = (id(ltm), ltm.commits, graph.epoch, graph.clock, graph.seq,
                   graph.id_counter, len(graph.merged_into))
            cached = self._graph_json
            if cached is None or cached[0] != key:
                cached = (key, ltm.to_json(include_timeline=False, include_points=False))
                self._graph_json = cached
            return cached[1]

    def as_of(self, t: float) -> LongTermMemory:
        """The long-term memory as believed at stamp `t` (a read-only copy)."""
        with self.reading() as ltm:
            return ltm.as_of(t)

    def past(self, t: float) -> LongTermMemory:
        """As `as_of`, but the cached past view (`LongTermMemory.past`) of what reads read.

        Cheap (the view is moved in time, not rebuilt), but valid only until the next
        `past` call or change: read it inside `reading()` and let go.
        """
        with self.reading() as ltm:
            return ltm.past(t)

    def collapsed_export(self, token_budget: int, focus: Iterable[str] = (),
                         as_of: float | None = None) -> tuple[CollapsedExport, int]:
        """The SayPlan-style view (now or as of a stamp) and the node count it was cut from."""
        with self.reading() as now:
            ltm = now if as_of is None else now.past(as_of)
            return ltm.collapsed_export(token_budget, list(focus)), len(ltm.graph.nodes)

    def scene_graph_json(self, as_of: float | None = None) -> tuple[str, int]:
        """The full graph as JSON (see `graph_json`), now or as of a stamp, and its node count."""
        if as_of is None:
            text = self.graph_json()
            with self.reading() as ltm:
                return text, len(ltm.graph.nodes)
        with self.reading() as now:
            ltm = now.past(as_of)
            return (ltm.to_json(include_timeline=False, include_points=False),
                    len(ltm.graph.nodes))

    def changes(self, since: float, until: float | None = None,
                room: str = '') -> list[Change]:
        """What changed between two stamps (see `LongTermMemory.changes`).

        `until` None: up to the newest change memory knows (at least `since`).
        """
        with self.reading() as ltm:
            if until is None:
                until = max(ltm.timeline.latest, since)
            return ltm.changes(since, until, room)

    def recall(self, instruction: str = '', label: str = '', object_id: str = '',
               top_k: int = 0) -> list[RetrievedEntry | Any]:
        """Short-term entries: by object id, by label, ranked for an instruction, or all.

        ValueError for an instruction over 2000 characters (as `ObjectQuery.text`): ranking
        embeds it, and no instruction is that long.
        """
        if len(instruction) > 2000:
            raise ValueError(f'instruction is {len(instruction)} characters; at most 2000')
        with self.stm_lock:
            stm = self.stm
            if object_id:
                entry = stm.get(object_id)
                return [] if entry is None else [entry]
            if instruction:
                found = stm.retrieve(instruction, k=top_k or max(len(stm), 1))
                if label:
                    found = [r for r in found if r.entry.label.lower() == label.lower()]
                return found
            entries = stm.find_by_label(label) if label else stm.entries()
            entries = sorted(entries, key=lambda e: -e.stamp)
            return entries[:top_k] if top_k else entries

    def node_support(self, node_id: str) -> tuple[str, str] | None:
        """(parent id, 'on'|'in') of a node, if it rests on or in something."""
        return self.ltm.graph.support(node_id)

    # ---- lifecycle ---------------------------------------------------------------
    def save(self, path: str | Path) -> int:
        """Write the long-term memory to one file; returns the node count."""
        with self.lock:
            self.ltm.save(path)
            return len(self.ltm.graph.nodes)

    def load(self, path: str | Path) -> int:
        """Replace the long-term memory with a file's content (unchanged on error).

        The file is read and checked completely before anything is replaced; with a
        database, the loaded graph becomes the database's content.
        """
        self._refuse_if_shared('loading a file')
        with self.lock:
            loaded = LongTermMemory.load(path, self.ltm.config)
            self._adopt(loaded)
            return len(self.ltm.graph.nodes)

    def _refuse_if_shared(self, what: str) -> None:
        if self.shared_store is not None:
            raise ValueError(
                f'{what} would replace a memory other robots share (PostgreSQL store); '
                'use a new database, or drop its em_* tables, instead')

    def reset(self) -> None:
        """Forget everything (and clear the database, if any)."""
        self._refuse_if_shared('a reset')
        with self.lock:
            self._adopt(LongTermMemory(self.ltm.config))
            with self.stm_lock:
                self.stm.clear()

    def _adopt(self, other: LongTermMemory) -> None:
        """Make `other`'s graph ours (and the database's, if there is one).

        The long-term memory is replaced whole, so every component (fuser, relations,
        rooms, absence) is built around the new graph and no index or track table of the
        old one leaks.
        """
        gone = set(self.ltm.graph.nodes)
        self._executor_ids.clear()
        self._generation += 1
        # Ids are never reused, across resets and loads too: a consumer of the deltas
        # must not mistake a new node for an old one.
        other.graph.id_counter = max(other.graph.id_counter, self.ltm.graph.id_counter)
        # A memory served read-only (its file cannot be written) stays in RAM.
        db_path = self.db_path if self.ltm.store is not None else None
        embedder = self.ltm._embedder
        if db_path is not None:
            # Write the new content beside the database, then swap it in with one rename:
            # a crash leaves either the old memory or the new one, never a mix or nothing;
            # a write that fails (disk full) leaves the memory as it was.
            fresh = db_path.with_name(db_path.name + '.new')
            sides = (fresh, Path(f'{fresh}-wal'), Path(f'{fresh}-shm'))
            for stale in sides:
                stale.unlink(missing_ok=True)
            try:
                store = SqliteStore(fresh, other.config.persistence)
                try:
                    store.write_all(other.graph, other.timeline)
                finally:
                    store.close()
            except sqlite3.Error as exc:
                for stale in sides:
                    stale.unlink(missing_ok=True)
                raise MemoryFileError(db_path, f'cannot write the new content (memory '
                                               f'unchanged): {describe(exc)}') from None
            self.ltm.close()
            for suffix in ('-wal', '-shm'):
                Path(f'{db_path}{suffix}').unlink(missing_ok=True)
            fresh.replace(db_path)
            self.ltm = LongTermMemory(other.config, db_path=db_path, embedder=embedder)
        else:
            # `other` was built around its own graph (load/constructor): take it whole.
            self.ltm.close()
            other._embedder = other._embedder or embedder
            self.ltm = other
        self.stm.sink = self.ltm
        if self.replica is not None:
            self.replica.follow(self.ltm)
        current = set(self.ltm.graph.nodes)
        self._removed |= gone - current
        self._changed |= current

    def digest(self) -> str:
        """A SHA-256 of everything the memory holds, to tell whether an input changed it.

        Covers the long-term graph (nodes with their points and embeddings, edges, merges,
        per-node history, id counters), its timeline, the short-term entries (their
        changes, when they entered, whether consolidated) and the executor's object
        handles. Statistics and usage counters are not content and are left out.
        """
        digest = hashlib.sha256()
        with self.lock, self.stm_lock:
            stm = [{'change': dataclasses.asdict(e.change), 'first_stamp': e.first_stamp,
                    'consolidated': e.consolidated}
                   for e in sorted(self.stm.entries(), key=lambda e: e.object_id)]
            graph = self.ltm.graph
            content = {'ltm': graph_to_dict(graph, include_points=False,
                                            timeline=self.ltm.timeline),
                       'stm': stm, 'executor_ids': dict(self._executor_ids)}
            text = json.dumps(content, sort_keys=True, default=repr)
            digest.update(text.encode('utf-8', 'surrogatepass'))
            for node in graph.nodes.values():  # clouds and embeddings as raw bytes (fast)
                for array in (node.points, node.embedding):
                    digest.update(b'-' if array is None else np.ascontiguousarray(array).data)
        return digest.hexdigest()

    def stats(self) -> dict[str, Any]:
        """Long-term and short-term statistics together."""
        with self.lock, self.stm_lock:
            return {'ltm': self.ltm.stats(), 'stm': self.stm.stats.as_dict(),
                    'stm_size': len(self.stm), 'sequence': self._sequence}

    def close(self) -> None:
        """Flush and close the database."""
        with self.lock:
            self.ltm.close()
            if self.replica is not None:
                self.replica.detach()


def positions_array(hits: Sequence[QueryHit]) -> np.ndarray:
    """(N, 3) positions of query hits (for plotting and tests)."""
    return np.array([h.node.position for h in hits], dtype=float).reshape(-1, 3)
