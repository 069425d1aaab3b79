"""Goal conditions in the ALFRED-L vocabulary: what a task asks for, and its parser.

A condition reads `ON(Apple, DiningTable): 1`, `INSIDE(Tomato, SinkBasin): 1`,
`STATE(Tomato, clean): 1`, `TOGGLEON(Faucet): 1` (or `SWITCHON`), `TOGGLEOFF(DeskLamp): 1`
(or `SWITCHOFF`), `HOLDING(Mug): 1`, and `NOT(<condition>)`. A trailing `: 0` means the
same as wrapping in `NOT`. Arguments are object types (any instance of the type satisfies,
as in ALFRED) or, written `#object_id`, one instance.

A task is an ordered list of sub-goals (ALFRED-L semantics): each must be reached in
order. Judging whether a condition holds in a world is the scorer's business
(`sim.scoring` against a simulator's ground truth); a planner only reads the conditions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

ConditionKind = Literal['ON', 'INSIDE', 'STATE', 'TOGGLEON', 'TOGGLEOFF', 'HOLDING']

#: Kinds and how many arguments each takes.
ARITY: dict[str, int] = {
    'ON': 2, 'INSIDE': 2, 'STATE': 2, 'TOGGLEON': 1, 'TOGGLEOFF': 1, 'HOLDING': 1,
}

#: Spellings accepted for a kind (ALFRED-L writes SWITCHON for lamps).
KIND_SYNONYMS: dict[str, str] = {
    'ON': 'ON', 'INSIDE': 'INSIDE', 'IN': 'INSIDE', 'STATE': 'STATE',
    'TOGGLEON': 'TOGGLEON', 'SWITCHON': 'TOGGLEON', 'TURNON': 'TOGGLEON',
    'TOGGLEOFF': 'TOGGLEOFF', 'SWITCHOFF': 'TOGGLEOFF', 'TURNOFF': 'TOGGLEOFF',
    'HOLDING': 'HOLDING', 'HOLD': 'HOLDING',
}

#: State words -> (state key, value). Keys are the ontology's `STATE_KEYS`.
STATE_WORDS: dict[str, tuple[str, bool]] = {
    'open': ('open', True), 'opened': ('open', True), 'closed': ('open', False),
    'toggled': ('toggled', True), 'on': ('toggled', True), 'off': ('toggled', False),
    'dirty': ('dirty', True), 'clean': ('dirty', False), 'washed': ('dirty', False),
    'cleaned': ('dirty', False), 'rinsed': ('dirty', False),
    'hot': ('hot', True), 'heated': ('hot', True), 'warm': ('hot', True),
    'warmed': ('hot', True), 'microwaved': ('hot', True),
    # AI2-THOR has no melting: ALFRED-L's "heat the Potato ... the melted Potato" is hot.
    'melted': ('hot', True),
    'cold': ('cold', True), 'cooled': ('cold', True), 'chilled': ('cold', True),
    'frozen': ('cold', True),
    'cooked': ('cooked', True), 'boiled': ('cooked', True), 'fried': ('cooked', True),
    'toasted': ('cooked', True), 'raw': ('cooked', False),
    'sliced': ('sliced', True), 'chopped': ('sliced', True), 'cut': ('sliced', True),
    'diced': ('sliced', True),
    # AI2-THOR slices an egg by cracking it ("peel the egg" in ALFRED-L).
    'cracked': ('sliced', True), 'peeled': ('sliced', True),
    'filled': ('filled', True), 'full': ('filled', True), 'empty': ('filled', False),
    'emptied': ('filled', False),
    'used_up': ('used_up', True), 'usedup': ('used_up', True), 'used': ('used_up', True),
}

#: How a state key with a value is written back (`dirty` False reads `clean`).
_STATE_TEXT: dict[tuple[str, bool], str] = {
    ('open', False): 'closed', ('dirty', False): 'clean', ('filled', False): 'empty',
}


class GoalParseError(ValueError):
    """A goal condition's text does not parse; the message says what and where."""


@dataclass(frozen=True)
class GoalCondition:
    """One sub-goal.

    `obj` is the object type the condition is about (or '' when only `obj_id` is given);
    `target` is the receptacle type for ON/INSIDE or the state key for STATE; `state_value`
    is the wanted value of that state; `negated` means the whole condition must be false
    (NOT, or `: 0`). `obj_id` / `target_id` pin one instance instead of any of the type.
    """

    kind: ConditionKind
    obj: str
    target: str | None = None
    state_value: bool = True
    negated: bool = False
    obj_id: str | None = None
    target_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ARITY:
            raise GoalParseError(f'unknown condition kind {self.kind!r}')
        if not (self.obj or self.obj_id):
            raise GoalParseError(f'{self.kind}: needs an object type or #id')
        if ARITY[self.kind] == 2 and not (self.target or self.target_id):
            raise GoalParseError(f'{self.kind}({self.obj}): needs a second argument')
        if self.kind == 'STATE' and self.target not in _STATE_KEYS:
            raise GoalParseError(f'STATE({self.obj}, {self.target}): unknown state key')

    def to_text(self) -> str:
        """The canonical text form, which `parse_condition` reads back to an equal object."""
        subject = f'#{self.obj_id}' if self.obj_id else self.obj
        if self.kind == 'STATE':
            word = _STATE_TEXT.get((self.target or '', self.state_value))
            if word is None:
                word = self.target if self.state_value else f'{self.target}=0'
            args = f'{subject}, {word}'
        elif ARITY[self.kind] == 2:
            args = f'{subject}, ' + (f'#{self.target_id}' if self.target_id else self.target)
        else:
            args = subject
        return f'{self.kind}({args}): {0 if self.negated else 1}'

    def __str__(self) -> str:
        return self.to_text()


_STATE_KEYS = {key for key, _ in STATE_WORDS.values()}
_HEAD = re.compile(r'^\s*([A-Za-z_]+)\s*\((.*)\)\s*$', re.S)
_VALUE = re.compile(r'^(.*\))\s*:\s*([^:]*)$', re.S)


def split_conditions(text: str) -> list[str]:
    """Split a comma-separated list of conditions at top-level commas (not inside brackets)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in '([':
            depth += 1
        elif char in ')]':
            depth -= 1
            if depth < 0:
                raise GoalParseError(f'unbalanced {char!r} at character {i} of {text!r}')
        elif char == ',' and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise GoalParseError(f'unbalanced "(" in {text!r}')
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_condition(text: str, *, require_value: bool = True) -> GoalCondition:
    """Parse one condition such as `ON(apple, DiningTable): 1` or `NOT(HOLDING(Mug))`.

    Words are taken as written: map free words to types with `Ontology.resolve` first
    (or use `sim.alfred_l`, which does both and reports). A missing `: 1` is an error (except
    after `NOT(...)`) unless `require_value` is False, when it reads as `: 1`.
    """
    raw = text.strip()
    match = _VALUE.match(raw)
    if match:
        body, value_text = match.group(1), match.group(2).strip()
        if value_text not in ('0', '1'):
            raise GoalParseError(f'{raw!r}: value must be 0 or 1, got {value_text!r}')
        negated = value_text == '0'
    else:
        body, negated = raw, False
    head = _HEAD.match(body)
    if not head:
        raise GoalParseError(f'{raw!r}: expected KIND(args), e.g. ON(Apple, DiningTable): 1')
    if not match and require_value and head.group(1).upper() != 'NOT':
        raise GoalParseError(f'{raw!r}: missing ": 1" (or ": 0") after the condition')
    name, inner = head.group(1).upper(), head.group(2)
    if name == 'NOT':
        cond = parse_condition(inner, require_value=False)
        return _with(cond, negated=not (cond.negated ^ negated))
    kind = KIND_SYNONYMS.get(name)
    if kind is None:
        raise GoalParseError(f'{raw!r}: unknown condition kind {head.group(1)!r} '
                             f'(known: {", ".join(sorted(set(KIND_SYNONYMS.values())))}, NOT)')
    args = [a.strip() for a in split_conditions(inner)] if inner.strip() else []
    if len(args) != ARITY[kind]:
        raise GoalParseError(f'{raw!r}: {kind} takes {ARITY[kind]} argument(s), '
                             f'got {len(args)}')
    for arg in args:
        if not re.fullmatch(r'#?[A-Za-z_][\w .|:+=-]*', arg):
            raise GoalParseError(f'{raw!r}: {arg!r} is not an object type, #id or state word')
    obj, obj_id = _subject(args[0])
    if kind == 'STATE':
        key, value = _state(args[1], raw)
        return GoalCondition(kind, obj, key, value, negated, obj_id)
    if ARITY[kind] == 2:
        target, target_id = _subject(args[1])
        return GoalCondition(kind, obj, target, True, negated, obj_id, target_id)
    return GoalCondition(kind, obj, None, True, negated, obj_id)


def parse_conditions(text: str | Sequence[str]) -> list[GoalCondition]:
    """Parse a comma-separated string (or a list of strings) of conditions, in order."""
    items = split_conditions(text) if isinstance(text, str) else list(text)
    return [parse_condition(item) for item in items]


def _with(cond: GoalCondition, **changes: object) -> GoalCondition:
    fields = dict(cond.__dict__)
    fields.update(changes)
    return GoalCondition(**fields)  # type: ignore[arg-type]


def _subject(arg: str) -> tuple[str, str | None]:
    if arg.startswith('#'):
        return '', arg[1:]
    return arg, None


def _state(word: str, raw: str) -> tuple[str, bool]:
    text = word.strip()
    explicit = re.fullmatch(r'(\w+)\s*=\s*([01])', text)
    if explicit and explicit.group(1) in _STATE_KEYS:
        return explicit.group(1), explicit.group(2) == '1'
    key = STATE_WORDS.get(text.lower().replace(' ', '_'))
    if key is None:
        raise GoalParseError(f'{raw!r}: unknown state {word!r} '
                             f'(known: {", ".join(sorted(STATE_WORDS))})')
    return key
