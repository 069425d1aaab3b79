"""A compact memory context for reading one instruction: the few candidates, not the graph.

What the model is shown about memory is a handful of lines, one per remembered thing
the instruction may mean: its type, where it is (on/in what), its room and its states,
most relevant first. Only ontology type names, fixed state words and one-word room
names are written: a label or room filled with free text (an injected instruction from
perception or a peer) never reaches the prompt. The same `format_context` writes the
lines at run time (from a `MemoryView`) and in the training data (from a generated
home), so the model sees one format. A small context keeps prompts short (a 135M
model, two CPU cores).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from memory_nodes.domain.household import CATEGORY_WORDS
from memory_nodes.domain.ontology import Ontology
from memory_nodes.planner.plan import MemoryView

#: Most lines in a context, and most instances per type.
MAX_LINES = 8
PER_TYPE = 2
_WORD = re.compile(r'[a-z]+')
#: A room name as the model may see it: one short word ('kitchen', 'living_room', 'room_2'),
#: never a sentence. Anything else (an injected instruction) is left out of the prompt.
_ROOM = re.compile(r'[A-Za-z][A-Za-z0-9_-]{0,23}')


def clean_room(room: str) -> str:
    """`room` when it is a plain short name, else '' (never free text in a prompt)."""
    room = room.strip()
    return room if _ROOM.fullmatch(room) else ''


@dataclass(frozen=True)
class ContextEntry:
    """One remembered thing as the model sees it."""

    object_type: str
    relation: str = ''  # 'on' | 'in' | ''
    support: str = ''  # the receptacle's type
    room: str = ''
    states: tuple[str, ...] = field(default_factory=tuple)  # true state words

    def line(self) -> str:
        """'Apple: in Fridge, kitchen, sliced'."""
        parts = []
        if self.relation and self.support:
            parts.append(f'{self.relation} {self.support}')
        if self.room:
            parts.append(self.room.replace('_', ' '))
        parts.extend(self.states)
        return f'{self.object_type}: {", ".join(parts)}' if parts else self.object_type


def format_context(entries: Sequence[ContextEntry]) -> str:
    """The memory lines of a prompt ('(nothing remembered)' when empty)."""
    if not entries:
        return '(nothing remembered)'
    return '\n'.join(f'- {e.line()}' for e in entries[:MAX_LINES])


def mentioned_types(instruction: str, ontology: Ontology) -> list[str]:
    """Types the instruction's words (and word pairs) name, in the order they appear."""
    words = _WORD.findall(instruction.lower())
    found: list[str] = []
    for i in range(len(words)):
        for n in (2, 1):
            if i + n > len(words):
                continue
            alias = ontology.resolve(' '.join(words[i:i + n]))
            if alias.ok and alias.object_type not in found:
                found.append(alias.object_type)
                break
    return found


def mentioned_categories(instruction: str) -> list[str]:
    """Object categories the instruction's words name ("the black valuable"), in order."""
    found: list[str] = []
    for word in _WORD.findall(instruction.lower()):
        for key in (word, word[:-1] if word.endswith('s') else word):
            category = CATEGORY_WORDS.get(key)
            if category is not None and category not in found:
                found.append(category)
                break
    return found


_STATE_WORDS = {('dirty', True): 'dirty', ('dirty', False): 'clean', ('open', True): 'open',
                ('sliced', True): 'sliced', ('cooked', True): 'cooked', ('hot', True): 'hot',
                ('cold', True): 'cold', ('toggled', True): 'on', ('filled', True): 'filled'}


def context_from_memory(instruction: str, memory: MemoryView | None,
                        ontology: Ontology) -> list[ContextEntry]:
    """The context lines for `instruction` from what `memory` holds (none without one).

    Candidates: the types the instruction names, then the remembered types of every
    category it names ("the black valuable": whichever valuables this home holds, which
    only memory knows), then what free-text recall ranks highest; each with up to
    PER_TYPE remembered instances.
    """
    if memory is None:
        return []
    types = mentioned_types(instruction, ontology)
    for category in mentioned_categories(instruction):
        for t in ontology.category_types(category):
            if t not in types and memory.find(label=t, top_k=1):
                types.append(t)
    try:
        recalled = memory.recall(instruction, top_k=MAX_LINES)
    except (ValueError, RuntimeError, TimeoutError):  # a context without recent entries
        recalled = []
    for hit in recalled:
        t = ontology.canonical_type(hit.label)
        if t is not None and t not in types:
            types.append(t)
    entries: list[ContextEntry] = []
    for object_type in types:
        for hit in memory.find(label=object_type, top_k=PER_TYPE):
            support = memory.get(hit.support) if hit.support else None
            support_type = (ontology.canonical_type(support.label) or ''
                            if support is not None else '')
            states = tuple(word for (key, value), word in _STATE_WORDS.items()
                           if hit.states.get(key) is value)
            entries.append(ContextEntry(object_type, hit.relation if support_type else '',
                                        support_type, clean_room(hit.room), states))
            if len(entries) >= MAX_LINES:
                return entries
    return entries
