"""Free words to catalogue types: `counter` -> CounterTop, `ladles` -> Ladle, `trash` -> trash can.

Resolution tries, in order: the exact type name, the name ignoring case, spaces and
underscores (`toilet paper` -> ToiletPaper), a singular of a plural (`ladles`), then the
synonym table. Some words name a family (`table`, `lamp`): given the types present in a
home, the first family member present wins; without one, the family's first member. What
cannot be mapped comes back with `object_type=None` and a reason, never silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sim.catalog import CATALOG

MatchKind = Literal['exact', 'case', 'plural', 'synonym', 'unmapped']

#: Free word (lower case, single spaces) -> candidate types, preferred first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    'counter': ('CounterTop',),
    'kitchen counter': ('CounterTop',),
    'countertop': ('CounterTop',),
    'table': ('DiningTable', 'CoffeeTable', 'SideTable', 'Desk'),
    'kitchen table': ('DiningTable',),
    'dinner table': ('DiningTable',),
    'coffee table': ('CoffeeTable',),
    'side table': ('SideTable',),
    'nightstand': ('SideTable',),
    'night stand': ('SideTable',),
    'trash': ('GarbageCan',),
    'trash can': ('GarbageCan',),
    'trashcan': ('GarbageCan',),
    'garbage': ('GarbageCan',),
    'bin': ('GarbageCan',),
    'dustbin': ('GarbageCan',),
    'lamp': ('DeskLamp', 'FloorLamp'),
    'light': ('DeskLamp', 'FloorLamp'),
    'toilet paper': ('ToiletPaper',),
    'toilet paper roll': ('ToiletPaper',),
    'card': ('CreditCard',),
    'cloth': ('Cloth',),
    'wash cloth': ('Cloth',),
    'washcloth': ('Cloth',),
    'rag': ('Cloth',),
    'turner': ('Spatula',),
    'knives': ('Knife',),
    'sink': ('SinkBasin',),
    'basin': ('SinkBasin',),
    'tap': ('Faucet',),
    'refrigerator': ('Fridge',),
    'fridge': ('Fridge',),
    'stove': ('StoveBurner',),
    'burner': ('StoveBurner',),
    'cooktop': ('StoveBurner',),
    'cellphone': ('CellPhone',),
    'phone': ('CellPhone',),
    'mobile': ('CellPhone',),
    'remote': ('RemoteControl',),
    'tv': ('Television',),
    'television': ('Television',),
    'dish': ('Plate', 'Bowl'),
    'toast': ('Bread',),
    'sponge': ('DishSponge',),
    'soap': ('SoapBar', 'SoapBottle'),
    'keys': ('KeyChain',),
    'key': ('KeyChain',),
    'couch': ('Sofa',),
    'armchair': ('ArmChair',),
    'chair': ('ArmChair',),
    'bookshelf': ('Shelf',),
    'shelves': ('Shelf',),
    'wine': ('WineBottle',),
    'cup of coffee': ('Mug',),
    'coffee maker': ('CoffeeMachine',),
    'bathtub': ('BathtubBasin',),
    'tub': ('BathtubBasin',),
    'salt': ('SaltShaker',),
    'pepper': ('PepperShaker',),
    'tissues': ('TissueBox',),
    'clock': ('AlarmClock',),
    'towel rack': ('TowelHolder',),
}


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


def _key(word: str) -> str:
    return ''.join(word.lower().replace('_', ' ').replace('-', ' ').split())


def _singulars(word: str) -> list[str]:
    out = []
    if word.endswith('ies') and len(word) > 4:
        out.append(word[:-3] + 'y')
    if word.endswith(('ches', 'shes', 'xes', 'ses', 'oes')):
        out.append(word[:-2])
    if word.endswith('s') and not word.endswith('ss'):
        out.append(word[:-1])
    return out


class AliasTable:
    """Maps free words to types of a type list (the catalogue's by default)."""

    def __init__(self, types: Iterable[str] | None = None,
                 synonyms: dict[str, tuple[str, ...]] | None = None):
        self.types = list(CATALOG if types is None else types)
        self._by_key = {_key(t): t for t in self.types}
        self._synonyms = {_key(w): c for w, c in (SYNONYMS if synonyms is None
                                                  else synonyms).items()}

    def resolve(self, word: str, present: Iterable[str] | None = None,
                room: str | None = None) -> Alias:
        """Map `word` to a type.

        With `present` (types in a home) a family word picks a member that is there; with
        `room` (a room type) it picks the member that belongs in that room (`table` in a
        living room is a CoffeeTable).
        """
        if room is not None and present is None:
            present = _room_rank(room)
        text = ' '.join(word.strip().split())
        if not text:
            return Alias(word, None, 'unmapped', note='empty word')
        if text in self.types:
            return Alias(word, text, 'exact')
        key = _key(text)
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

    def _synonym(self, key: str, present: Iterable[str] | None
                 ) -> tuple[str, tuple[str, ...], str] | None:
        candidates = tuple(c for c in self._synonyms.get(key, ()) if c in self.types)
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


_DEFAULT: AliasTable | None = None


def _room_rank(room: str) -> dict[str, int]:
    """Types found in `room`: 0 where it is their first room, 1 where they merely may be."""
    rank = {t: 1 for t, s in CATALOG.items() if room in s.rooms[1:]}
    rank.update({t: 0 for t, s in CATALOG.items() if s.rooms[:1] == (room,)})
    return rank


def resolve_type(word: str, present: Iterable[str] | None = None,
                 room: str | None = None) -> Alias:
    """Map one free word to a catalogue type with the default table."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = AliasTable()
    return _DEFAULT.resolve(word, present, room)
