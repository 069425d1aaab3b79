"""The believed state of each object and furniture node over time.

After every change to memory the long-term memory hands the touched node ids to
`Timeline.update`; for each confirmed (or absent) object or furniture node whose belief
differs materially from its last version (label, status, room, support, states, or a
position that moved more than `move_threshold`) a new `NodeVersion` is appended. A
removal or merge ends a node's life with a 'gone' version (a merge names the survivor,
whose history the merged node's follows). Tentative nodes are not beliefs.

`as_of(t)` answers which nodes memory believed in at `t` with their fields then, and
`changes(t1, t2)` what appeared, moved, changed state, went missing or came back in
between. Both bisect each node's version stamps. `compact` applies the retention
policy: versions older than the horizon are dropped except the newest one before it,
so `as_of` at the horizon still answers.

`touched_between(t1, t2, seq)` names the nodes whose version in force may differ between
`t1` (as the timeline was at `seq`) and `t2` (as it is now), from a stamp-ordered index
of every kept version and the log of versions appended since; `epoch` changes whenever
versions are dropped or replaced wholesale (compaction, clear, restore), when a caller
holding an answer for an older timeline must start over.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from memory_nodes.memory.config import TimelineConfig
from memory_nodes.memory.scene_graph import SceneGraph, SceneNode

TRACKED_LAYERS = ('object', 'furniture')
CHANGE_KINDS = ('appeared', 'moved', 'state', 'missing', 'reappeared', 'removed')


@dataclass(slots=True)
class NodeVersion:
    """One node as believed from `stamp` until its next version.

    `status` is 'confirmed', 'absent' (believed missing) or 'gone' (removed or merged;
    `merged_into` names the survivor). `support` is (receptacle id, 'on'|'in') or None.
    """

    seq: int
    stamp: float
    node_id: str
    layer: str
    label: str
    status: str
    position: tuple[float, float, float]
    extent: tuple[float, float, float] = (0.0, 0.0, 0.0)
    room: str | None = None
    room_name: str = ''
    support: tuple[str, str] | None = None
    support_label: str = ''
    states: dict[str, Any] = field(default_factory=dict)
    confidence: float = 0.0
    last_seen: float = 0.0
    observations: int = 0
    merged_into: str | None = None

    @property
    def alive(self) -> bool:
        """Believed to exist (confirmed or missing), not removed or merged."""
        return self.status != 'gone'

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            'seq': self.seq, 'stamp': self.stamp, 'node_id': self.node_id,
            'layer': self.layer, 'label': self.label, 'status': self.status,
            'position': [round(v, 4) for v in self.position],
            'extent': [round(v, 4) for v in self.extent],
            'room': self.room, 'room_name': self.room_name,
            'support': list(self.support) if self.support else None,
            'support_label': self.support_label, 'states': dict(self.states),
            'confidence': round(self.confidence, 4), 'last_seen': self.last_seen,
            'observations': self.observations, 'merged_into': self.merged_into,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NodeVersion:
        """Inverse of `to_dict` (raises KeyError/ValueError/TypeError on bad data)."""
        sup = d.get('support')
        return cls(
            seq=int(d['seq']), stamp=float(d['stamp']), node_id=str(d['node_id']),
            layer=str(d['layer']), label=str(d['label']), status=str(d['status']),
            position=_triple(d['position']), extent=_triple(d.get('extent') or (0, 0, 0)),
            room=d.get('room'), room_name=str(d.get('room_name') or ''),
            support=(str(sup[0]), str(sup[1])) if sup else None,
            support_label=str(d.get('support_label') or ''),
            states=dict(d.get('states') or {}), confidence=float(d.get('confidence', 0.0)),
            last_seen=float(d.get('last_seen', 0.0)),
            observations=int(d.get('observations', 0)), merged_into=d.get('merged_into'))

    def describe_support(self) -> str:
        """'on table f000012' style text ('' when it rests on nothing known)."""
        if self.support is None:
            return ''
        return f'{self.support[1]} {self.support_label or "?"} {self.support[0]}'.strip()


def _triple(v: Iterable[float]) -> tuple[float, float, float]:
    # 0.1 mm: what the stored form keeps, so a reloaded timeline answers the same.
    x, y, z = (round(float(c), 4) for c in v)
    return (x, y, z)


def distance(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """Euclidean distance of two points (m)."""
    return math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2)


@dataclass(slots=True)
class Change:
    """One change of one object between two stamps, with the belief before and after."""

    object_id: str
    label: str
    kind: str
    stamp: float
    before: NodeVersion | None
    after: NodeVersion | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {'object_id': self.object_id, 'label': self.label, 'kind': self.kind,
                'stamp': self.stamp,
                'before': self.before.to_dict() if self.before else None,
                'after': self.after.to_dict() if self.after else None}


class Timeline:
    """Per-node versions of the believed state, queried by time with bisect."""

    def __init__(self, config: TimelineConfig | None = None) -> None:
        self.config = config or TimelineConfig()
        self.versions: dict[str, list[NodeVersion]] = {}
        self._stamps: dict[str, list[float]] = {}
        self.seq = 0
        self.horizon: float | None = None
        self.latest = -math.inf
        self.journal: list[NodeVersion] = []
        self.compacted: dict[str, int] = {}  # node id -> first kept seq (0: all dropped)
        #: Changes whenever versions are dropped or replaced wholesale (not on appends).
        self.epoch = 0
        # Every kept version's stamp, ascending, and its node id at the same index.
        self._index_stamps: list[float] = []
        self._index_ids: list[str] = []
        # (stamp, node id) of each version appended this epoch, in seq order: entry k has
        # seq `_log_seq` + k + 1.
        self._log: list[tuple[float, str]] = []
        self._log_seq = 0
        # Node id -> rank of its key in `versions` (ascending with the dict's order).
        self._rank: dict[str, int] = {}
        self._next_rank = 0

    def __len__(self) -> int:
        return sum(len(v) for v in self.versions.values())

    def clear(self) -> None:
        """Forget every version."""
        epoch = self.epoch
        self.__init__(self.config)  # type: ignore[misc]
        self.epoch = epoch + 1

    def _reindex(self) -> None:
        """Rebuild the stamp index and ranks from `versions`; start a new epoch."""
        pairs = sorted((v.stamp, v.seq, v.node_id) for vs in self.versions.values() for v in vs)
        self._index_stamps = [p[0] for p in pairs]
        self._index_ids = [p[2] for p in pairs]
        self._log, self._log_seq = [], self.seq
        self._rank = {nid: i for i, nid in enumerate(self.versions)}
        self._next_rank = len(self._rank)
        self.epoch += 1

    # ---- writing -------------------------------------------------------------------
    def snapshot(self, graph: SceneGraph, node: SceneNode, stamp: float) -> NodeVersion:
        """The current belief about `node` as a (not yet appended) version."""
        sup = graph.support(node.id)
        sup_node = graph.nodes.get(sup[0]) if sup else None
        room = graph.nodes.get(node.room or '')
        return NodeVersion(
            seq=0, stamp=float(stamp), node_id=node.id, layer=node.layer, label=node.label,
            status='absent' if node.status == 'absent' else 'confirmed',
            position=_triple(node.position.tolist()), extent=_triple(node.extent.tolist()),
            room=node.room, room_name=room.label if room is not None else '',
            support=sup, support_label=sup_node.label if sup_node is not None else '',
            states=dict(node.states), confidence=round(float(node.confidence), 4),
            last_seen=float(node.last_seen), observations=int(node.observations))

    def differs(self, old: NodeVersion, new: NodeVersion) -> bool:
        """Whether `new` is a material change from `old`."""
        return (old.status != new.status or old.label != new.label or old.room != new.room
                or old.support != new.support or old.states != new.states
                or distance(old.position, new.position) > self.config.move_threshold)

    def _append(self, version: NodeVersion) -> None:
        stamps = self._stamps.setdefault(version.node_id, [])
        if stamps and version.stamp < stamps[-1]:
            version.stamp = stamps[-1]  # out-of-order input: keep the list sorted
        self.seq += 1
        version.seq = self.seq
        if version.node_id not in self.versions:
            self._rank[version.node_id] = self._next_rank
            self._next_rank += 1
        self.versions.setdefault(version.node_id, []).append(version)
        stamps.append(version.stamp)
        self.latest = max(self.latest, version.stamp)
        self.journal.append(version)
        i = bisect_right(self._index_stamps, version.stamp)
        self._index_stamps.insert(i, version.stamp)
        self._index_ids.insert(i, version.node_id)
        self._log.append((version.stamp, version.node_id))

    def last(self, node_id: str) -> NodeVersion | None:
        """The newest version of a node, if any."""
        vs = self.versions.get(node_id)
        return vs[-1] if vs else None

    def update(self, graph: SceneGraph, touched: Iterable[str], removed: Iterable[str],
               stamp: float) -> int:
        """Append versions for touched nodes that changed and end removed ones.

        Returns the number of versions appended.
        """
        if not self.config.enabled:
            return 0
        stamp = float(stamp)
        if not math.isfinite(stamp):
            return 0
        n = 0
        for nid in sorted(removed):
            prev = self.last(nid)
            if prev is None or not prev.alive:
                continue
            into = graph.resolve(nid) if nid in graph.merged_into else None
            gone = NodeVersion(
                seq=0, stamp=stamp, node_id=nid, layer=prev.layer, label=prev.label,
                status='gone', position=prev.position, extent=prev.extent, room=prev.room,
                room_name=prev.room_name, merged_into=into)
            self._append(gone)
            n += 1
        for nid in sorted(touched):
            node = graph.nodes.get(nid)
            if node is None or node.layer not in TRACKED_LAYERS or node.status == 'tentative':
                continue
            new = self.snapshot(graph, node, stamp)
            prev = self.last(nid)
            if prev is not None and prev.alive and not self.differs(prev, new):
                continue
            self._append(new)
            n += 1
        return n

    def seed(self, graph: SceneGraph, stamp: float | None = None) -> int:
        """Start the timeline from the graph as it is (memory written before timelines).

        Every confirmed or absent object/furniture node gets one version at `stamp`
        (default: the newest stamp the graph knows), which becomes the horizon: nothing
        before it can be answered.
        """
        if stamp is None:
            known = [max(n.last_seen, n.last_absent or 0.0) for n in graph.nodes.values()
                     if n.layer in TRACKED_LAYERS]
            stamp = max(known, default=0.0)
        n = self.update(graph, list(graph.nodes), (), stamp)
        self.horizon = float(stamp)
        return n

    def drain(self) -> list[NodeVersion]:
        """Take the versions appended since the last drain (for persistence)."""
        out, self.journal = self.journal, []
        return out

    def restore(self, versions: Iterable[NodeVersion], horizon: float | None,
                seq: int = 0) -> None:
        """Fill an empty timeline from stored versions (any order)."""
        for v in sorted(versions, key=lambda v: v.seq):
            self.versions.setdefault(v.node_id, []).append(v)
            self._stamps.setdefault(v.node_id, []).append(v.stamp)
            self.latest = max(self.latest, v.stamp)
            self.seq = max(self.seq, v.seq)
        self.seq = max(self.seq, int(seq))
        self.horizon = horizon
        self._reindex()

    # ---- retention -----------------------------------------------------------------
    def compact(self, now: float | None = None) -> float | None:
        """Apply the retention policy; returns the new horizon (None: nothing dropped).

        Versions older than `max_age_s` before `now` (default: the newest stamp) are
        dropped except the newest one at or before the horizon; a node that was gone
        before the horizon is forgotten. A node with more than `max_versions_per_node`
        versions keeps its newest ones and the horizon moves up to its first kept stamp.
        """
        cfg = self.config
        now = self.latest if now is None else float(now)
        if not math.isfinite(now):
            return None
        cut = now - cfg.max_age_s if cfg.max_age_s > 0 else -math.inf
        horizon = cut
        dropped = False
        for nid in list(self.versions):
            vs, stamps = self.versions[nid], self._stamps[nid]
            drop = max(0, bisect_right(stamps, cut) - 1)
            if cfg.max_versions_per_node > 0 and len(vs) - drop > cfg.max_versions_per_node:
                drop = len(vs) - cfg.max_versions_per_node
                horizon = max(horizon, stamps[drop])
            if drop == len(vs) - 1 and not vs[-1].alive and stamps[-1] <= cut:
                drop = len(vs)  # ended before the horizon: nothing left to answer
            if drop <= 0:
                continue
            dropped = True
            del vs[:drop]
            del stamps[:drop]
            if vs:
                self.compacted[nid] = vs[0].seq
            else:
                del self.versions[nid], self._stamps[nid]
                self.compacted[nid] = 0
        if dropped:
            self._reindex()
        if horizon == -math.inf:
            return None
        if self.horizon is None or horizon > self.horizon:
            self.horizon = horizon
        return self.horizon

    def take_compacted(self) -> dict[str, int]:
        """Node id -> first kept seq (0: node dropped) since the last call."""
        out, self.compacted = self.compacted, {}
        return out

    # ---- reading -------------------------------------------------------------------
    def check_stamp(self, t: float, what: str = 'stamp') -> None:
        """Raise ValueError when `t` is not finite or before the retention horizon."""
        if not math.isfinite(t):
            raise ValueError(f'{what} must be finite, got {t}')
        if self.horizon is not None and t < self.horizon:
            raise ValueError(f'{what} {t:.3f} is before the retention horizon '
                             f'{self.horizon:.3f}: memory keeps no history that old')

    def version_at(self, node_id: str, t: float) -> NodeVersion | None:
        """The version of a node in force at `t` (None before its first one)."""
        stamps = self._stamps.get(node_id)
        if not stamps:
            return None
        i = bisect_right(stamps, t) - 1
        return self.versions[node_id][i] if i >= 0 else None

    def rank(self, node_id: str) -> int:
        """Where the node's key stands in `versions` (-1 when it has no versions).

        Ascending with the order `as_of` lists nodes in.
        """
        return self._rank.get(node_id, -1)

    def touched_between(self, t1: float, t2: float, since_seq: int) -> set[str] | None:
        """Ids of the nodes whose version in force at `t2` now may differ from theirs at `t1`.

        `since_seq` is `seq` when the answer for `t1` was taken: nodes with a version
        stamped between the two (after the older, up to the newer) and nodes with a
        version appended since then stamped up to the newer one. None when `since_seq` is
        not of this epoch (the caller starts over).
        """
        lo, hi = (t1, t2) if t1 <= t2 else (t2, t1)
        k = since_seq - self._log_seq
        if k < 0 or k > len(self._log):
            return None
        i = bisect_right(self._index_stamps, lo)
        j = bisect_right(self._index_stamps, hi, lo=i)
        out = set(self._index_ids[i:j])
        out.update(nid for stamp, nid in self._log[k:] if stamp <= hi)
        return out

    def as_of(self, t: float, include_absent: bool = True) -> dict[str, NodeVersion]:
        """Node id -> version of every node believed in at `t` (missing ones optionally)."""
        out = {}
        for nid in self.versions:
            v = self.version_at(nid, t)
            if v is None or not v.alive or (v.status == 'absent' and not include_absent):
                continue
            out[nid] = v
        return out

    def _survivor(self, nid: str, t: float) -> str:
        for _ in range(64):
            v = self.version_at(nid, t)
            if v is None or v.alive or not v.merged_into:
                return nid
            nid = v.merged_into
        return nid

    def _between(self, nid: str, t1: float, t2: float) -> list[NodeVersion]:
        stamps = self._stamps.get(nid, [])
        i, j = bisect_right(stamps, t1), bisect_right(stamps, t2)
        return self.versions[nid][i:j] if nid in self.versions else []

    def moved(self, a: NodeVersion, b: NodeVersion) -> bool:
        """Whether `b` is somewhere else than `a` (position or a different support)."""
        if distance(a.position, b.position) > self.config.move_threshold:
            return True
        return (a.support is not None and b.support is not None
                and a.support[0] != b.support[0])

    def changes(self, t1: float, t2: float, room: str | None = None) -> list[Change]:
        """What changed between `t1` and `t2`, per object, oldest first.

        `room` (id or name) keeps objects that were in that room at some time. A node
        merged into another in between counts as the survivor: its belief at `t1` is the
        survivor's 'before' when the survivor did not exist yet.
        """
        if t2 < t1:
            raise ValueError(f'until ({t2}) is before since ({t1})')
        groups: dict[str, list[str]] = {}
        for nid in self.versions:
            groups.setdefault(self._survivor(nid, t2), []).append(nid)
        out: list[Change] = []
        for sid, members in groups.items():
            after = self.version_at(sid, t2)
            before = self.version_at(sid, t1)
            if before is None or not before.alive:
                for m in members:
                    v = self.version_at(m, t1)
                    if m != sid and v is not None and v.alive:
                        before = v
                        break
            if before is not None and not before.alive:
                before = None
            if after is not None and not after.alive:
                if after.merged_into:
                    continue  # its history follows the survivor's
                if before is None:
                    continue
            if before is None and (after is None or not after.alive):
                continue
            if room and not any(_in_room(v, room) for v in (
                    before, after, *self._between(sid, t1, t2)) if v is not None):
                continue  # in that room neither before, after, nor in between
            out.extend(self._node_changes(sid, before, after, t1, t2))
        out.sort(key=lambda c: (c.stamp, c.object_id, CHANGE_KINDS.index(c.kind)))
        return out

    def _node_changes(self, sid: str, before: NodeVersion | None, after: NodeVersion | None,
                      t1: float, t2: float) -> list[Change]:
        between = self._between(sid, t1, t2)
        label = (after or before).label  # type: ignore[union-attr]
        if before is None:
            assert after is not None
            first = between[0] if between else after
            return [Change(sid, label, 'appeared', first.stamp, None, after)]
        if after is None or not after.alive:
            stamp = after.stamp if after is not None else t2
            return [Change(sid, label, 'removed', stamp, before, after)]
        out = []
        was_absent = before.status == 'absent'
        for v in between:
            if v.status == 'absent' and not was_absent:
                out.append(Change(sid, label, 'missing', v.stamp, before, after))
                was_absent = True
            elif v.status == 'confirmed' and was_absent:
                out.append(Change(sid, label, 'reappeared', v.stamp, before, after))
                was_absent = False
        if self.moved(before, after):
            stamp = next((v.stamp for v in between if self.moved(before, v)), after.stamp)
            out.append(Change(sid, label, 'moved', stamp, before, after))
        if before.states != after.states:
            stamp = after.stamp
            for v in reversed(between):  # since when it has been as it is at t2
                if v.states != after.states:
                    break
                stamp = v.stamp
            out.append(Change(sid, label, 'state', stamp, before, after))
        return out

    def room_names(self) -> set[str]:
        """Every room id and name any version mentions."""
        out: set[str] = set()
        for vs in self.versions.values():
            for v in vs:
                if v.room:
                    out.add(v.room)
                if v.room_name:
                    out.add(v.room_name)
        return out


def _in_room(v: NodeVersion, room: str) -> bool:
    key = room.strip().lower()
    return v.room == room or v.room_name.lower() == key
