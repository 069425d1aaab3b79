"""Geometric relations between objects and what holds them: `in`, `on`, `near`.

`in`: the object's centroid lies inside a container's box (fridge, cabinet, ...).
`on`: the object's bottom is within a tolerance of a support's top and its centroid is
over the support's footprint. `near`: the closest few neighbours within a distance.
An object has at most one support edge (`in` beats `on`, the tightest box wins), and
relations are recomputed only for nodes that changed.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from memory_nodes.memory.config import RelationConfig
from memory_nodes.memory.scene_graph import SceneGraph, SceneNode

_SUPPORT_LAYERS = ('furniture', 'object')


def _volume(b: tuple[float, ...]) -> float:
    return max(b[3] - b[0], 1e-3) * max(b[4] - b[1], 1e-3) * max(b[5] - b[2], 1e-3)


class RelationEstimator:
    """Keeps `on`/`in`/`near` edges of the scene graph up to date incrementally."""

    def __init__(self, graph: SceneGraph, config: RelationConfig | None = None) -> None:
        self.graph = graph
        self.config = config or RelationConfig()
        self._containers = {c.lower() for c in self.config.container_labels}

    def is_container(self, node: SceneNode) -> bool:
        """Whether things can be inside `node` (by its label)."""
        return node.label in self._containers

    def find_support(self, node: SceneNode) -> tuple[str, str] | None:
        """The (support id, 'in'|'on') for `node` by geometry, or None."""
        cfg = self.config
        lo, hi = node.aabb_min, node.aabb_max
        b = node.box()
        px, py, pz = node.position.tolist()
        n_vol = _volume(b)
        best_in: tuple[float, str] | None = None
        best_on: tuple[float, str] | None = None
        tol, xy, m = cfg.on_height_tolerance, cfg.on_xy_margin, cfg.in_margin
        probe_lo = lo - np.array([0.0, 0.0, tol])
        for sid in self.graph.index.candidates_box(probe_lo, hi):
            if sid == node.id:
                continue
            sup = self.graph.nodes[sid]
            if sup.layer not in _SUPPORT_LAYERS:
                continue
            s = sup.box()
            s_vol = _volume(s)
            if s_vol <= n_vol:
                continue  # a thing rests on or in something bigger than itself
            if (s[0] + m <= px <= s[3] - m and s[1] + m <= py <= s[4] - m
                    and s[2] + m <= pz <= s[5] - m) and self.is_container(sup):
                if best_in is None or s_vol < best_in[0]:
                    best_in = (s_vol, sid)
                continue
            over = s[0] - xy <= px <= s[3] + xy and s[1] - xy <= py <= s[4] + xy
            # Prefer the highest surface: a plate on a table beats the table.
            if over and abs(b[2] - s[5]) <= tol and (best_on is None or s[5] > best_on[0]):
                best_on = (s[5], sid)
        if best_in is not None:
            return best_in[1], 'in'
        if best_on is not None:
            return best_on[1], 'on'
        return None

    def update(self, node_ids: Iterable[str], stamp: float) -> list[str]:
        """Recompute relations of `node_ids` (and of what rests on changed furniture).

        Returns the ids whose support (on/in) changed.
        """
        graph = self.graph
        todo: set[str] = set()
        for nid in node_ids:
            node = graph.nodes.get(nid)
            if node is None:
                continue
            todo.add(nid)
            if node.layer == 'furniture':
                # Furniture that grew or moved can gain or lose what rests on it.
                m = self.config.on_height_tolerance
                todo.update(graph.index.candidates_box(node.aabb_min - m, node.aabb_max + m))
        changed = []
        for nid in todo:
            node = graph.nodes.get(nid)
            if node is None or node.layer != 'object':
                continue
            if self._update_one(node, stamp):
                changed.append(nid)
        return changed

    def _update_one(self, node: SceneNode, stamp: float) -> bool:
        graph = self.graph
        cfg = self.config
        new = self.find_support(node)
        old = graph.support(node.id)
        moved = new != old
        if moved:
            if old is not None:
                graph.remove_edge(node.id, old[0])
            if new is not None:
                graph.set_edge(node.id, new[0], new[1])
            graph.record(node.id, 'relation', stamp, {
                'from': list(old) if old else None, 'to': list(new) if new else None})
        near = [
            n.id for d, n in graph.within_radius(node.position, cfg.near_distance,
                                                 _SUPPORT_LAYERS)
            if n.id != node.id and (new is None or n.id != new[0])
        ][: cfg.max_near_edges]
        old_near = {d for d, _ in graph.out_edges(node.id, 'near')}
        for dst in old_near - set(near):
            graph.remove_edge(node.id, dst)
        for dst in near:
            if dst not in old_near:
                graph.set_edge(node.id, dst, 'near')
        return moved
