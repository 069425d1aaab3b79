"""Read-only questions to the scene graph: by label, free text, room, relation, space.

Label and spatial queries go through the graph's indexes, so they cost the size of the
answer, not of the home. Free text is matched against the embeddings of the distinct
labels in memory (a home has hundreds of labels, not thousands), then expanded to the
nodes carrying those labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from memory_nodes.domain.labels import normalize_label
from memory_nodes.memory.embeddings import TextEmbedder
from memory_nodes.memory.scene_graph import ChangeEvent, SceneGraph, SceneNode

PHYSICAL = ('object', 'furniture')


def _present(node: SceneNode, include_absent: bool) -> bool:
    return include_absent or node.status != 'absent'


class SceneQueries:
    """Query API over a `SceneGraph` (the embedder is only needed for `by_text`)."""

    def __init__(self, graph: SceneGraph, embedder: TextEmbedder | None = None) -> None:
        self.graph = graph
        self.embedder = embedder
        self._label_cache: tuple[frozenset[str], list[str], np.ndarray] | None = None

    def _resolve_targets(self, target: str) -> list[SceneNode]:
        node = self.graph.get(target)
        if node is not None:
            return [node]
        return self.by_label(target, include_absent=True)

    def by_label(self, label: str, include_absent: bool = False,
                 confirmed_only: bool = False) -> list[SceneNode]:
        """Nodes with this (normalized) label, most confident first.

        Spacing does not matter: 'diningtable', 'DiningTable' and 'dining table' agree.
        """
        key = normalize_label(label)
        ids = self.graph.by_label.get(key)
        if ids is None:
            squashed = key.replace(' ', '')
            ids = {i for lbl, group in self.graph.by_label.items()
                   if lbl.replace(' ', '') == squashed for i in group}
        nodes = [self.graph.nodes[i] for i in ids]
        nodes = [n for n in nodes if _present(n, include_absent)
                 and (not confirmed_only or n.status != 'tentative')]
        nodes.sort(key=lambda n: (-n.confidence, n.id))
        return nodes

    def _label_matrix(self) -> tuple[list[str], np.ndarray]:
        labels = frozenset(lbl for lbl, ids in self.graph.by_label.items()
                           if any(self.graph.nodes[i].layer in PHYSICAL for i in ids))
        if self._label_cache is None or self._label_cache[0] != labels:
            ordered = sorted(labels)
            assert self.embedder is not None
            mat = self.embedder.embed(ordered) if ordered else np.zeros((0, 384), np.float32)
            self._label_cache = (labels, ordered, mat)
        return self._label_cache[1], self._label_cache[2]

    def by_text(self, text: str, k: int = 5, include_absent: bool = False,
                min_similarity: float = 0.0) -> list[tuple[float, SceneNode]]:
        """Top-k (cosine similarity, node) for a free-text description."""
        if self.embedder is None:
            raise RuntimeError('by_text needs a TextEmbedder')
        labels, mat = self._label_matrix()
        if not labels:
            return []
        q = self.embedder.embed([text])[0]
        sims = mat @ q
        order = np.argsort(-sims)
        out: list[tuple[float, SceneNode]] = []
        for i in order:
            s = float(sims[i])
            if s < min_similarity:
                break
            for node in self.by_label(labels[i], include_absent):
                if node.layer in PHYSICAL:
                    out.append((s, node))
            if len(out) >= k:
                break
        return out[:k]

    def in_room(self, room: str, layers: Iterable[str] = PHYSICAL,
                include_absent: bool = False) -> list[SceneNode]:
        """Nodes assigned to a room given by id or name."""
        room_node = self.graph.get(room)
        if room_node is None or room_node.layer != 'room':
            matches = [n for n in self.by_label(room, True) if n.layer == 'room']
            if not matches:
                return []
            room_node = matches[0]
        wanted = set(layers)
        return sorted(
            (self.graph.nodes[s] for s, _ in self.graph.in_edges(room_node.id, 'parent')
             if self.graph.nodes[s].layer in wanted
             and _present(self.graph.nodes[s], include_absent)),
            key=lambda n: n.id)

    def related(self, relation: str, target: str,
                include_absent: bool = False) -> list[SceneNode]:
        """Nodes that are `relation` ('in', 'on', 'near') the target id or label.

        `related('in', 'fridge')` answers "what is in the fridge".
        """
        out: dict[str, SceneNode] = {}
        for tgt in self._resolve_targets(target):
            for src, _ in self.graph.in_edges(tgt.id, relation):
                node = self.graph.nodes[src]
                if _present(node, include_absent):
                    out[src] = node
        return sorted(out.values(), key=lambda n: n.id)

    def where(self, target: str) -> list[dict[str, Any]]:
        """Answer "where is the X": room, support and position of each match."""
        out = []
        for node in self._resolve_targets(target):
            if node.layer not in PHYSICAL:
                continue
            item = node.summary()
            room = self.graph.nodes.get(node.room) if node.room else None
            item['room_name'] = room.label if room is not None else None
            sup = self.graph.support(node.id)
            if sup is not None:
                item['support'] = {'id': sup[0], 'relation': sup[1],
                                   'label': self.graph.nodes[sup[0]].label}
            out.append(item)
        return out

    def within_radius(self, point: Iterable[float], radius: float,
                      layers: Iterable[str] = PHYSICAL,
                      include_absent: bool = False) -> list[tuple[float, SceneNode]]:
        """(distance, node) within `radius` metres of `point`, nearest first."""
        return [(d, n) for d, n in self.graph.within_radius(point, radius, layers)
                if _present(n, include_absent)]

    def nearest(self, point: Iterable[float], k: int = 1,
                layers: Iterable[str] = PHYSICAL) -> list[tuple[float, SceneNode]]:
        """The k nearest nodes to `point` (any status)."""
        return self.graph.nearest(point, k, layers)

    def history(self, node_id: str) -> list[ChangeEvent]:
        """Change events of a node (and of nodes merged into it), oldest first."""
        return self.graph.node_history(node_id)
