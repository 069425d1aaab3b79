"""The long-term memory: one object that fuses, relates, persists and answers.

`LongTermMemory` wires the scene graph, input checks, fusion, relations, rooms,
absence evidence, queries, exports and SQLite persistence together. It is also the
`StateSink` the short-term memory consolidates every state change into.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memory_nodes.domain.labels import label_key, normalize_label
from memory_nodes.memory.absence import AbsenceTracker
from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.detector_profile import load_detector_profile
from memory_nodes.memory.embeddings import TextEmbedder
from memory_nodes.memory.export import (
    CollapsedExport,
    CollapsedExporter,
    GraphJson,
    graph_from_dict,
    graph_to_dict,
    restore_voxel_keys,
)
from memory_nodes.memory.fusion import FusionReport, ObjectFuser
from memory_nodes.memory.input_checks import InputChecker
from memory_nodes.memory.observation import CameraView, ObjectObservation
from memory_nodes.memory.past import STRUCTURE_LAYERS, PastView, fill_past
from memory_nodes.memory.persistence import SqliteStore
from memory_nodes.memory.queries import SceneQueries
from memory_nodes.memory.recovery import OpenReport, open_memory_database, read_memory_file
from memory_nodes.memory.relations import RelationEstimator
from memory_nodes.memory.remote_changes import RemoteBatch, apply_batch
from memory_nodes.memory.rooms import RoomMap, footprint_box
from memory_nodes.memory.scene_graph import ChangeEvent, SceneGraph, SceneNode
from memory_nodes.memory.state_change import StateChange
from memory_nodes.memory.store import MemoryStore
from memory_nodes.memory.timeline import Change, Timeline

_LOG = logging.getLogger(__name__)

#: What a state change's `changed` names when the object itself went somewhere (a change
#: that names none of these, and names something, leaves the node where it is).
MOVING_CHANGES = frozenset({'location', 'position', 'held'})


@dataclass
class CommitChanges:
    """What one commit changed, for those who keep a copy in step (`ReadReplica`).

    `touched`: nodes changed or created (fields, outgoing edges or history); `removed`:
    nodes gone (merged or removed); `versions`: timeline versions appended; `rewritten`:
    more changed than any list says (the retention policy ran): copy everything again.
    """

    touched: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    versions: list = field(default_factory=list)
    rewritten: bool = False


class LongTermMemory:
    """The robot's 3D scene graph memory of its home.

    Pass `db_path` to make every confirmed change durable in SQLite (WAL); the graph
    is reloaded from it on construction. `embedder` is created lazily from the config
    the first time free text is needed, so building a memory never loads a model.
    """

    def __init__(
        self,
        config: LongTermMemoryConfig | None = None,
        db_path: str | Path | None = None,
        embedder: TextEmbedder | None = None,
        snapshots: Sequence[str | Path] = (),
        store: MemoryStore | None = None,
    ) -> None:
        self.config = config or LongTermMemoryConfig()
        if store is not None and not self.config.fusion.keep_smaller_id:
            # Robots sharing a memory must agree on which of two merged ids survives.
            self.config = dataclasses.replace(self.config, fusion=dataclasses.replace(
                self.config.fusion, keep_smaller_id=True))
        cfg = self.config
        self.graph = SceneGraph(cfg.index_cell, cfg.persistence.history_per_node)
        self.checker = InputChecker(cfg.input)
        self._embedder = embedder
        self.detector_profile = load_detector_profile(cfg.detector_profile)
        self.fuser = ObjectFuser(self.graph, cfg.fusion, profile=self.detector_profile)
        self.relations = RelationEstimator(self.graph, cfg.relations)
        self.absence = AbsenceTracker(self.graph, cfg.absence, self.detector_profile)
        self.rooms = RoomMap(self.graph, cfg.rooms)
        self.queries = SceneQueries(self.graph, None)
        self.timeline = Timeline(cfg.timeline)
        self._graph_json = GraphJson(include_points=False)
        self._collapsed = CollapsedExporter()
        self.store: MemoryStore | None = None
        self.frames = 0
        self.commits = 0
        self.fusion_ms: list[float] = []
        #: Called after every commit with (this memory, CommitChanges).
        self.commit_listeners: list[Callable[[LongTermMemory, CommitChanges], None]] = []
        # The cached past view (`past`) and how often it was built and moved.
        self._past: tuple[LongTermMemory, PastView] | None = None
        self._past_counts = {'builds': 0, 'moves': 0, 'restored': 0}
        #: How the database was opened (damaged, recovered, read-only: see `recovery`).
        self.open_report: OpenReport | None = None
        if store is not None:
            # A shared store (PostgreSQL): the graph is what every robot wrote.
            if db_path is not None:
                raise ValueError('give a database path or a store, not both')
            self.store = store
            store.load(self.graph, self.timeline)
            self._after_load()
            _LOG.info('long-term memory loaded %d nodes from the shared store',
                      len(self.graph.nodes))
        elif db_path is not None:
            # A damaged file is moved aside and what reads is recovered; `snapshots` are
            # JSON files to fall back on when nothing does (besides those next to it).
            self.store, self.open_report = open_memory_database(
                db_path, cfg.persistence, self.graph, self.timeline, snapshots)
            self._after_load()
            if self.open_report.healthy:
                _LOG.info('long-term memory reopened %d nodes from %s',
                          len(self.graph.nodes), db_path)
            else:
                _LOG.error('%s', self.open_report.message())
        self.rooms.ensure_building()

    # ---- plumbing ------------------------------------------------------------------
    @property
    def embedder(self) -> TextEmbedder:
        """The text embedder (created on first use)."""
        if self._embedder is None:
            self._embedder = TextEmbedder(self.config.embedder)
        return self._embedder

    def _after_load(self) -> None:
        for node in self.graph.nodes.values():
            restore_voxel_keys(node, self.config.fusion.voxel_size)
        if not self.timeline.versions and self.config.timeline.enabled:
            # A memory written before timelines existed: believe it from now on.
            self.timeline.seed(self.graph)

    def _commit(self, stamp: float | None = None) -> None:
        """Version what changed in the timeline, then persist (or drop) the changes.

        `stamp` is when the change happened; None (merges, room definitions) means the
        newest stamp memory has seen.
        """
        graph, timeline = self.graph, self.timeline
        if graph.dirty or graph.removed:
            if self._past is not None and self._touches_structure(graph.dirty, graph.removed):
                self._past = None  # the past view holds today's structure: build it anew
            if stamp is None:
                stamp = timeline.latest if timeline.latest > float('-inf') else 0.0
            timeline.update(graph, graph.dirty, graph.removed, stamp)
        changes = None
        if self.commit_listeners:
            changes = CommitChanges(set(graph.dirty) | {ev.node_id for ev in graph.journal},
                                    set(graph.removed), list(timeline.journal))
        if self.store is not None:
            self.store.commit(graph, timeline)
        else:
            graph.drain()
            timeline.drain()
        self.commits += 1
        if changes is not None:
            self._notify(changes)
        every = self.config.timeline.retention_every
        if every > 0 and self.commits % every == 0:
            self.apply_retention()

    def apply_remote(self, batch: RemoteBatch) -> CommitChanges:
        """Apply what other robots wrote to the shared store (see `remote_changes`).

        The applied rows are versioned in this robot's timeline and handed to the commit
        listeners; they are not written back. Returns what changed.
        """
        graph, timeline = self.graph, self.timeline
        changes = apply_batch(self, batch)
        if not changes.touched and not changes.removed and not graph.dirty:
            return changes
        if self._past is not None and self._touches_structure(
                changes.touched | graph.dirty, changes.removed | graph.removed):
            self._past = None
        stamps = [row.evidence for row in batch.nodes]
        stamp = max(stamps) if stamps else (
            timeline.latest if timeline.latest > float('-inf') else 0.0)
        # Applied rows and folds (a remote merge of a node this robot changed, which is
        # this robot's own change and stays dirty for the store) are versioned alike.
        applied = {n for n in changes.touched if n in graph.nodes}
        timeline.update(graph, applied | graph.dirty, changes.removed | graph.removed, stamp)
        changes.touched |= graph.dirty | {ev.node_id for ev in graph.journal}
        changes.removed |= graph.removed
        changes.versions = list(timeline.journal)
        if self.store is not None:
            self.store.commit(graph, timeline)
        else:
            graph.drain()
            timeline.drain()
        if self.commit_listeners:
            self._notify(changes)
        return changes

    def _notify(self, changes: CommitChanges) -> None:
        for listener in list(self.commit_listeners):
            listener(self, changes)

    def _touches_structure(self, dirty: Iterable[str], removed: Iterable[str]) -> bool:
        """Whether a change touched a building, room or place (the past view's structure)."""
        nodes = self.graph.nodes
        for nid in dirty:
            node = nodes.get(nid)
            if node is not None and node.layer in STRUCTURE_LAYERS:
                return True
        if self._past is None:
            return False
        held = self._past[0].graph.nodes
        for nid in removed:
            node = held.get(nid)
            if node is not None and node.layer in STRUCTURE_LAYERS:
                return True
        return False

    def apply_retention(self, now: float | None = None) -> int:
        """Apply the retention policy to the timeline and the change history now.

        Returns the number of stored rows deleted (0 without a database).
        """
        tcfg = self.config.timeline
        now = self.timeline.latest if now is None else float(now)
        self.timeline.compact(now)
        cut = now - tcfg.max_age_s if tcfg.max_age_s > 0 and now > float('-inf') else None
        if cut is not None:
            self.graph.forget_history_before(cut)
        if self.store is None:
            self.timeline.take_compacted()
            deleted = 0
        else:
            deleted = self.store.apply_retention(self.timeline, cut,
                                                 self.config.persistence.history_per_node)
        if self.commit_listeners:
            self._notify(CommitChanges(rewritten=True))
        return deleted

    def close(self) -> None:
        """Commit pending changes and close the database (if any)."""
        if self.store is not None:
            self.store.commit(self.graph, self.timeline)
            self.store.close()
            self.store = None

    def __enter__(self) -> LongTermMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writing -------------------------------------------------------------------
    def integrate(
        self, observations: Sequence[ObjectObservation], camera_view: CameraView | None = None
    ) -> FusionReport:
        """Fuse one frame of observations (and absence evidence from its camera view)."""
        t0 = time.perf_counter()
        report = FusionReport()
        clean = []
        for obs in observations:
            ok = self.checker.check_observation(obs)
            if ok is None:
                report.rejected += 1
            else:
                clean.append(ok)
        self.fuser.fuse(clean, report)
        stamp = max((o.stamp for o in clean), default=camera_view.stamp if camera_view else 0.0)
        hints = {}
        for obs, nid in zip(clean, report.observation_nodes):
            if obs.room:
                hints[nid] = obs.room
        touched = set(report.associations) | {keep for _, keep in report.merged}
        for nid in touched:
            node = self.graph.nodes.get(nid)
            if node is None:
                continue
            self.rooms.assign(node, stamp, hints.get(nid) or None)
        self.relations.update([n for n in touched if n in self.graph.nodes], stamp)
        if camera_view is not None:
            try:
                observed = set(report.associations)
                for nid in observed:
                    node = self.graph.nodes.get(nid)
                    if node is not None and node.first_absent is not None:
                        self.absence.observed(node)
                report.absent = self.absence.update(camera_view, observed)
            except (ValueError, IndexError, TypeError) as exc:
                self.checker.rejected['bad_camera_view'] += 1
                _LOG.warning('camera view ignored for absence evidence: %s', exc)
        self.frames += 1
        if self.frames % 50 == 0:
            self.fuser.prune_tentative(stamp)
        self._commit(stamp)
        report.elapsed_ms = (time.perf_counter() - t0) * 1000.0
        self.fusion_ms.append(report.elapsed_ms)
        if len(self.fusion_ms) > 1000:
            del self.fusion_ms[:500]
        return report

    def record_state_change(self, change: StateChange) -> str:
        """Consolidate a state change (StateSink); return the object id it attached to.

        With no `object_id` the object is found by label near the given position (or the
        most confident one of that label), else created. Returns '' for unusable input.
        """
        ch = self.checker.check_state_change(change)
        if ch is None:
            return change.object_id or '' if isinstance(change, StateChange) else ''
        graph = self.graph
        node = graph.get(ch.object_id) if ch.object_id else None
        if node is None:
            node = self._find_for_change(ch)
        pos = np.asarray(ch.position, dtype=float) if ch.position is not None else None
        receptacle = self._resolve(ch.receptacle) if ch.receptacle else None
        if pos is None and receptacle is not None:
            pos = receptacle.position.copy()
        if node is None:
            node = SceneNode(
                id=graph.new_id('object'), layer='object', label=ch.label or 'unknown',
                position=pos if pos is not None else np.zeros(3),
                extent=np.full(3, 0.1), confidence=0.8, first_seen=ch.stamp,
                last_seen=ch.stamp, observations=1, states=dict(ch.states),
                status='confirmed', label_scores={ch.label: 1.0},
            )
            if pos is None:
                node.attrs['position_unknown'] = True
            graph.add_node(node, ch.stamp)
        else:
            # A state-only change (a fridge opened, a faucet turned on) says where the thing
            # is, which helps find it, but moves nothing: the executor's idea of a fridge's
            # position (its base, its door) is not the centroid memory fused from views.
            moved = not ch.changed or bool(MOVING_CHANGES & set(ch.changed))
            if (moved and pos is not None
                    and float(np.linalg.norm(pos - node.position)) > 0.05):
                delta = pos - node.position
                graph.record(node.id, 'moved', ch.stamp, {
                    'from': [round(float(v), 4) for v in node.position],
                    'to': [round(float(v), 4) for v in pos], 'source': ch.source})
                if node.points is not None:
                    node.points = (node.points + delta).astype(np.float32)
                    restore_voxel_keys(node, self.config.fusion.voxel_size)
                graph.move(node, pos)
                node.attrs.pop('position_unknown', None)
            changed = {k: v for k, v in ch.states.items() if node.states.get(k) != v}
            if changed:
                node.states.update(changed)
                graph.record(node.id, 'state', ch.stamp,
                             {'states': dict(changed), 'source': ch.source})
            node.last_seen = max(node.last_seen, ch.stamp)
            if node.status != 'confirmed':
                if node.status == 'absent':
                    graph.record(node.id, 'reappeared', ch.stamp, {'source': ch.source})
                node.status = 'confirmed'
                node.confidence = max(node.confidence, 0.8)
                node.first_absent = None
            graph.touch(node.id)
        self.rooms.assign(node, ch.stamp, ch.room)
        if receptacle is not None and receptacle.id != node.id:
            kind = 'in' if self.relations.is_container(receptacle) else 'on'
            old = graph.support(node.id)
            if old != (receptacle.id, kind):
                if old is not None:
                    graph.remove_edge(node.id, old[0])
                graph.set_edge(node.id, receptacle.id, kind)
                graph.record(node.id, 'relation', ch.stamp, {
                    'from': list(old) if old else None, 'to': [receptacle.id, kind],
                    'source': ch.source})
        elif pos is not None:
            self.relations.update([node.id], ch.stamp)
        self._commit(ch.stamp)
        return node.id

    def _resolve(self, ref: str) -> SceneNode | None:
        node = self.graph.get(ref)
        if node is not None:
            return node
        found = self.queries.by_label(ref, include_absent=True)
        return found[0] if found else None

    def _find_for_change(self, ch: StateChange) -> SceneNode | None:
        candidates = self.queries.by_label(ch.label, include_absent=True)
        candidates = [n for n in candidates if n.layer in ('object', 'furniture')]
        if not candidates:
            return None
        if ch.position is None:
            return candidates[0]
        p = np.asarray(ch.position)
        near = min(candidates, key=lambda n: float(np.linalg.norm(n.position - p)))
        # A far-away same-label node is probably another instance unless it is the only
        # one: an object that moved is still the same object.
        if len(candidates) == 1 or float(np.linalg.norm(near.position - p)) < 1.0:
            return near
        return None

    def add_agent_pose(self, position: Iterable[float], stamp: float,
                       room: str | None = None) -> str | None:
        """Record where the robot is; returns a new place id when one was created."""
        place = self.rooms.add_agent_pose(np.asarray(list(position), dtype=float), stamp,
                                          room)
        self._commit(stamp)
        return place

    def define_room(self, name: str, lo: Iterable[float], hi: Iterable[float]) -> str:
        """Declare an annotated room (axis-aligned box in `map`); returns its id."""
        rid = self.rooms.define_room(normalize_label(name), np.asarray(list(lo), float),
                                     np.asarray(list(hi), float))
        self._commit()
        return rid

    def define_room_footprint(self, name: str, footprint: Sequence[float]) -> str:
        """Declare an annotated room from its 2D footprint (xmin, ymin, xmax, ymax)."""
        return self.define_room(name, *footprint_box(footprint))

    def merge_duplicates(self) -> list[tuple[str, str]]:
        """Run a full duplicate-merging pass now; returns (merged, kept) id pairs."""
        merged = self.fuser.merge_duplicates()
        self._commit()
        return merged

    # ---- the past ------------------------------------------------------------------
    def as_of(self, t: float) -> LongTermMemory:
        """A new in-memory LongTermMemory holding the graph as it was believed at `t`.

        Objects and furniture (with their label, status, position, extent, room,
        support and states then) come from the timeline; the structure (building,
        rooms, places) is today's. Raises ValueError for a stamp before the horizon.
        """
        self.timeline.check_stamp(float(t), 'as_of')
        past = LongTermMemory(self.config, embedder=self._embedder)
        past.graph.clear()
        fill_past(self.graph, self.timeline, float(t), past.graph)
        return past

    def past(self, t: float) -> LongTermMemory:
        """The graph as believed at `t`, like `as_of`, but one cached view moved in time.

        The first call builds the view as `as_of` does; a later one moves it to the new
        stamp by restoring again only the nodes whose version in force differs (see
        `past.PastView`), or builds it anew when that is not cheaper (today's structure
        changed, retention dropped versions, a load or reset, many nodes differ). The
        view answers exactly as `as_of(t)` would, but is valid only until the next `past`
        call or the next change to memory, and must not be written to: it is for callers
        holding the owner's lock (RobotMemory's). Nodes taken from it are never changed
        later. Raises ValueError for a stamp before the horizon.
        """
        t = float(t)
        self.timeline.check_stamp(t, 'as_of')
        if self._past is not None:
            memory, view = self._past
            view.max_fraction = self.config.timeline.past_rebuild_fraction
            before = view.restored
            if view.move(t):
                memory._embedder = self._embedder
                self._past_counts['moves'] += 1
                self._past_counts['restored'] += view.restored - before
                return memory
        memory = LongTermMemory(self.config, embedder=self._embedder)
        view = PastView(memory.graph, self.graph, self.timeline, t,
                        self.config.timeline.past_rebuild_fraction)
        self._past = (memory, view)
        self._past_counts['builds'] += 1
        return memory

    def past_stats(self) -> dict[str, int]:
        """How often `past` built its view and moved it, and how many nodes moving restored."""
        return dict(self._past_counts)

    def changes(self, since: float, until: float, room: str = '') -> list[Change]:
        """What changed between two stamps (optionally in one room, by id or name).

        Raises ValueError naming the problem: until before since, a stamp before the
        retention horizon, or a room memory never knew.
        """
        tl = self.timeline
        if until < since:
            raise ValueError(f'until ({until:.3f}) is before since ({since:.3f})')
        tl.check_stamp(float(since), 'since')
        tl.check_stamp(float(until), 'until')
        if room:
            known = tl.room_names() | {n.id for n in self.graph.layer('room')} | {
                n.label for n in self.graph.layer('room')}
            if room not in known and normalize_label(room) not in known:
                names = ', '.join(sorted(n.label for n in self.graph.layer('room')))
                raise ValueError(f'unknown room {room!r} (memory knows: {names})')
            node = self.graph.get(room)
            if node is None:
                room = normalize_label(room)
        return tl.changes(float(since), float(until), room or None)

    # ---- reading -------------------------------------------------------------------
    def get(self, node_id: str) -> SceneNode | None:
        """A node by id (following merged-into ids)."""
        return self.graph.get(node_id)

    def by_label(self, label: str, include_absent: bool = False) -> list[SceneNode]:
        """Nodes with this label, most confident first."""
        return self.queries.by_label(label, include_absent)

    def lookalikes(self, label: str) -> list[SceneNode]:
        """Confirmed nodes that may be a `label` under another name (learned detectors).

        Only with a detector profile (an oracle's labels are right): nodes whose label
        vote gave `label` at least `FusionConfig.lookalike_min_share`, then nodes whose
        label the detector was measured to confuse with `label`, most confident first.
        The planner goes to look: the robot verifies at close range what it picks up.
        """
        if self.detector_profile is None:
            return []
        key = label_key(label)
        min_share = self.config.fusion.lookalike_min_share
        voted, confused = [], []
        for node in self.graph.nodes.values():
            if node.status != 'confirmed' or node.layer not in ('object', 'furniture') \
                    or label_key(node.label) == key:
                continue
            total = sum(node.label_scores.values())
            share = sum(v for lbl, v in node.label_scores.items() if label_key(lbl) == key)
            if total > 0 and share / total >= min_share:
                voted.append(node)
            elif self.detector_profile.confusable(node.label, label):
                confused.append(node)
        return sorted(voted, key=lambda n: (-n.confidence, n.id)) + \
            sorted(confused, key=lambda n: (-n.confidence, n.id))

    def by_text(self, text: str, k: int = 5) -> list[tuple[float, SceneNode]]:
        """Top-k (cosine, node) for free text, via MiniLM label embeddings."""
        self.queries.embedder = self.embedder
        return self.queries.by_text(text, k)

    def in_room(self, room: str) -> list[SceneNode]:
        """Objects and furniture in a room (by id or name)."""
        return self.queries.in_room(room)

    def related(self, relation: str, target: str) -> list[SceneNode]:
        """Nodes that are `relation` ('in'|'on'|'near') the target id or label."""
        return self.queries.related(relation, target)

    def where(self, target: str) -> list[dict[str, Any]]:
        """Room, support and position of each node matching an id or label."""
        return self.queries.where(target)

    def within_radius(self, point: Iterable[float], radius: float
                      ) -> list[tuple[float, SceneNode]]:
        """(distance, node) within `radius` m of `point`, nearest first."""
        return self.queries.within_radius(point, radius)

    def nearest(self, point: Iterable[float], k: int = 1) -> list[tuple[float, SceneNode]]:
        """The k nearest objects/furniture to `point`."""
        return self.queries.nearest(point, k)

    def history(self, node_id: str) -> list[ChangeEvent]:
        """Change history of a node, oldest first."""
        return self.queries.history(node_id)

    def collapsed_export(self, token_budget: int, focus: Iterable[str] = ()
                         ) -> CollapsedExport:
        """SayPlan-style collapsed view within `token_budget`, expanded at `focus`."""
        ec = self.config.export
        return self._collapsed.export(self.graph, token_budget, focus, ec.chars_per_token,
                                      ec.max_expanded_per_room)

    def stats(self) -> dict[str, Any]:
        """Counts per layer and status, rejection/repair counters, timings."""
        layers: dict[str, int] = {}
        status: dict[str, int] = {}
        for n in self.graph.nodes.values():
            layers[n.layer] = layers.get(n.layer, 0) + 1
            status[n.status] = status.get(n.status, 0) + 1
        ms = sorted(self.fusion_ms)
        return {
            'nodes': len(self.graph.nodes),
            'edges': self.graph.edges.number_of_edges(),
            'layers': layers,
            'status': status,
            'merged_ids': len(self.graph.merged_into),
            'frames': self.frames,
            'input': self.checker.stats(),
            'fusion_ms_p50': ms[len(ms) // 2] if ms else 0.0,
            'fusion_ms_p95': ms[int(len(ms) * 0.95)] if ms else 0.0,
            'persistent': self.store is not None,
            'database': self.database_stats(),
        }

    def database_stats(self) -> dict[str, Any]:
        """How the database was opened and whether writes currently fail."""
        if self.open_report is None:
            shared = getattr(self.store, 'stats', None)
            return shared() if callable(shared) else {}
        out = self.open_report.as_dict()
        if self.store is not None:
            out['write_error'] = self.store.write_error
            out['failed_commits'] = self.store.failed_commits
        return out

    # ---- export / import -----------------------------------------------------------
    def to_dict(self, include_timeline: bool = True,
                include_points: bool = True) -> dict[str, Any]:
        """The whole graph (and its timeline, unless told not to) as plain data.

        `include_points` False leaves out each node's point cloud and embedding (the
        bulk of a big memory; a snapshot needs them, a planner or a UI does not).
        """
        return graph_to_dict(self.graph, include_points,
                             timeline=self.timeline if include_timeline else None)

    def to_json(self, include_timeline: bool = True, include_points: bool = True) -> str:
        """The whole graph (and its timeline) as a JSON string (see `to_dict`).

        Without timeline and points (GetSceneGraph's answer) the text is assembled from
        per-node fragments cached between calls (`GraphJson`): only what changed since
        the previous call is encoded again.
        """
        if not include_timeline and not include_points:
            return self._graph_json.dumps(self.graph)
        return json.dumps(self.to_dict(include_timeline, include_points),
                          separators=(',', ':'))

    @classmethod
    def from_json(cls, text: str | dict[str, Any],
                  config: LongTermMemoryConfig | None = None) -> LongTermMemory:
        """A new in-memory LongTermMemory holding the graph of a `to_json` string."""
        mem = cls(config)
        data = json.loads(text) if isinstance(text, str) else text
        mem.graph.clear()
        graph_from_dict(data, mem.graph, mem.timeline)
        mem._after_load()
        mem.graph.drain()
        mem.timeline.drain()
        return mem

    def save(self, path: str | Path) -> None:
        """Write the graph to one file: SQLite for .db/.sqlite, else (gzipped) JSON."""
        p = Path(path)
        if p.suffix in ('.db', '.sqlite', '.sqlite3'):
            tmp = p.with_name(p.name + '.tmp')
            for extra in (tmp, Path(str(tmp) + '-wal'), Path(str(tmp) + '-shm')):
                extra.unlink(missing_ok=True)
            store = SqliteStore(tmp, self.config.persistence)
            store.write_all(self.graph, self.timeline)
            store.close()
            tmp.replace(p)
            return
        data = self.to_json().encode('utf-8')
        tmp = p.with_name(p.name + '.tmp')
        tmp.write_bytes(gzip.compress(data) if p.suffix == '.gz' else data)
        tmp.replace(p)  # atomic: a reader never sees half a file

    @classmethod
    def load(cls, path: str | Path, config: LongTermMemoryConfig | None = None
             ) -> LongTermMemory:
        """Read a file written by `save` into a new in-memory LongTermMemory.

        A ValueError names the file and the cause for anything that is not a memory file
        (corrupt or truncated compression, JSON of another shape, a database of another
        schema); the file is never written to (a SQLite file is read from a private copy).
        """
        mem = cls(config)
        mem.graph.clear()
        try:
            read_memory_file(path, mem.graph, mem.timeline)
        except (OSError, ValueError):
            raise
        except (KeyError, TypeError, AttributeError, IndexError, EOFError, zlib.error,
                sqlite3.DatabaseError) as exc:  # whatever a reader missed: still named
            raise ValueError(f'{str(path)!r} is not a memory file '
                             f'({type(exc).__name__}: {exc})') from exc
        mem._after_load()
        mem.graph.drain()
        mem.timeline.drain()
        return mem
