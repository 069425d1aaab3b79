"""A copy of the long-term memory that queries read while fusion writes the original.

Fusing one camera frame into a home of 1,000 objects holds the memory's lock for tens of
milliseconds; a query that waits for it misses a 20 ms budget, and a node serving 16
clients queues them all behind every frame. `ReadReplica` keeps a second
`LongTermMemory` in RAM (no database, no point clouds or voxel keys) in step with the one
fusion writes. At every commit the writer hands it what the commit touched: the nodes
marked dirty, the removed ones, those with new history events, and the timeline versions
just appended. The replica copies just those nodes (their fields, outgoing edges and
history) and appends the versions, under its own lock, in about a millisecond for a
20-object frame. Readers take only that lock, so a read waits at most for one such copy
or for another read, never for fusion. A commit that rewrote more than it touched (the
retention policy) rebuilds the copy whole, as a new memory does (load, reset).

Readers see the memory as of the last commit: every commit is a consistent state (one
frame, one state change), never half a frame.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Iterable

from memory_nodes.memory.long_term import CommitChanges, LongTermMemory
from memory_nodes.memory.scene_graph import SceneGraph, SceneNode


def copy_node(node: SceneNode) -> SceneNode:
    """A copy of `node` for reading: no point cloud, no voxel keys.

    The embedding is shared: fusion replaces a node's embedding array, never writes
    into it.
    """
    return SceneNode(
        node.id, node.layer, node.label, node.position.copy(), node.extent.copy(),
        node.confidence, node.first_seen, node.last_seen, node.observations,
        dict(node.states), None, node.embedding, node.room, node.status,
        dict(node.label_scores), node.first_absent, node.last_absent, dict(node.attrs),
        None, node.since_denoise)


class ReadReplica:
    """A read-only `LongTermMemory` kept in step with `source` at every commit.

    Read `ltm` only while holding `lock`. `ltm.commits` counts the commits applied, so
    a cache of something built from the replica can key on it.
    """

    def __init__(self, source: LongTermMemory) -> None:
        self.lock = threading.Lock()
        self.ltm = self._copy_of(source)
        self.applied = 0       # commits copied incrementally
        self.rebuilt = 1       # whole copies made (the first included)
        self._source = source
        source.commit_listeners.append(self._on_commit)

    def follow(self, source: LongTermMemory) -> None:
        """Copy a new source whole (after a load or a reset) and follow its commits."""
        if self._source is not source:
            if self._on_commit in self._source.commit_listeners:
                self._source.commit_listeners.remove(self._on_commit)
            source.commit_listeners.append(self._on_commit)
            self._source = source
        self.rebuild()

    def detach(self) -> None:
        """Stop following the source (its commits no longer reach the replica)."""
        if self._on_commit in self._source.commit_listeners:
            self._source.commit_listeners.remove(self._on_commit)

    def rebuild(self) -> None:
        """Copy the source whole."""
        fresh = self._copy_of(self._source)
        with self.lock:
            fresh.commits = self.ltm.commits + 1
            self.ltm = fresh
            self.rebuilt += 1

    # ---- copying -------------------------------------------------------------------
    @staticmethod
    def _copy_of(source: LongTermMemory) -> LongTermMemory:
        copy = LongTermMemory(source.config, embedder=source._embedder)
        live, graph = source.graph, copy.graph
        graph.clear()
        for node in live.nodes.values():
            graph.restore_node(copy_node(node))
        for src, dst, kind in live.edges.edges(data='kind'):
            graph.edges.add_edge(src, dst, kind=kind)
        graph.merged_into = dict(live.merged_into)
        graph.history = {nid: deque(events, maxlen=graph.history_per_node)
                         for nid, events in live.history.items()}
        graph.id_counter, graph.seq, graph.revision = live.id_counter, live.seq, live.revision
        timeline = source.timeline
        copy.timeline.restore([dataclasses.replace(v) for vs in timeline.versions.values()
                               for v in vs], timeline.horizon, timeline.seq)
        copy.timeline.compacted = {}
        graph.drain()
        copy.timeline.drain()
        return copy

    def _on_commit(self, source: LongTermMemory, changes: CommitChanges) -> None:
        if source is not self._source:
            return
        if changes.rewritten:
            self.rebuild()
            return
        if not (changes.touched or changes.removed or changes.versions):
            return
        live = source.graph
        # Copies are made before taking the lock: readers wait only for the swap-in.
        copies = {nid: copy_node(live.nodes[nid]) for nid in changes.touched
                  if nid in live.nodes}
        edges = {nid: [(d, k) for _, d, k in live.edges.out_edges(nid, data='kind')]
                 for nid in copies}
        history = {nid: live.history.get(nid)
                   for nid in set(changes.touched) | set(changes.removed)}
        history = {nid: None if events is None else deque(events, maxlen=events.maxlen)
                   for nid, events in history.items()}
        versions = [dataclasses.replace(v) for v in changes.versions]
        merged = dict(live.merged_into) if changes.removed else None
        with self.lock:
            graph = self.ltm.graph
            for nid in changes.removed:
                if nid not in copies:
                    _drop(graph, nid)
            for node in copies.values():
                _put(graph, node)
            for nid, out in edges.items():
                _set_out_edges(graph, nid, out)
            for nid, events in history.items():
                if events is None:
                    graph.history.pop(nid, None)
                else:
                    graph.history[nid] = events
            if merged is not None:
                graph.merged_into = merged
            graph.id_counter, graph.seq = live.id_counter, live.seq
            graph.revision = live.revision
            timeline = self.ltm.timeline
            for version in versions:
                timeline._append(version)  # noqa: SLF001 - same seq and stamp as the source's
            timeline.drain()
            graph.drain()
            ltm = self.ltm
            if ltm._past is not None and ltm._touches_structure(  # noqa: SLF001
                    changes.touched, changes.removed):
                ltm._past = None  # noqa: SLF001 - its past view holds today's structure
            ltm.commits += 1
            self.applied += 1


def _drop(graph: SceneGraph, node_id: str) -> None:
    node = graph.nodes.pop(node_id, None)
    if node is None:
        return
    if graph.edges.has_node(node_id):
        for src in list(graph.edges.predecessors(node_id)):
            graph.bump(src)  # their edge lists changed: cached exports of them are stale
        graph.edges.remove_node(node_id)
    graph.changes.pop(node_id, None)
    _unlabel(graph, node_id, node.label)
    graph.index.remove(node_id)


def _unlabel(graph: SceneGraph, node_id: str, label: str) -> None:
    ids = graph.by_label.get(label)
    if ids is not None:
        ids.discard(node_id)
        if not ids:
            del graph.by_label[label]


def _put(graph: SceneGraph, node: SceneNode) -> None:
    old = graph.nodes.get(node.id)
    if old is not None and old.label != node.label:
        _unlabel(graph, node.id, old.label)
    if old is not None and old.layer in ('object', 'furniture', 'place') \
            and node.layer not in ('object', 'furniture', 'place'):
        graph.index.remove(node.id)
    graph.restore_node(node)


def _set_out_edges(graph: SceneGraph, node_id: str, out: Iterable[tuple[str, str]]) -> None:
    want = dict(out)
    edges = graph.edges
    have = {d: k for _, d, k in edges.out_edges(node_id, data='kind')}
    changed = False
    for dst in have.keys() - want.keys():
        edges.remove_edge(node_id, dst)
        changed = True
    for dst, kind in want.items():
        if dst not in graph.nodes:
            continue  # a node not copied yet: its commit adds the edge back with it
        if have.get(dst) != kind:
            edges.add_edge(node_id, dst, kind=kind)
            changed = True
    if changed:
        graph.bump(node_id)
