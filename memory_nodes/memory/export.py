"""Exports: a collapsed, token-bounded view for planners and a full JSON round trip.

The collapsed view follows SayPlan: rooms first with counts, furniture with what rests
on/in it as counts, and objects listed only where the planner's focus points (a room, a
receptacle, a label, an id). It is grown greedily and never exceeds the token budget.
"""

from __future__ import annotations

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
    """Build the collapsed view within `token_budget` tokens, expanding `focus`."""
    focus = [f for f in focus if f]
    rooms = sorted((n for n in graph.layer('room')), key=lambda n: n.label)
    members: dict[str, list[SceneNode]] = {r.id: [] for r in rooms}
    for node in graph.nodes.values():
        if node.layer in ('object', 'furniture') and node.room in members:
            members[node.room].append(node)
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

    def contents(fid: str) -> list[tuple[str, SceneNode]]:
        return [(k, graph.nodes[s]) for s, k in graph.in_edges(fid) if k in ('on', 'in')]

    def room_short(r: SceneNode) -> str:
        ms = members[r.id]
        nf = sum(1 for m in ms if m.layer == 'furniture')
        return f'- {r.label} [{r.id}]: {nf} furniture, {len(ms) - nf} objects'

    def room_long(r: SceneNode) -> str:
        parts = []
        for m in sorted(members[r.id], key=lambda n: n.label):
            if m.layer != 'furniture':
                continue
            c = contents(m.id)
            kinds = {k for k, _ in c}
            cnt = f' ({"/".join(sorted(kinds))} {len(c)})' if c else ''
            parts.append(f'{m.label} {m.id}{_states(m)}{cnt}')
        loose = sum(1 for m in members[r.id] if m.layer == 'object'
                    and graph.support(m.id) is None)
        tail = f'; {loose} loose objects' if loose else ''
        return f'- {r.label} [{r.id}]: ' + ', '.join(parts) + tail

    def obj_line(n: SceneNode) -> str:
        sup = graph.support(n.id)
        where = f' {sup[1]} {graph.nodes[sup[0]].label} {sup[0]}' if sup else ''
        p = n.position
        return (f'  * {n.label} {n.id}{where} at ({p[0]:.2f},{p[1]:.2f},{p[2]:.2f})'
                f'{_states(n)}{_absent(n)}')

    header = (f'home: {len(rooms)} rooms, '
              f'{sum(1 for n in graph.nodes.values() if n.layer == "furniture")} furniture, '
              f'{sum(1 for n in graph.nodes.values() if n.layer == "object")} objects')
    budget_chars = int(token_budget * chars_per_token)
    used = len(header) + 1
    truncated = False
    room_lines: dict[str, str] = {}
    ordered = sorted(rooms, key=lambda r: (r.id not in focus_rooms, r.label))
    for r in ordered:
        line = room_short(r)
        if used + len(line) + 1 > budget_chars:
            truncated = True
            break
        room_lines[r.id] = line
        used += len(line) + 1
    for r in ordered:
        if r.id not in room_lines:
            continue
        if budget_chars - used < 40:  # no room left to grow any line: skip the work
            truncated = True
            break
        line = room_long(r)
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
        wanted = [graph.nodes[h] for h in sorted(hits) if graph.nodes[h].room == r.id]
        if r.id in focus_rooms and not wanted:
            wanted = [m for m in members[r.id] if m.layer == 'object']
        listed: list[SceneNode] = []
        for n in wanted:
            if n.layer == 'furniture':
                listed.extend(s for _, s in contents(n.id))
            else:
                listed.append(n)
        for n in listed[:max_expanded_per_room]:
            line = obj_line(n)
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
    if len(text) > budget_chars:  # the header alone may not fit a tiny budget
        text = text[:budget_chars]
        truncated = True
    return CollapsedExport(text, estimate_tokens(text, chars_per_token), truncated, expanded)


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
