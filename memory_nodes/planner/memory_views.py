"""`MemoryView`s over the in-process memory: one per memory condition of the evaluation.

- `RobotMemoryView(memory, use_ltm=True, use_stm=True)`: ours (ltm+stm), or either alone.
  Short-term entries answer first (recent, the robot's own actions), the scene graph
  after; absent nodes are never offered.
- `HistoryView(log)`: KARMA's in-context baseline: no structured memory, only the raw log
  of every past observation; an object is wherever its latest mention says.
The planner node has a ROS counterpart over the memory node's services.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from memory_nodes.domain.labels import label_key
from memory_nodes.memory.robot_memory import ObjectQuery, RobotMemory
from memory_nodes.memory.scene_graph import SceneNode
from memory_nodes.planner.plan import MemoryHit

#: Mentions of one label closer than this (xy, metres) are one place in the history log.
SAME_PLACE_M = 0.5


class RobotMemoryView:
    """Memory as the planner sees it, from a `RobotMemory` (LTM and/or STM)."""

    def __init__(self, memory: RobotMemory, use_ltm: bool = True, use_stm: bool = True) -> None:
        if not (use_ltm or use_stm):
            raise ValueError('a memory view needs the long-term or the short-term memory')
        self.memory = memory
        self.use_ltm = use_ltm
        self.use_stm = use_stm

    def _hit(self, node: SceneNode, score: float, source: str = 'ltm') -> MemoryHit:
        support = self.memory.node_support(node.id)
        p = node.position
        return MemoryHit(
            id=node.id, label=node.label, position=(float(p[0]), float(p[1]), float(p[2])),
            room=self.memory.room_name(node.room),
            states={k: bool(v) for k, v in node.states.items() if isinstance(v, bool)},
            support=support[0] if support else '', relation=support[1] if support else '',
            score=score, last_seen=float(node.last_seen), source=source)

    def _stm_hits(self, label: str) -> list[MemoryHit]:
        want = label_key(label)
        hits = []
        for entry in self.memory.stm.entries():
            ch = entry.change
            if label_key(ch.label) != want or ch.position is None:
                continue
            node = self.memory.ltm.get(entry.object_id)
            if node is not None and node.status == 'absent':
                continue
            hits.append(MemoryHit(
                id=entry.object_id, label=ch.label, position=tuple(ch.position),
                room=ch.room or '', states=dict(ch.states),
                support='', relation='', score=1.0, last_seen=ch.stamp, source='stm'))
            if node is not None:
                support = self.memory.node_support(node.id)
                if support:
                    hits[-1].support, hits[-1].relation = support
        hits.sort(key=lambda h: -h.last_seen)
        return hits

    def find(self, label: str = '', text: str = '', room: str = '',
             near: tuple[float, float, float] | None = None, top_k: int = 5
             ) -> list[MemoryHit]:
        """STM entries of the label (newest first), then scene-graph nodes."""
        hits: list[MemoryHit] = []
        if self.use_stm and label:
            hits += self._stm_hits(label)
        if self.use_ltm and (label or text):
            query = ObjectQuery(text=text, label=label, room=room, near_point=near,
                                top_k=max(top_k, 20))
            seen = {h.id for h in hits}
            for h in self.memory.query(query):
                if h.node.id not in seen and h.node.status == 'confirmed':
                    hits.append(self._hit(h.node, h.score))
        if room:
            hits = [h for h in hits if not h.room or h.room == room]
        return hits[:top_k]

    def get(self, node_id: str) -> MemoryHit | None:
        """A scene-graph node by id (None if unknown or absent)."""
        if not self.use_ltm:
            entry = self.memory.stm.peek(node_id)
            if entry is None or entry.change.position is None:
                return None
            ch = entry.change
            return MemoryHit(id=node_id, label=ch.label, position=tuple(ch.position),
                             room=ch.room or '', states=dict(ch.states),
                             last_seen=ch.stamp, source='stm')
        node = self.memory.ltm.get(node_id)
        if node is None or node.status == 'absent':
            return None
        return self._hit(node, float(node.confidence))

    def recall(self, instruction: str, top_k: int = 5) -> list[MemoryHit]:
        """Short-term entries ranked for `instruction` (empty without the STM)."""
        if not self.use_stm or not instruction.strip():
            return []
        out = []
        for r in self.memory.recall(instruction, top_k=top_k):
            ch = r.entry.change
            pos = ch.position or (math.nan, math.nan, math.nan)
            out.append(MemoryHit(id=r.entry.object_id, label=ch.label, position=tuple(pos),
                                 room=ch.room or '', states=dict(ch.states), score=r.score,
                                 last_seen=ch.stamp, source='stm'))
        return out

    def collapsed_graph(self, token_budget: int, focus: list[str]) -> str:
        """The collapsed scene graph (empty without the LTM)."""
        if not self.use_ltm:
            return ''
        with self.memory.lock:
            return self.memory.ltm.collapsed_export(token_budget, focus).text

    def rooms(self) -> list[str]:
        """Room names in the scene graph."""
        return sorted({n.label for n in self.memory.ltm.graph.nodes.values()
                       if n.layer == 'room'})

    def report_missing(self, hit: MemoryHit, stamp: float) -> None:
        """Mark the node absent in the long-term memory and drop its short-term entry."""
        self.memory.mark_missing(hit.id, stamp)


@dataclass
class LogEntry:
    """One line of the raw observation log (what the history baseline keeps)."""

    stamp: float
    label: str
    position: tuple[float, float, float]
    states: dict[str, bool] = field(default_factory=dict)
    source: str = 'observation'

    def text(self) -> str:
        """The entry as one prompt line."""
        x, y, z = self.position
        st = ', '.join(f'{k}={v}' for k, v in sorted(self.states.items()))
        return f't={self.stamp:.1f} {self.source}: {self.label} at ({x:.2f}, {y:.2f}, {z:.2f})' \
               + (f' [{st}]' if st else '')


class HistoryView:
    """The in-context history baseline: the full observation log, nothing structured."""

    def __init__(self, rooms: dict[str, tuple[float, float, float, float]] | None = None
                 ) -> None:
        self.log: list[LogEntry] = []
        self.missing: set[tuple[str, tuple[float, float, float]]] = set()
        #: Room footprints (x0, y0, x1, y1) of the map: where a mention is, by geometry.
        self.room_footprints = dict(rooms or {})

    def room_at(self, position: tuple[float, float, float]) -> str:
        """The map room a position lies in ('' if none or no map)."""
        x, y = position[0], position[1]
        for name, (x0, y0, x1, y1) in self.room_footprints.items():
            if x0 <= x <= x1 and y0 <= y <= y1:
                return name
        return ''

    def append(self, entry: LogEntry) -> None:
        """Add one observation or own-action line to the log."""
        self.log.append(entry)

    def find(self, label: str = '', text: str = '', room: str = '',
             near: tuple[float, float, float] | None = None, top_k: int = 5
             ) -> list[MemoryHit]:
        """Latest mentions of the label, one per distinct place (newest first)."""
        want = label_key(label) if label else ''
        hits: list[MemoryHit] = []
        for e in reversed(self.log):
            if want and label_key(e.label) != want:
                continue
            key = (e.label, tuple(round(v, 1) for v in e.position))
            if key in self.missing:
                continue
            if any(math.dist(h.position[:2], e.position[:2]) < SAME_PLACE_M
                   and h.label == e.label for h in hits):
                continue
            where = self.room_at(e.position)
            if room and where and where != room:
                continue
            hits.append(MemoryHit(id=self.place_id(e), label=e.label, position=e.position,
                                  room=where, states=dict(e.states), last_seen=e.stamp,
                                  source='history'))
            if len(hits) >= top_k:
                break
        return hits

    @staticmethod
    def place_id(entry: LogEntry) -> str:
        """A stable name for 'this label around here' (the log has no object ids).

        Mentions of one thing half a metre apart (a counter seen from two sides) share
        it, so a planner that remembers which places it searched does not search the
        same counter again under a new name.
        """
        x, y, _ = entry.position
        return f'{label_key(entry.label)}@{round(x / SAME_PLACE_M)},{round(y / SAME_PLACE_M)}'

    def get(self, node_id: str) -> MemoryHit | None:
        """The log has no ids."""
        return None

    def recall(self, instruction: str, top_k: int = 5) -> list[MemoryHit]:
        """The log has no ranking: the newest lines."""
        return self.find(top_k=top_k)

    def collapsed_graph(self, token_budget: int, focus: list[str]) -> str:
        """The whole log as text (it is never collapsed: that is the baseline's cost)."""
        return '\n'.join(e.text() for e in self.log)

    def rooms(self) -> list[str]:
        """The map's rooms (the log itself knows none)."""
        return sorted(self.room_footprints)

    def report_missing(self, hit: MemoryHit, stamp: float) -> None:
        """Remember that this mention proved wrong."""
        self.missing.add((hit.label, tuple(round(v, 1) for v in hit.position)))
