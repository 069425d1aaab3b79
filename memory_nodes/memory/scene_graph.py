"""A layered 3D scene graph: building -> room -> place -> furniture -> object, plus agent.

Nodes live in a dict keyed by stable id; edges live in a networkx DiGraph with a `kind`
attribute ('parent', 'on', 'in', 'near', 'traversable'). Every change is written to a
per-node history and to a journal that persistence drains, so what is on disk can be
brought up to date without rewriting the whole graph. Merged nodes leave a merged-into
id behind so that ids handed out earlier keep resolving.

Besides the journal (drained by every commit), each node carries a change counter
(`SceneGraph.changes`) that every mutation of the node or of its outgoing edges bumps
and nothing drains: caches of per-node results (the JSON export's fragments) compare it
to tell what to rebuild. Code that writes a node's attributes directly must call
`SceneGraph.touch` afterwards, which bumps it.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

LAYERS = ('building', 'room', 'place', 'furniture', 'object', 'agent')
RELATION_KINDS = ('on', 'in', 'near')
EDGE_KINDS = ('parent', 'traversable', *RELATION_KINDS)
ID_PREFIX = {
    'building': 'b', 'room': 'r', 'place': 'p', 'furniture': 'f', 'object': 'o', 'agent': 'a',
}
#: Hands every graph (and every `clear`) its own epoch: a cache keyed by (epoch, counter)
#: never mistakes a new graph's node for an old one's.
_EPOCHS = itertools.count(1)


@dataclass(slots=True)
class SceneNode:
    """One node of the scene graph.

    `position` is the centroid in `map` (m), `extent` the axis-aligned size (m).
    `status` is 'tentative' (seen fewer than the minimum times), 'confirmed' or 'absent'
    (should have been seen and was not). `points` is a bounded, voxel-downsampled cloud
    (float32, (N, 3)) for objects and furniture, None for abstract nodes.
    """

    id: str
    layer: str
    label: str
    position: np.ndarray
    extent: np.ndarray = field(default_factory=lambda: np.zeros(3))
    confidence: float = 0.5
    first_seen: float = 0.0
    last_seen: float = 0.0
    observations: int = 0
    states: dict[str, Any] = field(default_factory=dict)
    points: np.ndarray | None = None
    embedding: np.ndarray | None = None
    room: str | None = None
    status: str = 'tentative'
    label_scores: dict[str, float] = field(default_factory=dict)
    first_absent: float | None = None
    last_absent: float | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    voxel_keys: np.ndarray | None = None
    since_denoise: int = 0

    @property
    def aabb_min(self) -> np.ndarray:
        """Lower corner of the axis-aligned box (m)."""
        return self.position - self.extent / 2.0

    @property
    def aabb_max(self) -> np.ndarray:
        """Upper corner of the axis-aligned box (m)."""
        return self.position + self.extent / 2.0

    @property
    def label_share(self) -> float:
        """The share of the label vote that `label` holds (1.0 with one label or none)."""
        total = sum(self.label_scores.values())
        return self.label_scores.get(self.label, 0.0) / total if total > 0 else 1.0

    def box(self) -> tuple[float, float, float, float, float, float]:
        """(min x, min y, min z, max x, max y, max z) as plain floats (cheap in loops)."""
        px, py, pz = self.position.tolist()
        ex, ey, ez = self.extent.tolist()
        return (px - ex / 2, py - ey / 2, pz - ez / 2, px + ex / 2, py + ey / 2, pz + ez / 2)

    def summary(self) -> dict[str, Any]:
        """A small JSON-friendly description (no cloud, no embedding)."""
        return {
            'id': self.id,
            'layer': self.layer,
            'label': self.label,
            'position': [round(float(v), 4) for v in self.position],
            'extent': [round(float(v), 4) for v in self.extent],
            'confidence': round(float(self.confidence), 4),
            'label_share': round(float(self.label_share), 4),
            'status': self.status,
            'room': self.room,
            'states': dict(self.states),
            'first_seen': self.first_seen,
            'last_seen': self.last_seen,
            'observations': self.observations,
        }


@dataclass(slots=True)
class ChangeEvent:
    """One change to one node, in order (`seq` grows monotonically across restarts)."""

    seq: int
    stamp: float
    node_id: str
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {'seq': self.seq, 'stamp': self.stamp, 'node_id': self.node_id,
                'kind': self.kind, 'detail': self.detail}


class VoxelHashIndex:
    """Uniform hash grid over node boxes: radius, box and nearest queries without a scan.

    A node is filed in every cell its box touches (big furniture spans several), so a
    query only has to look at the cells its own box or ball touches.
    """

    def __init__(self, cell: float = 1.0) -> None:
        self.cell = float(cell)
        self._cells: dict[tuple[int, int, int], set[str]] = {}
        self._where: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {}

    def _key(self, p: np.ndarray) -> tuple[int, int, int]:
        c = self.cell
        return (math.floor(p[0] / c), math.floor(p[1] / c), math.floor(p[2] / c))

    @staticmethod
    def _keys(lo: tuple[int, int, int], hi: tuple[int, int, int]):
        return itertools.product(
            range(lo[0], hi[0] + 1), range(lo[1], hi[1] + 1), range(lo[2], hi[2] + 1)
        )

    def __len__(self) -> int:
        return len(self._where)

    def upsert(self, node_id: str, lo: np.ndarray, hi: np.ndarray | None = None) -> None:
        """File `node_id` under the box [lo, hi] (a point when `hi` is None)."""
        span = (self._key(lo), self._key(hi if hi is not None else lo))
        old = self._where.get(node_id)
        if old == span:
            return
        if old is not None:
            self.remove(node_id)
        for key in self._keys(*span):
            self._cells.setdefault(key, set()).add(node_id)
        self._where[node_id] = span

    def remove(self, node_id: str) -> None:
        """Forget `node_id` (no error if absent)."""
        old = self._where.pop(node_id, None)
        if old is None:
            return
        for key in self._keys(*old):
            bucket = self._cells.get(key)
            if bucket is not None:
                bucket.discard(node_id)
                if not bucket:
                    del self._cells[key]

    def candidates_box(self, lo: np.ndarray, hi: np.ndarray) -> set[str]:
        """Ids filed in cells that overlap the box [lo, hi] (a superset of the hits)."""
        klo, khi = self._key(lo), self._key(hi)
        n_cells = (khi[0] - klo[0] + 1) * (khi[1] - klo[1] + 1) * (khi[2] - klo[2] + 1)
        out: set[str] = set()
        if n_cells > len(self._cells):
            # A huge query: walking the occupied cells is cheaper than the box.
            for key, bucket in self._cells.items():
                if all(klo[i] <= key[i] <= khi[i] for i in range(3)):
                    out |= bucket
            return out
        for key in self._keys(klo, khi):
            found = self._cells.get(key)
            if found:
                out |= found
        return out

    def candidates(self, center: np.ndarray, radius: float) -> set[str]:
        """Ids in cells that overlap the cube around `center` (a superset of the ball)."""
        c = np.asarray(center, dtype=float)
        return self.candidates_box(c - radius, c + radius)


class SceneGraph:
    """The layered scene graph with indexes, history and a change journal."""

    def __init__(self, index_cell: float = 1.0, history_per_node: int = 64) -> None:
        self.nodes: dict[str, SceneNode] = {}
        self.edges = nx.DiGraph()
        self.merged_into: dict[str, str] = {}
        self.index = VoxelHashIndex(index_cell)
        self.by_label: dict[str, set[str]] = {}
        self.history: dict[str, deque[ChangeEvent]] = {}
        self.history_per_node = history_per_node
        self.journal: list[ChangeEvent] = []
        self.dirty: set[str] = set()
        self.removed: set[str] = set()
        self.seq = 0
        self.id_counter = 0
        self.revision = 0
        #: Node id -> the graph clock when the node or its outgoing edges last changed.
        self.changes: dict[str, int] = {}
        self.clock = 0
        self.epoch = next(_EPOCHS)
        #: Appended to every new id ('' alone; '-<robot id>' when robots share a memory,
        #: so two robots never hand out the same id).
        self.id_suffix = ''

    def clear(self) -> None:
        """Forget every node, edge, index entry, merge and event (a new epoch begins)."""
        cell, keep, suffix = self.index.cell, self.history_per_node, self.id_suffix
        self.__init__(cell, keep)  # type: ignore[misc]
        self.id_suffix = suffix

    # ---- ids and nodes -------------------------------------------------------------
    def new_id(self, layer: str) -> str:
        """Return a fresh stable id for a node of `layer` (never reused)."""
        self.id_counter += 1
        return f'{ID_PREFIX[layer]}{self.id_counter:06d}{self.id_suffix}'

    def resolve(self, node_id: str) -> str:
        """Follow merged-into links to the id that holds the node now."""
        seen = 0
        while node_id in self.merged_into and seen < 64:
            node_id = self.merged_into[node_id]
            seen += 1
        return node_id

    def get(self, node_id: str) -> SceneNode | None:
        """The node with `node_id` (following merges), or None."""
        return self.nodes.get(self.resolve(node_id))

    def __contains__(self, node_id: object) -> bool:
        return isinstance(node_id, str) and self.resolve(node_id) in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def layer(self, layer: str) -> Iterator[SceneNode]:
        """All nodes of one layer."""
        return (n for n in self.nodes.values() if n.layer == layer)

    def add_node(self, node: SceneNode, stamp: float | None = None) -> SceneNode:
        """Insert `node`, index it and record its creation."""
        self.restore_node(node)
        self.touch(node.id)
        self.record(node.id, 'created', stamp if stamp is not None else node.first_seen,
                    {'label': node.label, 'layer': node.layer})
        return node

    def restore_node(self, node: SceneNode) -> SceneNode:
        """Insert and index a node without recording anything (`add_node` records).

        Used as is for nodes loaded from storage: their history is restored with them.
        Objects and furniture are indexed by box, places by position.
        """
        if node.layer not in LAYERS:
            raise ValueError(f'unknown layer {node.layer!r} for node {node.id}')
        self.nodes[node.id] = node
        self.edges.add_node(node.id)
        self.bump(node.id)
        self.by_label.setdefault(node.label, set()).add(node.id)
        if node.layer in ('object', 'furniture'):
            self.index.upsert(node.id, node.aabb_min, node.aabb_max)
        elif node.layer == 'place':
            self.index.upsert(node.id, node.position)
        return node

    def put_node(self, node: SceneNode) -> SceneNode:
        """Insert `node` or replace the node of its id, recording nothing (remote copies).

        The replaced node's edges stay (the caller sets the new outgoing ones); its label
        and index entries follow the new node.
        """
        old = self.nodes.get(node.id)
        if old is not None:
            bucket = self.by_label.get(old.label)
            if bucket is not None:
                bucket.discard(node.id)
                if not bucket:
                    del self.by_label[old.label]
            self.index.remove(node.id)
        return self.restore_node(node)

    def drop_node(self, node_id: str, merged_into: str | None = None) -> None:
        """Delete a node as another writer already did (`remove_node` without a record).

        Nothing is journaled or marked removed: the deletion is already stored.
        """
        removed, journal = self.removed, self.journal
        self.removed, self.journal = set(), []
        try:
            self.remove_node(node_id, 0.0, merged_into)
        finally:
            self.removed, self.journal = removed, journal
        hist = self.history.get(node_id)
        if hist and hist[-1].kind in ('merged', 'removed') and hist[-1].stamp == 0.0:
            hist.pop()  # the stored history has the real event
            if not hist:
                del self.history[node_id]

    def relabel(self, node: SceneNode, label: str) -> None:
        """Change a node's label, keeping the label index right."""
        if label == node.label:
            return
        bucket = self.by_label.get(node.label)
        if bucket is not None:
            bucket.discard(node.id)
            if not bucket:
                del self.by_label[node.label]
        self.by_label.setdefault(label, set()).add(node.id)
        node.label = label
        self.bump(node.id)

    def move(
        self, node: SceneNode, position: np.ndarray, extent: np.ndarray | None = None
    ) -> None:
        """Set a node's position (and extent) and keep the spatial index right."""
        node.position = np.asarray(position, dtype=float)
        if extent is not None:
            node.extent = np.asarray(extent, dtype=float)
        if node.layer in ('furniture', 'object'):
            self.index.upsert(node.id, node.aabb_min, node.aabb_max)
        self.bump(node.id)

    def remove_node(self, node_id: str, stamp: float, merged_into: str | None = None) -> None:
        """Delete a node and its edges; with `merged_into`, keep a forwarding id."""
        node = self.nodes.pop(node_id, None)
        if node is None:
            return
        if node_id in self.edges:
            # Edges into the node go with it: their sources' edge lists changed too.
            for src in list(self.edges.predecessors(node_id)):
                self.bump(src)
            self.edges.remove_node(node_id)
        self.bump(node_id)  # the clock moves on for a removal too
        del self.changes[node_id]
        self.index.remove(node_id)
        bucket = self.by_label.get(node.label)
        if bucket is not None:
            bucket.discard(node_id)
            if not bucket:
                del self.by_label[node.label]
        if merged_into is not None:
            self.merged_into[node_id] = merged_into
            self.record(node_id, 'merged', stamp, {'into': merged_into})
        else:
            self.record(node_id, 'removed', stamp, {})
        self.dirty.discard(node_id)
        self.removed.add(node_id)
        self.revision += 1

    def touch(self, node_id: str) -> None:
        """Mark a node changed (for persistence, deltas and per-node caches)."""
        self.dirty.add(node_id)
        self.revision += 1
        self.bump(node_id)

    def bump(self, node_id: str) -> None:
        """Advance a node's change counter (not its dirty mark: see `touch`)."""
        self.clock += 1
        self.changes[node_id] = self.clock

    # ---- edges ---------------------------------------------------------------------
    def set_edge(self, src: str, dst: str, kind: str) -> None:
        """Add or re-kind the edge src -> dst."""
        if kind not in EDGE_KINDS:
            raise ValueError(f'unknown edge kind {kind!r}')
        data = self.edges.get_edge_data(src, dst)
        if data is not None and data.get('kind') == kind:
            return
        self.edges.add_edge(src, dst, kind=kind)
        self.touch(src)

    def remove_edge(self, src: str, dst: str) -> None:
        """Remove src -> dst if present."""
        if self.edges.has_edge(src, dst):
            self.edges.remove_edge(src, dst)
            self.touch(src)

    def out_edges(self, node_id: str, kind: str | None = None) -> list[tuple[str, str]]:
        """(dst, kind) pairs of a node's outgoing edges, optionally of one kind."""
        if node_id not in self.edges:
            return []
        return [(d, k) for _, d, k in self.edges.out_edges(node_id, data='kind')
                if kind is None or k == kind]

    def in_edges(self, node_id: str, kind: str | None = None) -> list[tuple[str, str]]:
        """(src, kind) pairs of a node's incoming edges, optionally of one kind."""
        if node_id not in self.edges:
            return []
        return [(s, k) for s, _, k in self.edges.in_edges(node_id, data='kind')
                if kind is None or k == kind]

    def parent(self, node_id: str) -> str | None:
        """The node's parent in the layer hierarchy, if any."""
        for dst, _ in self.out_edges(node_id, 'parent'):
            return dst
        return None

    def set_parent(self, node_id: str, parent_id: str | None) -> None:
        """Attach a node to exactly one parent (replacing an older one)."""
        for dst, _ in self.out_edges(node_id, 'parent'):
            if dst != parent_id:
                self.remove_edge(node_id, dst)
        if parent_id is not None:
            self.set_edge(node_id, parent_id, 'parent')

    def support(self, node_id: str) -> tuple[str, str] | None:
        """The (receptacle id, 'on'|'in') an object rests on or in, if any."""
        for dst, kind in self.out_edges(node_id):
            if kind in ('on', 'in'):
                return dst, kind
        return None

    # ---- history -------------------------------------------------------------------
    def record(self, node_id: str, kind: str, stamp: float, detail: dict[str, Any]) -> None:
        """Append a change event to the node's history and the journal."""
        self.seq += 1
        ev = ChangeEvent(self.seq, float(stamp), node_id, kind, detail)
        hist = self.history.get(node_id)
        if hist is None:
            hist = self.history[node_id] = deque(maxlen=self.history_per_node)
        hist.append(ev)
        self.journal.append(ev)

    def forget_history_before(self, cut: float) -> int:
        """Drop kept events older than `cut` (retention); returns how many went.

        Advances the change clock when any did (the exported history changed).
        """
        dropped = 0
        for nid in list(self.history):
            hist = self.history[nid]
            while hist and hist[0].stamp < cut:
                hist.popleft()
                dropped += 1
            if not hist:
                del self.history[nid]
        if dropped:
            self.clock += 1
        return dropped

    def node_history(self, node_id: str) -> list[ChangeEvent]:
        """Every kept event of a node, including events of nodes merged into it."""
        target = self.resolve(node_id)
        ids = {target} | {k for k in self.merged_into if self.resolve(k) == target}
        events = [ev for i in ids for ev in self.history.get(i, ())]
        return sorted(events, key=lambda e: e.seq)

    def drain(self) -> tuple[set[str], set[str], list[ChangeEvent]]:
        """Take and clear (dirty ids, removed ids, journal) since the last drain."""
        out = (self.dirty, self.removed, self.journal)
        self.dirty, self.removed, self.journal = set(), set(), []
        return out

    # ---- spatial -------------------------------------------------------------------
    def within_radius(
        self, center: Iterable[float], radius: float, layers: Iterable[str] | None = None
    ) -> list[tuple[float, SceneNode]]:
        """(distance, node) pairs within `radius` of `center`, nearest (then by id) first."""
        c = np.asarray(list(center), dtype=float)
        allowed = set(layers) if layers is not None else None
        out = []
        r2 = radius * radius
        for nid in self.index.candidates(c, radius):
            node = self.nodes[nid]
            if allowed is not None and node.layer not in allowed:
                continue
            d = node.position - c
            d2 = float(d @ d)
            if d2 <= r2:
                out.append((math.sqrt(d2), node))
        out.sort(key=lambda t: (t[0], t[1].id))  # ties by id: the same answer every time
        return out

    def nearest(
        self, center: Iterable[float], k: int = 1, layers: Iterable[str] | None = None,
        max_radius: float = 64.0,
    ) -> list[tuple[float, SceneNode]]:
        """The `k` nearest indexed nodes to `center` (growing rings of the hash grid)."""
        c = np.asarray(list(center), dtype=float)
        radius = self.index.cell
        while True:
            found = self.within_radius(c, radius, layers)
            if len(found) >= k or radius >= max_radius:
                return found[:k]
            radius *= 2.0
