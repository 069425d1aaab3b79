"""The goal compiler's `Resolver` answered from memory (never from ground truth).

Where things are and what state they are in come from a `MemoryView`; what a type of
thing affords (a fridge opens, a counter takes things on top) is common knowledge from
the ontology; what the robot holds is its own proprioception.
"""

from __future__ import annotations

import math

from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.domain.ontology import Ontology
from memory_nodes.domain.references import PlaceHint
from memory_nodes.domain.skills import Relation, SkillTarget
from memory_nodes.planner.plan import MemoryHit, MemoryView

#: An object within this distance (xy) of a receptacle counts as on/in it when memory has
#: no support edge (the history log has none).
SUPPORT_RADIUS_M = 0.6


class MemoryResolver:
    """Resolver over memory; remembers which types it could not find (to explore for)."""

    def __init__(self, memory: MemoryView, holding: SkillTarget | None = None,
                 robot_xy: tuple[float, float] | None = None,
                 avoid: set[str] | None = None, stamp: float = 0.0,
                 room_hint: str = '', hints: dict[str, PlaceHint] | None = None,
                 relaxed: set[str] | None = None, ontology: Ontology = HOUSEHOLD) -> None:
        self.memory = memory
        self.ontology = ontology
        self._holding = holding
        self.robot_xy = robot_xy
        self.avoid = avoid if avoid is not None else set()
        self.missing: list[str] = []
        self.used: dict[str, MemoryHit] = {}
        self.stamp = stamp
        self.room_hint = room_hint.replace('_', ' ').lower()
        self.hints = hints or {}
        self.relaxed = relaxed if relaxed is not None else set()
        #: Types not found where the instruction placed them (type -> that place).
        self.hinted: dict[str, PlaceHint] = {}

    def _placed(self, hit: MemoryHit, hint: PlaceHint) -> bool:
        """Whether memory puts `hit` where `hint` says (room, or on/in that receptacle)."""
        if hint.room and hit.room.replace('_', ' ').lower() != \
                hint.room.replace('_', ' ').lower():
            return False
        if not hint.support:
            return True
        if hit.support:
            support = self.memory.get(hit.support)
            if support is not None \
                    and self.ontology.canonical_type(support.label) == hint.support:
                return True
        return any(math.dist(s.position[:2], hit.position[:2]) <= SUPPORT_RADIUS_M
                   for s in self.memory.find(label=hint.support, top_k=20))

    def _target(self, hit: MemoryHit, object_type: str) -> SkillTarget:
        target = SkillTarget(object_type=object_type, position=tuple(hit.position))
        self.used[_target_key(target)] = hit
        return target

    def hit_for(self, target: SkillTarget | None) -> MemoryHit | None:
        """The memory hit a target was made from (to report it missing)."""
        return None if target is None else self.used.get(_target_key(target))

    def find(self, object_type: str, object_id: str | None = None,
             near: SkillTarget | None = None) -> SkillTarget | None:
        """Best remembered instance: recent short-term facts first, then nearest."""
        hits = [h for h in self.memory.find(label=object_type, top_k=20)
                if h.id not in self.avoid and all(math.isfinite(v) for v in h.position)]
        hint = None if object_type in self.relaxed else self.hints.get(object_type)
        if hint is not None and object_id is None:
            # "the cloth on the toilet": only an instance where the instruction says will do.
            hits = [h for h in hits if self._placed(h, hint)]
            if not hits:
                self.hinted[object_type] = hint
        if not hits:
            self.missing.append(object_type)
            return None
        if self.room_hint and len(hits) > 1:
            # "the lamp in the living room": among several, the one in the named room.
            in_room = [h for h in hits if h.room.replace('_', ' ').lower() == self.room_hint]
            hits = in_room or hits
        if near is not None and near.position is not None:
            best = min(hits, key=lambda h: math.dist(h.position, near.position))
        elif any(h.source == 'stm' for h in hits):
            best = max((h for h in hits if h.source == 'stm'), key=lambda h: h.last_seen)
        elif self.robot_xy is not None:
            best = min(hits, key=lambda h: math.dist(h.position[:2], self.robot_xy))
        else:
            best = hits[0]
        return self._target(best, object_type)

    def container(self, target: SkillTarget) -> SkillTarget | None:
        """The receptacle memory says `target` is in/on."""
        hit = self.hit_for(target)
        if hit is None or not hit.support:
            return None
        support = self.memory.get(hit.support)
        if support is None:
            return None
        object_type = self.ontology.canonical_type(support.label)
        return None if object_type is None else self._target(support, object_type)

    def is_openable(self, target: SkillTarget) -> bool:
        """Common knowledge: whether this type opens."""
        spec = self.ontology.get(target.object_type or '')
        return bool(spec and spec.openable)

    def is_open(self, target: SkillTarget) -> bool | None:
        """What memory last saw (None if it never saw it open or closed)."""
        return self.state(target, 'open')

    def state(self, target: SkillTarget, key: str) -> bool | None:
        """A remembered state of the target."""
        hit = self.hit_for(target)
        if hit is None or key not in hit.states:
            return None
        return bool(hit.states[key])

    def relation_for(self, receptacle: SkillTarget) -> Relation | None:
        """Common knowledge: whether this type takes things in or on."""
        spec = self.ontology.get(receptacle.object_type or '')
        return None if spec is None else spec.receptacle

    def holding(self) -> SkillTarget | None:
        """What the robot's gripper holds."""
        return self._holding


def _target_key(target: SkillTarget) -> str:
    if target.object_id:
        return target.object_id
    pos = target.position or (0.0, 0.0, 0.0)
    return f'{target.object_type}@{pos[0]:.3f},{pos[1]:.3f},{pos[2]:.3f}'
