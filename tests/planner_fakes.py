"""A MemoryView over a fixed list of hits, shared by the planner tests."""

from __future__ import annotations

from memory_nodes.domain.labels import normalize_label
from memory_nodes.planner.plan import MemoryHit


class ListMemoryView:
    """Answers find/recall/collapsed_graph/rooms from plain lists (no model, no graph)."""

    def __init__(self, hits: list[MemoryHit], recent: list[MemoryHit] | None = None,
                 rooms: list[str] | None = None):
        self.hits = hits
        self.recent = recent or []
        self._rooms = rooms or sorted({h.room for h in hits if h.room})
        self.graph_calls: list[tuple[int, list[str]]] = []

    def find(self, label='', text='', room='', near=None, top_k=5):
        out = []
        for h in self.hits:
            if label and normalize_label(h.label) != normalize_label(label) and h.id != label:
                continue
            if text and normalize_label(text) not in normalize_label(h.label) \
                    and text != h.id:
                continue
            if room and h.room != room:
                continue
            out.append(h)
        return out[:top_k]

    def recall(self, instruction, top_k=5):
        return self.recent[:top_k]

    def collapsed_graph(self, token_budget, focus):
        self.graph_calls.append((token_budget, list(focus)))
        lines = [f'home: {len(self._rooms)} rooms, {len(self.hits)} things']
        for room in self._rooms:
            lines.append(f'- {room}:')
            for h in self.hits:
                if h.room == room:
                    lines.append(f'  * {h.label} {h.id} at {h.position}')
        text = '\n'.join(lines)
        return text[:token_budget * 4]

    def rooms(self):
        return list(self._rooms)


class RunnerMemoryView(ListMemoryView):
    """The list memory plus what the task runner also calls: look-up by id, stale reports."""

    def __init__(self, hits: list[MemoryHit], recent: list[MemoryHit] | None = None,
                 rooms: list[str] | None = None):
        super().__init__(hits, recent, rooms)
        self.missing: list[str] = []

    def get(self, node_id):
        return next((h for h in self.hits if h.id == node_id), None)

    def report_missing(self, hit, stamp):
        self.missing.append(hit.id)


class FakeRunnerRobot:
    """The robot side of the task runner with nothing but skills: a subclass's `execute`.

    It stands at the origin, a clock ticks once per skill, `held` is what it holds.
    """

    def __init__(self):
        self.held: str | None = None
        self.calls: list = []

    def robot_xy(self) -> tuple[float, float]:
        return 0.0, 0.0

    def now(self) -> float:
        return 100.0 + len(self.calls)

    def held_type(self) -> str | None:
        return self.held

    def look(self) -> None:
        pass


def kitchen_view() -> ListMemoryView:
    """A small kitchen + living room memory."""
    hits = [
        MemoryHit('apple_1', 'apple', (1.0, 2.0, 0.9), room='kitchen', support='countertop_1',
                  relation='on', last_seen=90.0),
        MemoryHit('fridge_1', 'fridge', (0.0, 3.0, 0.0), room='kitchen', last_seen=50.0,
                  states={'open': False}),
        MemoryHit('countertop_1', 'countertop', (1.0, 2.0, 0.0), room='kitchen'),
        MemoryHit('mug_1', 'mug', (1.2, 2.1, 0.9), room='kitchen', states={'dirty': True},
                  last_seen=95.0),
        MemoryHit('sofa_1', 'sofa', (5.0, 1.0, 0.0), room='living_room'),
        MemoryHit('book_1', 'book', (5.0, 1.0, 0.5), room='living_room', support='sofa_1',
                  relation='on', last_seen=10.0),
    ]
    recent = [hits[3], hits[0], hits[5]]
    return ListMemoryView(hits, recent)
