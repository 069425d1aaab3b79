"""Fuse object observations into scene graph nodes.

Association scores each candidate node (found through the spatial hash, never a scan)
by geometry -- the larger of voxel overlap and axis-aligned 3D IoU -- and by semantics
(same label, label history, embedding cosine). Strong geometric overlap wins over a
differing label, because detectors mislabel far more often than two objects occupy the
same voxels. Clouds are merged by voxel downsampling with a point cap and periodically
denoised with DBSCAN; duplicates are merged periodically, leaving merged-into ids.
Large furniture seen in parts becomes one node (`FusionConfig.merge_furniture_parts`):
parts of one type merge when one mask covers both, or when the box around them is no
larger than one piece of that type can be.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from memory_nodes.domain.labels import label_key
from memory_nodes.memory.config import FusionConfig
from memory_nodes.memory.detector_profile import DetectorProfile, confusion_groups
from memory_nodes.memory.observation import ObjectObservation
from memory_nodes.memory.scene_graph import SceneGraph, SceneNode

_LOG = logging.getLogger(__name__)
_OFFSET = 1 << 20


def voxel_keys(points: np.ndarray, voxel: float) -> np.ndarray:
    """Pack each point's voxel index into one int64 (21 bits per axis)."""
    idx = np.floor(points / voxel).astype(np.int64) + _OFFSET
    return (idx[:, 0] << 42) | (idx[:, 1] << 21) | idx[:, 2]


def voxel_downsample(points: np.ndarray, voxel: float) -> tuple[np.ndarray, np.ndarray]:
    """Average points per voxel; return (float32 points, sorted unique voxel keys)."""
    keys = voxel_keys(points, voxel)
    uniq, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(uniq)).astype(np.float64)
    out = np.empty((len(uniq), 3), dtype=np.float64)
    for axis in range(3):
        out[:, axis] = np.bincount(inverse, weights=points[:, axis], minlength=len(uniq))
    out /= counts[:, None]
    return out.astype(np.float32), uniq


def dbscan_keep_main(points: np.ndarray, eps: float, min_points: int) -> np.ndarray:
    """Boolean mask of points in the main DBSCAN clusters (noise and specks dropped).

    Clusters smaller than a quarter of the largest are dropped too: they are usually
    background pixels that leaked into the mask.
    """
    n = len(points)
    if n < 2 * min_points:
        return np.ones(n, dtype=bool)
    tree = cKDTree(points)
    pairs = tree.query_pairs(eps, output_type='ndarray')
    degree = np.bincount(pairs.ravel(), minlength=n) + 1
    core = degree >= min_points
    # Core-core pairs build the clusters; border points join through any core neighbour.
    cc = pairs[core[pairs[:, 0]] & core[pairs[:, 1]]]
    graph = coo_matrix((np.ones(len(cc)), (cc[:, 0], cc[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    labels = np.where(core, labels, -1)
    border = pairs[core[pairs[:, 0]] ^ core[pairs[:, 1]]]
    for a, b in border:
        if labels[a] < 0:
            labels[a] = labels[b]
        elif labels[b] < 0:
            labels[b] = labels[a]
    valid = labels >= 0
    if not valid.any():
        return np.ones(n, dtype=bool)
    sizes = np.bincount(labels[valid])
    keep_labels = np.flatnonzero(sizes >= 0.25 * sizes.max())
    return np.isin(labels, keep_labels)


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two boxes given as (min xyz, max xyz) float tuples.

    Plain floats: for 3-vectors Python arithmetic is several times faster than numpy.
    """
    ix = min(a[3], b[3]) - max(a[0], b[0])
    iy = min(a[4], b[4]) - max(a[1], b[1])
    iz = min(a[5], b[5]) - max(a[2], b[2])
    if ix <= 0.0 or iy <= 0.0 or iz <= 0.0:
        return 0.0
    inter = ix * iy * iz
    va = max(a[3] - a[0], 1e-3) * max(a[4] - a[1], 1e-3) * max(a[5] - a[2], 1e-3)
    vb = max(b[3] - b[0], 1e-3) * max(b[4] - b[1], 1e-3) * max(b[5] - b[2], 1e-3)
    return inter / max(va + vb - inter, 1e-12)


def boxes_touch(a: tuple[float, ...], b: tuple[float, ...], margin: float = 0.0) -> bool:
    """Whether two (min xyz, max xyz) boxes overlap once grown by `margin`."""
    return (a[0] - margin <= b[3] and b[0] - margin <= a[3]
            and a[1] - margin <= b[4] and b[1] - margin <= a[4]
            and a[2] - margin <= b[5] and b[2] - margin <= a[5])


def parse_part_sizes(entries: tuple[str, ...] | list[str]
                     ) -> dict[str, tuple[str, tuple[float, float, float]]]:
    """'sofa,couch=2.8x1.2x1.2' entries -> label key -> (family key, (L, S, H)).

    A ValueError names the entry that does not read as labels=LxSxH with positive sizes.
    """
    out: dict[str, tuple[str, tuple[float, float, float]]] = {}
    for entry in entries:
        labels, sep, size = str(entry).partition('=')
        try:
            dims = tuple(float(v) for v in size.lower().split('x'))
        except ValueError:
            dims = ()
        keys = [label_key(lbl) for lbl in labels.split(',') if label_key(lbl)]
        if not sep or not keys or len(dims) != 3 or min(dims) <= 0.0:
            raise ValueError(f'furniture_part_sizes entry {entry!r}: expected '
                             "'label[,label...]=LxSxH' with sizes in metres > 0")
        long_side, short_side, height = dims
        sizes = (max(long_side, short_side), min(long_side, short_side), height)
        for key in keys:
            out[key] = (keys[0], sizes)
    return out


def aabb_iou(lo_a: np.ndarray, hi_a: np.ndarray, lo_b: np.ndarray, hi_b: np.ndarray) -> float:
    """Intersection over union of two axis-aligned boxes given as corner arrays."""
    return box_iou((*lo_a.tolist(), *hi_a.tolist()), (*lo_b.tolist(), *hi_b.tolist()))


@dataclass
class FusionReport:
    """What one `integrate` call did (ids are scene graph node ids)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    merged: list[tuple[str, str]] = field(default_factory=list)
    state_changes: list[str] = field(default_factory=list)
    observation_nodes: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    rejected: int = 0
    elapsed_ms: float = 0.0

    @property
    def associations(self) -> list[str]:
        """Ids that received an observation this frame (created or updated)."""
        return self.created + self.updated


@dataclass
class _Prepared:
    obs: ObjectObservation
    points: np.ndarray
    keys: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    box: tuple[float, ...]


class ObjectFuser:
    """Associates observations with nodes, creates and merges nodes, merges duplicates.

    `label_similarity(a, b)` (optional) gives a semantic similarity in [0, 1] of two
    labels, e.g. from text embeddings, so 'cup' can associate with 'mug'.
    """

    def __init__(
        self,
        graph: SceneGraph,
        config: FusionConfig | None = None,
        label_similarity: Callable[[str, str], float] | None = None,
        profile: DetectorProfile | None = None,
    ) -> None:
        self.graph = graph
        self.config = config or FusionConfig()
        self.label_similarity = label_similarity
        # Label pairs the detector swaps: configured groups plus the measured ones.
        self._confusable = confusion_groups(self.config.confusable_labels) | (
            profile.confusions if profile is not None else frozenset())
        self.track_to_node: dict[int, str] = {}
        self.recently_updated: set[str] = set()
        self.frames = 0
        # Compared as label keys: 'arm chair' (from 'ArmChair') is the listed 'armchair'.
        self._furniture = {label_key(lbl) for lbl in self.config.furniture_labels}
        self._part_sizes = parse_part_sizes(self.config.furniture_part_sizes)
        self._rng = np.random.default_rng(self.config.seed)

    # ---- per frame -----------------------------------------------------------------
    def fuse(self, observations: list[ObjectObservation], report: FusionReport) -> None:
        """Fuse already checked observations into the graph, filling `report`."""
        cfg = self.config
        for obs in observations:
            prep = self._prepare(obs)
            node = self._associate(prep)
            if node is None:
                node = self._create(prep)
                report.created.append(node.id)
            else:
                if self._update(node, prep):
                    report.state_changes.append(node.id)
                if node.id not in report.updated and node.id not in report.created:
                    report.updated.append(node.id)
                if cfg.merge_furniture_parts and node.layer == 'furniture':
                    report.merged.extend(self._merge_parts_in_one_mask(node, prep))
            if node.status == 'tentative' and self.enough_evidence(node):
                node.status = 'confirmed'
                self.graph.record(node.id, 'confirmed', obs.stamp, {})
                report.confirmed.append(node.id)
            report.observation_nodes.append(node.id)
            if obs.track_id is not None:
                self.track_to_node[int(obs.track_id)] = node.id
            self.recently_updated.add(node.id)
        self.frames += 1
        if cfg.duplicate_check_every > 0 and self.frames % cfg.duplicate_check_every == 0:
            report.merged.extend(self.merge_duplicates(self.recently_updated))
            self.recently_updated = set()

    def enough_evidence(self, node: SceneNode) -> bool:
        """Whether a tentative node has been seen often and strongly enough to confirm.

        `min_observations` views, and (with `confirm_evidence`) detection scores summing
        to it: a weak detector needs more views of a thing than a strong one.
        """
        cfg = self.config
        if node.observations < cfg.min_observations:
            return False
        return cfg.confirm_evidence <= 0 or \
            sum(node.label_scores.values()) >= cfg.confirm_evidence - 1e-9

    def confusable(self, a: str, b: str) -> bool:
        """Whether the detector is known to give label `a` for a `b` (or the reverse)."""
        return bool(self._confusable) and \
            frozenset((label_key(a), label_key(b))) in self._confusable

    def _prepare(self, obs: ObjectObservation) -> _Prepared:
        pts, keys = voxel_downsample(np.asarray(obs.points, dtype=np.float64),
                                     self.config.voxel_size)
        lo = pts.min(axis=0).astype(np.float64)
        hi = pts.max(axis=0).astype(np.float64)
        return _Prepared(obs, pts, keys, lo, hi, (*lo.tolist(), *hi.tolist()))

    def semantic_similarity(self, node: SceneNode, obs: ObjectObservation) -> float:
        """Similarity in [0, 1] of an observation's label/embedding to a node's."""
        if obs.label == node.label:
            return 1.0
        total = sum(node.label_scores.values())
        sim = node.label_scores.get(obs.label, 0.0) / total if total > 0 else 0.0
        if obs.embedding is not None and node.embedding is not None:
            sim = max(sim, float(np.dot(obs.embedding, node.embedding)))
        if self.label_similarity is not None and sim < self.config.min_semantic_similarity:
            sim = max(sim, self.label_similarity(obs.label, node.label))
        if sim < self.config.confusable_similarity and self.confusable(obs.label, node.label):
            sim = self.config.confusable_similarity
        return sim

    def geometric_overlap(self, node: SceneNode, prep: _Prepared) -> float:
        """Max of voxel overlap (over the smaller set) and AABB IoU."""
        nbox = node.box()
        if not boxes_touch(prep.box, nbox, self.config.voxel_size):
            return 0.0
        iou = box_iou(prep.box, nbox)
        overlap = 0.0
        if node.voxel_keys is not None and len(node.voxel_keys) and len(prep.keys):
            inter = np.intersect1d(prep.keys, node.voxel_keys, assume_unique=True).size
            overlap = inter / min(len(prep.keys), len(node.voxel_keys))
        return max(iou, overlap)

    def _associate(self, prep: _Prepared) -> SceneNode | None:
        cfg = self.config
        obs = prep.obs
        graph = self.graph
        if obs.track_id is not None:
            nid = self.track_to_node.get(int(obs.track_id))
            node = graph.get(nid) if nid is not None else None
            if node is not None and self.geometric_overlap(node, prep) > 0.0:
                return node
        m = cfg.search_margin
        best, best_score = None, -1.0
        for nid in graph.index.candidates_box(prep.lo - m, prep.hi + m):
            node = graph.nodes[nid]
            geo = self.geometric_overlap(node, prep)
            if geo < cfg.min_geometric_overlap:
                continue
            sem = self.semantic_similarity(node, obs)
            if sem < cfg.min_semantic_similarity and geo < cfg.strong_geometric_overlap:
                continue
            score = cfg.geometric_weight * geo + (1.0 - cfg.geometric_weight) * sem
            if score > best_score:
                best, best_score = node, score
        return best

    def _layer_for(self, label: str, extent: np.ndarray) -> str:
        if label_key(label) in self._furniture \
                or float(extent.max()) >= self.config.furniture_min_size:
            return 'furniture'
        return 'object'

    def _create(self, prep: _Prepared) -> SceneNode:
        obs = prep.obs
        layer = self._layer_for(obs.label, prep.hi - prep.lo)
        node = SceneNode(
            id=self.graph.new_id(layer),
            layer=layer,
            label=obs.label,
            position=(prep.lo + prep.hi) / 2.0,
            extent=prep.hi - prep.lo,
            confidence=float(obs.score),
            first_seen=obs.stamp,
            last_seen=obs.stamp,
            observations=1,
            states=dict(obs.states),
            points=prep.points,
            embedding=obs.embedding,
            room=obs.room,
            label_scores={obs.label: float(obs.score)},
        )
        node.voxel_keys = prep.keys
        self.graph.add_node(node, obs.stamp)
        return node

    def _update(self, node: SceneNode, prep: _Prepared) -> bool:
        """Merge an observation into `node`; return True if a visible state changed."""
        obs = prep.obs
        graph = self.graph
        node.label_scores[obs.label] = node.label_scores.get(obs.label, 0.0) + obs.score
        best_label = max(node.label_scores, key=node.label_scores.__getitem__)
        if best_label != node.label and self.config.vote_labels:
            graph.record(node.id, 'relabeled', obs.stamp, {'from': node.label, 'to': best_label})
            graph.relabel(node, best_label)
        self.set_cloud(node, np.concatenate([node.points, prep.points])
                       if node.points is not None else prep.points)
        if obs.embedding is not None:
            emb = obs.embedding if node.embedding is None else (
                node.embedding * min(node.observations, 20) + obs.embedding)
            node.embedding = (emb / max(float(np.linalg.norm(emb)), 1e-9)).astype(np.float32)
        node.observations += 1
        node.first_seen = min(node.first_seen, obs.stamp)
        node.last_seen = max(node.last_seen, obs.stamp)
        node.confidence = 1.0 - (1.0 - node.confidence) * (1.0 - 0.5 * obs.score)
        if node.status == 'absent':
            node.status = 'confirmed'
            graph.record(node.id, 'reappeared', obs.stamp, {})
        if obs.room and not node.room:
            node.room = obs.room
        changed = {k: v for k, v in obs.states.items() if node.states.get(k) != v}
        if changed:
            node.states.update(changed)
            graph.record(node.id, 'state', obs.stamp, {'states': dict(changed)})
        graph.touch(node.id)
        return bool(changed)

    def set_cloud(self, node: SceneNode, points: np.ndarray) -> None:
        """Replace a node's cloud: downsample, denoise now and then, cap, refit the box."""
        cfg = self.config
        pts, keys = voxel_downsample(np.asarray(points, dtype=np.float64), cfg.voxel_size)
        node.since_denoise += 1
        if node.since_denoise >= cfg.denoise_every:
            node.since_denoise = 0
            mask = dbscan_keep_main(pts, cfg.dbscan_eps, cfg.dbscan_min_points)
            pts, keys = pts[mask], keys[mask]
        if len(pts) > cfg.max_points_per_node:
            keep = np.sort(self._rng.choice(len(pts), cfg.max_points_per_node, replace=False))
            pts, keys = pts[keep], keys[keep]
        node.points = pts
        node.voxel_keys = keys
        lo = pts.min(axis=0).astype(np.float64)
        hi = pts.max(axis=0).astype(np.float64)
        self.graph.move(node, (lo + hi) / 2.0, hi - lo)

    # ---- maintenance ---------------------------------------------------------------
    def merge_duplicates(self, ids: set[str] | None = None) -> list[tuple[str, str]]:
        """Merge nodes that are the same object seen twice; return (merged, kept) pairs."""
        graph = self.graph
        todo = list(ids) if ids is not None else list(graph.nodes)
        merged: list[tuple[str, str]] = []
        for nid in todo:
            node = graph.nodes.get(nid)
            if node is None or node.layer not in ('object', 'furniture'):
                continue
            nbox = node.box()
            for oid in graph.index.candidates_box(node.aabb_min, node.aabb_max):
                if oid == node.id:
                    continue
                other = graph.nodes[oid]
                if other.layer != node.layer or not boxes_touch(nbox, other.box()):
                    continue
                if not self._same_thing(node, other):
                    continue
                keep, drop = self.keep_and_drop(node, other)
                self.merge_nodes(keep, drop)
                merged.append((drop.id, keep.id))
                if drop is node:
                    break
            if self.config.merge_furniture_parts and node.layer == 'furniture':
                while node.id in graph.nodes:
                    drop = self._merge_parts(node)
                    if drop is None:
                        break
                    merged.append((drop.id, graph.resolve(drop.id)))
        return merged

    # ---- large furniture seen in parts ---------------------------------------------
    def furniture_type(self, label: str) -> str:
        """The type key of a furniture label: its `furniture_part_sizes` family or itself."""
        key = label_key(label)
        family = self._part_sizes.get(key)
        return family[0] if family is not None else key

    def plausible_piece(self, label: str, lo: np.ndarray, hi: np.ndarray) -> bool:
        """Whether a box [lo, hi] fits one piece of `label` (False: no size for the type)."""
        family = self._part_sizes.get(label_key(label))
        if family is None:
            return False
        long_max, short_max, height_max = family[1]
        ext = hi - lo
        long_side, short_side = max(ext[0], ext[1]), min(ext[0], ext[1])
        return long_side <= long_max and short_side <= short_max and ext[2] <= height_max

    def _merge_parts_in_one_mask(self, node: SceneNode, prep: _Prepared
                                 ) -> list[tuple[str, str]]:
        """Merge into `node` the other nodes of its type that this observation covers too.

        One mask is one piece: furniture parts it overlaps as much as association needs
        are that piece's parts.
        """
        cfg = self.config
        kind = self.furniture_type(node.label)
        merged: list[tuple[str, str]] = []
        for oid in self.graph.index.candidates_box(prep.lo, prep.hi):
            other = self.graph.nodes.get(oid)
            if other is None or other is node or other.layer != 'furniture' \
                    or self.furniture_type(other.label) != kind:
                continue
            if self.geometric_overlap(other, prep) < cfg.min_geometric_overlap:
                continue
            self.merge_nodes(node, other)
            merged.append((other.id, node.id))
        return merged

    def _merge_parts(self, node: SceneNode) -> SceneNode | None:
        """Merge `node` with a node of its type when both fit one plausible piece.

        Returns the node dropped (`node` itself or the other), or None.
        """
        family = self._part_sizes.get(label_key(node.label))
        if family is None:
            return None
        reach = family[1][0]
        kind = family[0]
        for oid in self.graph.index.candidates_box(node.aabb_min - reach, node.aabb_max + reach):
            other = self.graph.nodes.get(oid)
            if other is None or other is node or other.layer != 'furniture' \
                    or self.furniture_type(other.label) != kind:
                continue
            lo = np.minimum(node.aabb_min, other.aabb_min)
            hi = np.maximum(node.aabb_max, other.aabb_max)
            if not self.plausible_piece(node.label, lo, hi):
                continue
            keep, drop = self.keep_and_drop(node, other)
            self.merge_nodes(keep, drop)
            return drop
        return None

    def _same_thing(self, a: SceneNode, b: SceneNode) -> bool:
        cfg = self.config
        sem = a.label == b.label or (
            a.embedding is not None and b.embedding is not None
            and float(np.dot(a.embedding, b.embedding)) >= cfg.min_semantic_similarity)
        # Labels the detector swaps: one thing only when the clouds overlap (a fork and a
        # knife side by side have close centroids but no common voxels).
        swapped = not sem and self.confusable(a.label, b.label)
        if not sem and not swapped:
            return False
        if not swapped and \
                float(np.linalg.norm(a.position - b.position)) <= cfg.duplicate_centroid_distance:
            return True
        if a.voxel_keys is None or b.voxel_keys is None:
            return False
        inter = np.intersect1d(a.voxel_keys, b.voxel_keys, assume_unique=True).size
        return inter / max(1, min(len(a.voxel_keys), len(b.voxel_keys))) >= cfg.duplicate_overlap

    def keep_and_drop(self, a: SceneNode, b: SceneNode) -> tuple[SceneNode, SceneNode]:
        """Which of two nodes found to be one thing keeps its id, and which is folded in.

        The better-observed one keeps it; with `keep_smaller_id` (robots sharing one
        memory) the smaller id does, so that two robots merging the same pair in their own
        copies always agree on the survivor.
        """
        if self.config.keep_smaller_id:
            return (a, b) if a.id < b.id else (b, a)
        return (a, b) if a.observations >= b.observations else (b, a)

    def merge_nodes(self, keep: SceneNode, drop: SceneNode) -> None:
        """Fold `drop` into `keep`; `drop`'s id then resolves to `keep`."""
        graph = self.graph
        stamp = max(keep.last_seen, drop.last_seen)
        for lbl, s in drop.label_scores.items():
            keep.label_scores[lbl] = keep.label_scores.get(lbl, 0.0) + s
        if self.config.vote_labels and keep.label_scores:
            best_label = max(keep.label_scores, key=keep.label_scores.__getitem__)
            if best_label != keep.label:
                graph.record(keep.id, 'relabeled', stamp, {'from': keep.label, 'to': best_label})
                graph.relabel(keep, best_label)
        if drop.points is not None:
            pts = drop.points if keep.points is None else np.concatenate(
                [keep.points, drop.points])
            self.set_cloud(keep, pts)
        keep.observations += drop.observations
        keep.first_seen = min(keep.first_seen, drop.first_seen)
        if drop.last_seen > keep.last_seen:
            keep.states.update(drop.states)
        keep.last_seen = stamp
        keep.confidence = max(keep.confidence, drop.confidence)
        if keep.status == 'tentative' and drop.status != 'tentative':
            keep.status = drop.status
        if keep.room is None:
            keep.room = drop.room
        # Things resting on or in the dropped node now rest on the kept one.
        for src, kind in graph.in_edges(drop.id):
            if kind in ('on', 'in') and src != keep.id:
                graph.set_edge(src, keep.id, kind)
        for track, nid in list(self.track_to_node.items()):
            if nid == drop.id:
                self.track_to_node[track] = keep.id
        graph.record(keep.id, 'absorbed', stamp, {'from': drop.id})
        graph.remove_node(drop.id, stamp, merged_into=keep.id)
        graph.touch(keep.id)

    def prune_tentative(self, now: float) -> list[str]:
        """Drop tentative nodes not confirmed within the timeout (one-off false positives)."""
        timeout = self.config.tentative_timeout
        stale = [n.id for n in self.graph.nodes.values()
                 if n.status == 'tentative' and now - n.last_seen > timeout]
        for nid in stale:
            self.graph.remove_node(nid, now)
        return stale


def timed_ms(start: float) -> float:
    """Milliseconds since `start` (a `time.perf_counter()` value)."""
    return (time.perf_counter() - start) * 1000.0
