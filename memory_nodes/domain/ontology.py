"""What kinds of things a home holds and what they afford: an immutable object ontology.

An `Ontology` maps AI2-THOR type names ('Apple', 'DiningTable') to `ObjectType`s: kind
(a small object or furniture), affordances (pick up, take things in or on, open, toggle,
slice, cook, get dirty, fill, get used up), the state keys that follow from them, the rooms
a type is found in and the receptacles it is usually kept on or in (common knowledge a
planner searches by). It also maps free words to types (`resolve`): `counter` ->
CounterTop, `ladles` -> Ladle, `table` in a living room -> CoffeeTable.

An ontology is built once and passed to whoever needs it; nothing mutates it. A richer
world (AI2-THOR's extra types) is a new ontology made with `extended`, never a change to a
shared table, so what a word means never depends on which module was imported first.
What only a simulator needs (sizes, colours, meshes, masses) is not here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from memory_nodes.domain.labels import label_key
from memory_nodes.domain.skills import Relation

ObjectKind = Literal['object', 'furniture']
MatchKind = Literal['exact', 'case', 'plural', 'synonym', 'unmapped']

#: Room types of a home; room names in a home are these (plus a suffix if repeated).
ROOM_TYPES = ('kitchen', 'living_room', 'bedroom', 'bathroom')

#: State keys an object may carry (values are bools).
STATE_KEYS = ('open', 'toggled', 'dirty', 'hot', 'cold', 'cooked', 'sliced', 'filled', 'used_up')

#: The state keys a camera can see on an object (hot and cold cannot be seen).
VISIBLE_STATES = ('open', 'toggled', 'dirty', 'sliced', 'cooked', 'filled', 'used_up')


@dataclass(frozen=True)
class ObjectType:
    """What one type of thing is and affords, and where it is usually found."""

    object_type: str
    kind: ObjectKind
    pickupable: bool = False
    receptacle: Relation | None = None
    openable: bool = False
    toggleable: bool = False
    sliceable: bool = False
    cookable: bool = False
    can_be_dirty: bool = False
    fillable: bool = False
    can_be_used_up: bool = False
    #: Room types it is found in, most typical first.
    rooms: tuple[str, ...] = ()
    #: Receptacle types it is usually kept on or in (where to search for it).
    kept_on: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def is_receptacle(self) -> bool:
        """True if other objects can be put in or on it."""
        return self.receptacle is not None

    @property
    def heatable(self) -> bool:
        """Pickupable things get hot or cold by the ALFRED rules (microwave, pan, fridge)."""
        return self.pickupable

    def state_keys(self) -> tuple[str, ...]:
        """The state keys that apply to this type, in `STATE_KEYS` order."""
        keys = []
        if self.openable:
            keys.append('open')
        if self.toggleable:
            keys.append('toggled')
        if self.can_be_dirty:
            keys.append('dirty')
        if self.heatable:
            keys += ['hot', 'cold']
        if self.cookable:
            keys.append('cooked')
        if self.sliceable:
            keys.append('sliced')
        if self.fillable:
            keys.append('filled')
        if self.can_be_used_up:
            keys.append('used_up')
        return tuple(keys)

    def default_states(self) -> dict[str, bool]:
        """All applicable states, False (closed, off, clean, room temperature, ...)."""
        return {key: False for key in self.state_keys()}


@dataclass(frozen=True)
class Alias:
    """The outcome of mapping one word: the type (or None), how, and why if unmapped."""

    word: str
    object_type: str | None
    how: MatchKind
    candidates: tuple[str, ...] = ()
    note: str = ''

    @property
    def ok(self) -> bool:
        """True if the word mapped to a type."""
        return self.object_type is not None

    def describe(self) -> str:
        """Human-readable: `'trash' -> GarbageCan (synonym)`."""
        if self.object_type is None:
            return f'{self.word!r} -> ? ({self.note})'
        extra = f'; {self.note}' if self.note else ''
        return f'{self.word!r} -> {self.object_type} ({self.how}{extra})'


def _singulars(word: str) -> list[str]:
    out = []
    if word.endswith('ies') and len(word) > 4:
        out.append(word[:-3] + 'y')
    if word.endswith(('ches', 'shes', 'xes', 'ses', 'oes')):
        out.append(word[:-2])
    if word.endswith('s') and not word.endswith('ss'):
        out.append(word[:-1])
    return out


class Ontology(Mapping[str, ObjectType]):
    """An immutable table of object types (by AI2-THOR type name) plus the words for them.

    Reads like a mapping (`ontology['Apple']`, `ontology.get(t)`, `t in ontology`, in
    table order). Word resolution tries, in order: the exact type name, the name ignoring
    case, spaces and underscores (`toilet paper` -> ToiletPaper), the synonym table, then a
    singular of a plural (`ladles`). Some words name a family (`table`, `lamp`): given the
    types present in a home (or a room type), the first family member present wins;
    without one, the family's first member. What cannot be mapped comes back with
    `object_type=None` and a reason, never silently.
    """

    def __init__(self, types: Iterable[ObjectType],
                 synonyms: Mapping[str, Sequence[str]] | None = None,
                 name: str = 'ontology') -> None:
        table: dict[str, ObjectType] = {}
        for spec in types:
            if spec.object_type in table:
                raise ValueError(f'ontology {name!r}: type {spec.object_type!r} given twice')
            table[spec.object_type] = spec
        self.name = name
        self._types: Mapping[str, ObjectType] = MappingProxyType(table)
        self._synonym_words: Mapping[str, tuple[str, ...]] = MappingProxyType(
            {w: tuple(c) for w, c in (synonyms or {}).items()})
        self._by_key = MappingProxyType({label_key(t): t for t in table})
        self._synonyms = MappingProxyType(
            {label_key(w): tuple(c) for w, c in self._synonym_words.items()})

    # -- the table ---------------------------------------------------------------------
    def __getitem__(self, object_type: str) -> ObjectType:
        return self._types[object_type]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def __repr__(self) -> str:
        return f'Ontology({self.name!r}, {len(self)} types)'

    def furniture_types(self) -> list[str]:
        """All furniture types, in table order."""
        return [t for t, s in self._types.items() if s.kind == 'furniture']

    def object_types(self) -> list[str]:
        """All small (pickupable) object types, in table order."""
        return [t for t, s in self._types.items() if s.kind == 'object']

    def category_types(self, category: str) -> list[str]:
        """The small object types of one category (`valuable` -> Watch, KeyChain, ...)."""
        return [t for t, s in self._types.items()
                if s.kind == 'object' and category in s.categories]

    def extended(self, types: Iterable[ObjectType],
                 synonyms: Mapping[str, Sequence[str]] | None = None,
                 name: str | None = None) -> Ontology:
        """A new ontology: this one plus `types` not in it yet (and more synonyms)."""
        extra = [t for t in types if t.object_type not in self._types]
        words = dict(self._synonym_words)
        words.update(synonyms or {})
        return Ontology([*self._types.values(), *extra], words, name or f'{self.name}+')

    # -- words -------------------------------------------------------------------------
    def synonyms(self) -> Mapping[str, tuple[str, ...]]:
        """The synonym table: word -> the types it may name, most likely first."""
        return self._synonym_words

    def resolve(self, word: str, present: Iterable[str] | None = None,
                room: str | None = None) -> Alias:
        """Map a free word to a type.

        With `present` (types in a home) a family word picks a member that is there; with
        `room` (a room type) it picks the member that belongs in that room (`table` in a
        living room is a CoffeeTable).
        """
        if room is not None and present is None:
            present = self._room_rank(room)
        text = ' '.join(word.strip().split())
        if not text:
            return Alias(word, None, 'unmapped', note='empty word')
        if text in self._types:
            return Alias(word, text, 'exact')
        key = label_key(text)
        if key in self._by_key:
            return Alias(word, self._by_key[key], 'case')
        hit = self._synonym(key, present)
        if hit is not None:
            return Alias(word, hit[0], 'synonym', hit[1], hit[2])
        for single in _singulars(key):
            if single in self._by_key:
                return Alias(word, self._by_key[single], 'plural')
            hit = self._synonym(single, present)
            if hit is not None:
                return Alias(word, hit[0], 'plural', hit[1], hit[2])
        return Alias(word, None, 'unmapped',
                     note='no such type in the catalogue and no synonym for it')

    def canonical_type(self, label: str) -> str | None:
        """A memory or perception label ('apple', 'diningtable') -> its type, or None."""
        return self.resolve(label).object_type

    def _synonym(self, key: str, present: Iterable[str] | None
                 ) -> tuple[str, tuple[str, ...], str] | None:
        candidates = tuple(c for c in self._synonyms.get(key, ()) if c in self._types)
        if not candidates:
            return None
        if present is not None:
            # A list or tuple is an order of preference; a set keeps the synonym's order.
            if isinstance(present, dict):
                rank = present
            elif isinstance(present, Sequence):
                rank = {t: i for i, t in enumerate(present)}
            else:
                rank = {t: 0 for t in present}
            hits = sorted((c for c in candidates if c in rank), key=lambda c: rank[c])
            if hits:
                note = '' if len(candidates) == 1 else f'chosen of {"/".join(candidates)}'
                return hits[0], candidates, note
            note = f'none of {"/".join(candidates)} present'
            return candidates[0], candidates, note
        note = '' if len(candidates) == 1 else f'first of {"/".join(candidates)}'
        return candidates[0], candidates, note

    def _room_rank(self, room: str) -> dict[str, int]:
        """Types found in `room`: 0 where it is their first room, 1 where they merely may be."""
        rank = {t: 1 for t, s in self._types.items() if room in s.rooms[1:]}
        rank.update({t: 0 for t, s in self._types.items() if s.rooms[:1] == (room,)})
        return rank
