"""Exports: a collapsed, token-bounded view for planners and a full JSON round trip.

The collapsed view follows SayPlan: rooms first with counts, furniture with what rests
on/in it as counts, and objects listed only where the planner's focus points (a room, a
receptacle, a label, an id). It is grown greedily and never exceeds the token budget.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memory_nodes.domain.labels import normalize_label
from memory_nodes.memory.fusion import voxel_keys
from memory_nodes.memory.scene_graph import ChangeEvent, SceneGraph, SceneNode
from memory_nodes.memory.timeline import NodeVersion, Timeline

SCHEMA_VERSION = 2
#: Older versions `graph_from_dict` still reads (1: no timeline).
READABLE_VERSIONS = (1, 2)


@dataclass
class CollapsedExport:
    """A planner-facing text view of memory and how it was cut to fit."""

    text: str
    tokens: int
    truncated: bool
    expanded: list[str] = field(default_factory=list)


def estimate_tokens(text: str, chars_per_token: float = 4.0) -> int:
    """Rough token count (about 4 characters per token for English-like text)."""
    return int(math.ceil(len(text) / chars_per_token))


def _states(node: SceneNode) -> str:
    if not node.states:
        return ''
    return ' [' + ','.join(f'{k}={v}' for k, v in sorted(node.states.items())) + ']'


def _absent(node: SceneNode) -> str:
    return ' (absent?)' if node.status == 'absent' else ''


def collapsed_export(
    graph: SceneGraph, token_budget: int, focus: Iterable[str] = (),
    chars_per_token: float = 4.0, max_expanded_per_room: int = 40,
) -> CollapsedExport:
    """Build the collapsed view within `token_budget` tokens, expanding `focus`.

    Rooms come first (focused ones first), each with its furniture and what rests on or
    in it as counts, then the objects the focus names (a room, a receptacle, a label, an
    id), as long as the budget lasts. One call builds it from nothing; a memory that is
    asked again and again keeps a `CollapsedExporter`, which reuses what did not change.
    """
    return CollapsedExporter(max_answers=1).export(graph, token_budget, focus,
                                                   chars_per_token, max_expanded_per_room)


class _View:
    """What every collapsed export of one graph revision shares (built on demand)."""

    def __init__(self, graph: SceneGraph) -> None:
        self.rooms = sorted(graph.layer('room'), key=lambda n: n.label)
        self.members: dict[str, list[SceneNode]] = {r.id: [] for r in self.rooms}
        furniture = objects = 0
        for node in graph.nodes.values():
            layer = node.layer
            if layer == 'furniture':
                furniture += 1
            elif layer == 'object':
                objects += 1
            else:
                continue
            found = self.members.get(node.room) if node.room is not None else None
            if found is not None:
                found.append(node)
        self.header = f'home: {len(self.rooms)} rooms, {furniture} furniture, {objects} objects'
        self.short: dict[str, str] = {}
        self.room_objects: dict[str, list[SceneNode]] = {}
        for r in self.rooms:
            ms = self.members[r.id]
            self.room_objects[r.id] = [m for m in ms if m.layer == 'object']
            nf = len(ms) - len(self.room_objects[r.id])
            self.short[r.id] = f'- {r.label} [{r.id}]: {nf} furniture, {len(ms) - nf} objects'
        self.long: dict[str, str] = {}
        self.contents: dict[str, list[tuple[str, SceneNode]]] = {}
        #: focus -> (hits by room in sorted id order, rooms in focus).
        self.focus: dict[tuple[str, ...], tuple[dict[str, list[SceneNode]], set[str]]] = {}


class CollapsedExporter:
    """`collapsed_export` with caches: the same text, most of it not computed again.

    While the graph's revision (its change clock, node and merged-id counts) stays the
    same, rooms, room membership, room lines, focus matches and whole answers per
    (budget, focus, chars per token, expansion cap) are reused; across revisions, each
    object's support and listing line are reused while the node's change counter (and
    its support's) is unchanged. One instance serves one graph at a time; a graph's
    `clear` or another graph starts it over.
    """

    def __init__(self, max_answers: int = 64) -> None:
        self.max_answers = max_answers
        self._graph_key: tuple[int, int] | None = None
        self._revision: tuple[int, int, int] | None = None
        self._view: _View | None = None
        self._answers: dict[tuple[Any, ...], CollapsedExport] = {}
        self._support: dict[str, tuple[int, tuple[str, str] | None]] = {}
        self._lines: dict[str, tuple[tuple[Any, ...], str]] = {}
        #: Whole answers served from the cache / built: for tests and benchmarks.
        self.counts = {'cached': 0, 'built': 0, 'views': 0}

    def export(self, graph: SceneGraph, token_budget: int, focus: Iterable[str] = (),
               chars_per_token: float = 4.0, max_expanded_per_room: int = 40
               ) -> CollapsedExport:
        """Equal to `collapsed_export(graph, ...)` with the same arguments."""
        focus_key = tuple(f for f in focus if f)
        key = (token_budget, focus_key, chars_per_token, max_expanded_per_room)
        self._sync(graph)
        answer = self._answers.get(key)
        if answer is None:
            if self._view is None:
                self._view = _View(graph)
                self.counts['views'] += 1
            answer = self._build(graph, self._view, token_budget, focus_key,
                                 chars_per_token, max_expanded_per_room)
            if len(self._answers) >= self.max_answers:
                self._answers.clear()
            self._answers[key] = answer
            self.counts['built'] += 1
        else:
            self.counts['cached'] += 1
        return CollapsedExport(answer.text, answer.tokens, answer.truncated,
                               list(answer.expanded))

    def _sync(self, graph: SceneGraph) -> None:
        key = (id(graph), graph.epoch)
        if key != self._graph_key:
            self._graph_key = key
            self._revision = None
            self._support.clear()
            self._lines.clear()
        revision = (graph.clock, len(graph.nodes), len(graph.merged_into))
        if revision != self._revision:
            self._revision = revision
            self._view = None
            self._answers.clear()
            limit = 2 * len(graph.nodes) + 64
            if len(self._support) > limit:
                self._support = {k: v for k, v in self._support.items() if k in graph.nodes}
            if len(self._lines) > limit:
                self._lines = {k: v for k, v in self._lines.items() if k in graph.nodes}

    def _support_of(self, graph: SceneGraph, node_id: str) -> tuple[str, str] | None:
        tick = graph.changes.get(node_id, -1)
        hit = self._support.get(node_id)
        if hit is None or hit[0] != tick:
            hit = self._support[node_id] = (tick, graph.support(node_id))
        return hit[1]

    def _contents(self, graph: SceneGraph, view: _View, fid: str
                  ) -> list[tuple[str, SceneNode]]:
        found = view.contents.get(fid)
        if found is None:
            found = view.contents[fid] = [(k, graph.nodes[s]) for s, k in graph.in_edges(fid)
                                          if k in ('on', 'in')]
        return found

    def _room_long(self, graph: SceneGraph, view: _View, r: SceneNode) -> str:
        line = view.long.get(r.id)
        if line is not None:
            return line
        parts = []
        for m in sorted(view.members[r.id], key=lambda n: n.label):
            if m.layer != 'furniture':
                continue
            c = self._contents(graph, view, m.id)
            kinds = {k for k, _ in c}
            cnt = f' ({"/".join(sorted(kinds))} {len(c)})' if c else ''
            parts.append(f'{m.label} {m.id}{_states(m)}{cnt}')
        loose = sum(1 for m in view.room_objects[r.id] if self._support_of(graph, m.id) is None)
        tail = f'; {loose} loose objects' if loose else ''
        line = view.long[r.id] = f'- {r.label} [{r.id}]: ' + ', '.join(parts) + tail
        return line

    def _obj_line(self, graph: SceneGraph, n: SceneNode) -> str:
        changes = graph.changes
        sup = self._support_of(graph, n.id)
        key = (changes.get(n.id, -1), sup, changes.get(sup[0], -1) if sup else None)
        hit = self._lines.get(n.id)
        if hit is None or hit[0] != key:
            where = f' {sup[1]} {graph.nodes[sup[0]].label} {sup[0]}' if sup else ''
            p = n.position
            hit = self._lines[n.id] = (key, f'  * {n.label} {n.id}{where} at '
                                            f'({p[0]:.2f},{p[1]:.2f},{p[2]:.2f})'
                                            f'{_states(n)}{_absent(n)}')
        return hit[1]

    def _focus(self, graph: SceneGraph, view: _View, focus: tuple[str, ...]
               ) -> tuple[dict[str, list[SceneNode]], set[str]]:
        found = view.focus.get(focus)
        if found is not None:
            return found
        hits: set[str] = set()
        focus_rooms: set[str] = set()
        for f in focus:
            nid = graph.resolve(f)
            if nid in graph.nodes:
                hits.add(nid)
                continue
            key = normalize_label(f)
            for lbl, ids in graph.by_label.items():
                if lbl == key or (len(key) > 2 and key in lbl):
                    hits.update(ids)
        for nid in list(hits):
            n = graph.nodes[nid]
            if n.layer == 'room':
                focus_rooms.add(nid)
                hits.discard(nid)
            elif n.room:
                focus_rooms.add(n.room)
        by_room: dict[str, list[SceneNode]] = {}
        for h in sorted(hits):
            n = graph.nodes[h]
            by_room.setdefault(n.room, []).append(n)  # type: ignore[arg-type]
        found = view.focus[focus] = (by_room, focus_rooms)
        return found

    def _build(self, graph: SceneGraph, view: _View, token_budget: int,
               focus: tuple[str, ...], chars_per_token: float, max_expanded_per_room: int
               ) -> CollapsedExport:
        hits_by_room, focus_rooms = self._focus(graph, view, focus)
        header = view.header
        budget_chars = int(token_budget * chars_per_token)
        used = len(header) + 1
        truncated = False
        room_lines: dict[str, str] = {}
        ordered = sorted(view.rooms, key=lambda r: (r.id not in focus_rooms, r.label))
        for r in ordered:
            line = view.short[r.id]
            if used + len(line) + 1 > budget_chars:
                truncated = True
                break
            room_lines[r.id] = line
            used += len(line) + 1
        for r in ordered:
            if r.id not in room_lines:
                continue
            if budget_chars - used < 40:
                truncated = True
                break
            line = self._room_long(graph, view, r)
            extra = len(line) - len(room_lines[r.id])
            if used + extra > budget_chars:
                truncated = True
                continue
            room_lines[r.id] = line
            used += extra
        expansions: dict[str, list[str]] = {rid: [] for rid in room_lines}
        expanded: list[str] = []
        for r in ordered:
            if r.id not in room_lines:
                continue
            wanted = hits_by_room.get(r.id, [])
            if r.id in focus_rooms and not wanted:
                wanted = view.room_objects[r.id]
            listed: list[SceneNode] = []
            for n in wanted:
                if n.layer == 'furniture':
                    listed.extend(s for _, s in self._contents(graph, view, n.id))
                else:
                    listed.append(n)
            for n in listed[:max_expanded_per_room]:
                line = self._obj_line(graph, n)
                if used + len(line) + 1 > budget_chars:
                    truncated = True
                    break
                expansions[r.id].append(line)
                expanded.append(n.id)
                used += len(line) + 1
        lines = [header]
        for r in ordered:
            if r.id in room_lines:
                lines.append(room_lines[r.id])
                lines.extend(expansions[r.id])
        text = '\n'.join(lines)
        if len(text) > budget_chars:
            text = text[:budget_chars]
            truncated = True
        return CollapsedExport(text, estimate_tokens(text, chars_per_token), truncated,
                               expanded)


# ---- full JSON ---------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, deque):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def node_to_dict(node: SceneNode, include_points: bool = True) -> dict[str, Any]:
    """Every persistent field of a node as JSON-friendly values."""
    d = node.summary()
    d.update({
        'position': [float(v) for v in node.position],
        'extent': [float(v) for v in node.extent],
        'confidence': float(node.confidence),
        'label_scores': _jsonable(node.label_scores),
        'first_absent': node.first_absent,
        'last_absent': node.last_absent,
        'attrs': _jsonable(node.attrs),
        'states': _jsonable(node.states),
    })
    if include_points:
        d['points'] = (np.round(node.points.astype(np.float64), 4).tolist()
                       if node.points is not None else None)
        d['embedding'] = (np.round(node.embedding.astype(np.float64), 6).tolist()
                          if node.embedding is not None else None)
    return d


def node_from_dict(d: dict[str, Any]) -> SceneNode:
    """Inverse of `node_to_dict`."""
    pts = d.get('points')
    emb = d.get('embedding')
    node = SceneNode(
        id=d['id'], layer=d['layer'], label=d['label'],
        position=np.asarray(d['position'], dtype=float),
        extent=np.asarray(d['extent'], dtype=float),
        confidence=float(d['confidence']),
        first_seen=float(d['first_seen']), last_seen=float(d['last_seen']),
        observations=int(d['observations']), states=dict(d.get('states') or {}),
        points=np.asarray(pts, dtype=np.float32).reshape(-1, 3) if pts else None,
        embedding=np.asarray(emb, dtype=np.float32) if emb else None,
        room=d.get('room'), status=d.get('status', 'confirmed'),
        label_scores={k: float(v) for k, v in (d.get('label_scores') or {}).items()},
        first_absent=d.get('first_absent'), last_absent=d.get('last_absent'),
        attrs=dict(d.get('attrs') or {}),
    )
    return node


def restore_voxel_keys(node: SceneNode, voxel: float) -> None:
    """Recompute the cached voxel keys of a loaded node's cloud."""
    if node.points is not None and len(node.points):
        node.voxel_keys = np.unique(voxel_keys(node.points.astype(np.float64), voxel))


def graph_to_dict(graph: SceneGraph, include_points: bool = True,
                  timeline: Timeline | None = None) -> dict[str, Any]:
    """The whole graph (nodes, edges, merges, history, counters, timeline) as plain data."""
    data = {
        'schema_version': SCHEMA_VERSION,
        'id_counter': graph.id_counter,
        'seq': graph.seq,
        'nodes': [node_to_dict(n, include_points) for n in graph.nodes.values()],
        'edges': [[s, d, k] for s, d, k in graph.edges.edges(data='kind')],
        'merged_into': dict(graph.merged_into),
        'history': [ev.to_dict() for hist in graph.history.values() for ev in hist],
    }
    if timeline is not None:
        data['timeline'] = {
            'horizon': timeline.horizon, 'seq': timeline.seq,
            'versions': [v.to_dict() for vs in timeline.versions.values() for v in vs]}
    return data


#: `json.dumps(..., separators=(',', ':'))` without building an encoder per call.
_ENCODE = json.JSONEncoder(separators=(',', ':')).encode


class GraphJson:
    """`graph_to_dict(graph, include_points)` as compact JSON, rebuilt incrementally.

    The text equals `json.dumps(graph_to_dict(graph, include_points), separators=(',',
    ':'))` byte for byte, but it is assembled from cached fragments: one per node and one
    per node's outgoing edges, both reused while the node's change counter
    (`SceneGraph.changes`) is unchanged, and one per node's history, reused while the
    history's length and first and last event are (a changed history re-encodes only the
    events it did not have). The counters, merged ids and the layout are encoded afresh
    every time. One instance serves one graph at a time; a graph's `clear` (a new epoch)
    or another graph starts it over.
    """

    def __init__(self, include_points: bool = False) -> None:
        self.include_points = include_points
        self._graph_key: tuple[int, int] | None = None
        self._nodes: dict[str, tuple[int, str]] = {}
        self._edges: dict[str, tuple[tuple[int, int], str]] = {}
        self._history: dict[str, tuple[tuple[int, int, int], list[int], list[str], str]] = {}
        #: Fragments encoded so far (nodes, edge lists, history events): for tests.
        self.encoded = {'nodes': 0, 'edges': 0, 'events': 0}

    def reset(self) -> None:
        """Drop every cached fragment."""
        self._nodes.clear()
        self._edges.clear()
        self._history.clear()

    def dumps(self, graph: SceneGraph) -> str:
        """The graph's JSON text (see the class docstring)."""
        key = (id(graph), graph.epoch)
        if key != self._graph_key:
            self.reset()
            self._graph_key = key
        parts = [f'{{"schema_version":{_ENCODE(SCHEMA_VERSION)},'
                 f'"id_counter":{_ENCODE(graph.id_counter)},"seq":{_ENCODE(graph.seq)},'
                 f'"nodes":[', self._node_text(graph), '],"edges":[', self._edge_text(graph),
                 '],"merged_into":', _ENCODE(dict(graph.merged_into)), ',"history":[',
                 self._history_text(graph), ']}']
        return ''.join(parts)

    def _node_text(self, graph: SceneGraph) -> str:
        cache, changes, points = self._nodes, graph.changes, self.include_points
        out = []
        for nid, node in graph.nodes.items():
            tick = changes.get(nid, -1)
            hit = cache.get(nid)
            if hit is None or hit[0] != tick:
                hit = cache[nid] = (tick, _ENCODE(node_to_dict(node, points)))
                self.encoded['nodes'] += 1
            out.append(hit[1])
        if len(cache) > 2 * len(graph.nodes) + 64:  # forget removed nodes now and then
            self._nodes = {k: v for k, v in cache.items() if k in graph.nodes}
        return ','.join(out)

    def _edge_text(self, graph: SceneGraph) -> str:
        cache, changes = self._edges, graph.changes
        out = []
        # The DiGraph's own successor dicts (its views cost more than the encoding saves).
        for src, succ in graph.edges._succ.items():
            if not succ:
                continue
            # The length guards against edges added without a touch (loaders).
            tick = (changes.get(src, -1), len(succ))
            hit = cache.get(src)
            if hit is None or hit[0] != tick:
                text = ','.join(_ENCODE([src, dst, data.get('kind')])
                                for dst, data in succ.items())
                hit = cache[src] = (tick, text)
                self.encoded['edges'] += 1
            out.append(hit[1])
        if len(cache) > 2 * len(graph.nodes) + 64:
            self._edges = {k: v for k, v in cache.items() if k in graph.edges}
        return ','.join(out)

    def _history_text(self, graph: SceneGraph) -> str:
        cache = self._history
        out = []
        for nid, hist in graph.history.items():
            if not hist:
                continue
            key = (len(hist), hist[0].seq, hist[-1].seq)
            hit = cache.get(nid)
            if hit is None or hit[0] != key:
                seqs = [ev.seq for ev in hist]
                known = (dict(zip(hit[1], hit[2]))
                         if hit is not None and len(set(seqs)) == len(seqs) else {})
                frags = []
                for ev in hist:
                    frag = known.get(ev.seq)
                    if frag is None:
                        frag = _ENCODE(ev.to_dict())
                        self.encoded['events'] += 1
                    frags.append(frag)
                hit = cache[nid] = (key, seqs, frags, ','.join(frags))
            out.append(hit[3])
        if len(cache) > 2 * len(graph.history) + 64:
            self._history = {k: v for k, v in cache.items() if k in graph.history}
        return ','.join(out)


def graph_from_dict(data: dict[str, Any], graph: SceneGraph,
                    timeline: Timeline | None = None) -> SceneGraph:
    """Fill an empty `graph` (and `timeline`) from `graph_to_dict` output.

    Checks the schema version; a version 1 file has no timeline (the caller seeds one).
    """
    version = data.get('schema_version')
    if version not in READABLE_VERSIONS:
        raise ValueError(f'scene graph schema version {version} is not supported '
                         f'(this build reads version {SCHEMA_VERSION})')
    for d in data['nodes']:
        graph.restore_node(node_from_dict(d))
    for s, d, k in data['edges']:
        if s in graph.nodes and d in graph.nodes:
            graph.edges.add_edge(s, d, kind=k)
    graph.merged_into.update(data.get('merged_into') or {})
    for ev in sorted(data.get('history') or [], key=lambda e: e['seq']):
        hist = graph.history.setdefault(ev['node_id'], deque(maxlen=graph.history_per_node))
        hist.append(ChangeEvent(ev['seq'], ev['stamp'], ev['node_id'], ev['kind'],
                                ev.get('detail') or {}))
    graph.id_counter = int(data.get('id_counter', 0))
    graph.seq = int(data.get('seq', 0))
    tl = data.get('timeline')
    if timeline is not None and tl:
        horizon = tl.get('horizon')
        timeline.restore([NodeVersion.from_dict(v) for v in tl.get('versions') or []],
                         float(horizon) if horizon is not None else None,
                         int(tl.get('seq', 0)))
    return graph
