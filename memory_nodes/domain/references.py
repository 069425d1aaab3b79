"""Which instance an instruction means: "the cloth on the toilet", "the lamp in the bedroom".

Goals name types; when a home holds several of a type, the instruction's words pick one.
`place_hints` reads, for each goal's object, a place phrase right after its name ("the
dish sponge in the sink basin", "the remote control you put on the bed"): a room of the
home becomes a room hint, anything else that names a receptacle type becomes a support
hint. A phrase naming the goal's own destination ("put the potato on the sofa") is where
the object goes, not where it is, and is ignored. Pure text and common knowledge: no
memory, no ground truth.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from memory_nodes.domain.goals import GoalCondition
from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.domain.labels import normalize_label
from memory_nodes.domain.ontology import Ontology

_PLACE = re.compile(
    r'(?:\s+(?:that|which)\s+(?:is|was)|\s+you\s+(?:put|left|placed|moved))?'
    r'\s+(?:in|on|inside|from|at)\s+(?:the|a|my|your)\s+'
    r'(?P<place>[a-z ]+?)(?=\s*(?:[,.;!?]|$|\band\b|\bto\b|\bon\b|\bin\b|\binto\b|'
    r'\bwith\b|\bthen\b|\bnext\b))')


@dataclass(frozen=True)
class PlaceHint:
    """Where the instruction says an object is: a room name and/or a receptacle type."""

    room: str = ''
    support: str = ''


def _area_for(phrase: str, areas: Sequence[str]) -> str:
    key = phrase.strip().replace('_', ' ')
    for area in areas:
        if area.replace('_', ' ').lower() == key:
            return area
    return ''


def place_hints(instruction: str, goals: Sequence[GoalCondition], areas: Sequence[str],
                ontology: Ontology = HOUSEHOLD) -> dict[str, PlaceHint]:
    """Object type -> where the instruction places it, for every goal object it locates."""
    text = ' '.join(instruction.lower().split())
    out: dict[str, PlaceHint] = {}
    for goal in goals:
        obj = goal.obj or (goal.obj_id or '').rsplit('_', 1)[0]
        if not obj or obj in out or obj not in ontology:
            continue
        destination = goal.target or (goal.target_id or '').rsplit('_', 1)[0]
        for match in re.finditer(r'\b' + re.escape(normalize_label(obj)) + r'\b', text):
            place = _PLACE.match(text, match.end())
            if place is None:
                continue
            phrase = place.group('place').strip()
            room = _area_for(phrase, areas)
            if room:
                out[obj] = PlaceHint(room=room)
                break
            support = ontology.canonical_type(phrase)
            if support is None or support in (destination, obj):
                continue
            spec = ontology.get(support)
            if spec is None or not spec.receptacle:
                continue
            out[obj] = PlaceHint(support=support)
            break
    return out
