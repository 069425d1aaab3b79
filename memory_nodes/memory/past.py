"""The graph as believed at a past stamp: built from the timeline, or moved to another.

`fill_past` builds it as `LongTermMemory.as_of` always has: today's structure (building,
rooms, places and their parent edges) and, from the timeline, every object and furniture
node believed in at the stamp, with its room (parent edge) and support edge.

A `PastView` keeps one such graph and moves it from its stamp to another: only the nodes
whose version in force differs between the two (a version stamped in between, or one
appended since) are restored again; nodes that come into being are appended in the order
`fill_past` lists them, and support edges that wait for a node absent at the stamp are
added when it appears. `move` says False (the caller builds a new view) when that would
not give what `fill_past` gives or would not be cheaper: the timeline dropped or replaced
versions, more than `max_fraction` of the nodes differ, or a node reappears before the
newest one (its place in the node order would differ).

The nodes of a view are never changed in place: a node that differs is replaced by a new
`SceneNode`, so nodes a caller took from the view stay as they were when it asked.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from memory_nodes.memory.scene_graph import SceneGraph, SceneNode
from memory_nodes.memory.timeline import NodeVersion, Timeline

#: The layers a past graph takes from today's graph (objects and furniture it takes from
#: the timeline).
STRUCTURE_LAYERS = ('building', 'room', 'place')

#: Called for a support edge whose target is not in the past graph: (src, dst, kind).
MissingSupport = Callable[[str, str, str], None]


def node_of(v: NodeVersion) -> SceneNode:
    """The scene node a timeline version describes (as a past graph holds it)."""
    return SceneNode(
        v.node_id, v.layer, v.label, np.asarray(v.position, dtype=float),
        np.asarray(v.extent, dtype=float), v.confidence, last_seen=v.last_seen,
        observations=v.observations, states=dict(v.states), room=v.room,
        status=v.status, label_scores={v.label: 1.0})


def fill_past(live: SceneGraph, timeline: Timeline, t: float, graph: SceneGraph,
              missing_support: MissingSupport | None = None) -> None:
    """Fill the empty `graph` with `live`'s structure and the timeline's nodes at `t`."""
    for node in live.nodes.values():
        if node.layer in STRUCTURE_LAYERS:
            graph.restore_node(SceneNode(
                node.id, node.layer, node.label, node.position.copy(),
                node.extent.copy(), node.confidence, node.first_seen, node.last_seen,
                node.observations, dict(node.states), room=node.room,
                status=node.status))
    for src, dst, kind in live.edges.edges(data='kind'):
        if kind == 'parent' and src in graph.nodes and dst in graph.nodes:
            graph.edges.add_edge(src, dst, kind=kind)
    versions = timeline.as_of(float(t))
    for v in versions.values():
        graph.restore_node(node_of(v))
        if v.room in graph.nodes:
            graph.edges.add_edge(v.node_id, v.room, kind='parent')
    for v in versions.values():
        if v.support is None:
            continue
        if v.support[0] in graph.nodes:
            graph.edges.add_edge(v.node_id, v.support[0], kind=v.support[1])
        elif missing_support is not None:
            missing_support(v.node_id, v.support[0], v.support[1])
    graph.id_counter = live.id_counter
    graph.drain()


class PastView:
    """One past graph, built for a stamp and moved to others (see the module doc)."""

    def __init__(self, graph: SceneGraph, live: SceneGraph, timeline: Timeline, t: float,
                 max_fraction: float = 0.25) -> None:
        self.graph, self.live, self.timeline = graph, live, timeline
        self.max_fraction = float(max_fraction)
        #: Absent support target -> {node waiting to rest on/in it: 'on'|'in'}.
        self.waiting: dict[str, dict[str, str]] = {}
        self._waits_for: dict[str, str] = {}
        graph.clear()
        fill_past(live, timeline, t, graph, self._wait)
        self.stamp = float(t)
        self.epoch = timeline.epoch
        self.seq = timeline.seq
        # The newest (in `Timeline.rank` order) object or furniture node of the graph: a
        # node appended after it lands where `fill_past` would put it.
        self.tail = max((timeline.rank(nid) for nid in graph.nodes), default=-1)
        #: Nodes restored again by `move` calls (all of them together).
        self.restored = 0

    # ---- support edges waiting for their target --------------------------------------
    def _wait(self, src: str, dst: str, kind: str) -> None:
        self.waiting.setdefault(dst, {})[src] = kind
        self._waits_for[src] = dst

    def _unwait(self, src: str) -> None:
        dst = self._waits_for.pop(src, None)
        if dst is None:
            return
        group = self.waiting.get(dst)
        if group is not None:
            group.pop(src, None)
            if not group:
                del self.waiting[dst]

    # ---- moving ---------------------------------------------------------------------
    def move(self, t: float) -> bool:
        """Make the graph the one `fill_past` gives for `t` now; False: build a new one."""
        t = float(t)
        tl = self.timeline
        if tl.epoch != self.epoch:
            return False
        touched = tl.touched_between(self.stamp, t, self.seq)
        nodes = self.graph.nodes
        if touched is None or len(touched) > self.max_fraction * max(1, len(nodes)):
            return False
        target: dict[str, NodeVersion | None] = {}
        for nid in touched:
            v = tl.version_at(nid, t)
            target[nid] = v if v is not None and v.alive else None
        added = sorted((nid for nid, v in target.items() if v is not None and nid not in nodes),
                       key=tl.rank)
        if added and tl.rank(added[0]) <= self.tail:
            # The tail is not lowered when nodes are dropped: find the true one.
            self.tail = max((tl.rank(nid) for nid in nodes), default=-1)
            if tl.rank(added[0]) <= self.tail:
                return False  # it would come before nodes already there
        for nid, v in target.items():
            if v is None and nid in nodes:
                self._drop(nid)
        for nid, v in target.items():
            if v is not None and nid in nodes:
                self._put(v, replace=True)
        for nid in added:
            self._put(target[nid], replace=False)  # type: ignore[arg-type]
        for v in target.values():
            if v is not None and v.support is not None:
                if v.support[0] in nodes:
                    self.graph.edges.add_edge(v.node_id, v.support[0], kind=v.support[1])
                    self.graph.bump(v.node_id)
                else:
                    self._wait(v.node_id, v.support[0], v.support[1])
        for nid in added:
            for src, kind in self.waiting.pop(nid, {}).items():
                del self._waits_for[src]
                self.graph.edges.add_edge(src, nid, kind=kind)
                self.graph.bump(src)  # its edge list changed: exports of it are stale
        if added:
            self.tail = tl.rank(added[-1])
        self.stamp, self.seq = t, tl.seq
        self.graph.id_counter = self.live.id_counter
        self.restored += len(touched)
        return True

    def _forget_label(self, node: SceneNode) -> None:
        bucket = self.graph.by_label.get(node.label)
        if bucket is not None:
            bucket.discard(node.id)
            if not bucket:
                del self.graph.by_label[node.label]

    def _drop(self, nid: str) -> None:
        """Take a node out; nodes resting on or in it wait for it to come back."""
        graph = self.graph
        node = graph.nodes.pop(nid)
        for src, _, kind in list(graph.edges.in_edges(nid, data='kind')):
            if kind in ('on', 'in'):
                self._wait(src, nid, kind)
            graph.bump(src)  # its edge list changed: exports of it are stale
        self._unwait(nid)
        graph.edges.remove_node(nid)
        graph.changes.pop(nid, None)
        graph.index.remove(nid)
        self._forget_label(node)

    def _put(self, v: NodeVersion, replace: bool) -> None:
        """Restore a node from its version (in its old place when `replace`), room edge too.

        Its support edge is the caller's: the node it rests on may be yet to come.
        """
        graph = self.graph
        if replace:
            self._forget_label(graph.nodes[v.node_id])
            self._unwait(v.node_id)
            for dst in list(graph.edges.successors(v.node_id)):
                graph.edges.remove_edge(v.node_id, dst)
        graph.restore_node(node_of(v))  # an existing key keeps its place in the dict
        if v.room in graph.nodes:
            graph.edges.add_edge(v.node_id, v.room, kind='parent')
        graph.bump(v.node_id)
