"""A controlled instruction grammar -> ALFRED-L goal conditions (for the grounded planner).

The grounded planner needs goal conditions; when a user gives only an instruction, this
reads the common household forms, one clause at a time (clauses split at ',', ';',
' and then ', ' then ', ' and '):

  put|place|move|leave <obj> in|inside|into|on|onto <receptacle>
  wash|clean|rinse <obj>            slice|cut <obj>          heat|warm|cook <obj>
  cool|chill <obj>                  fill <obj>               turn|switch on|off <obj>
  bring me|pick up|grab|hold <obj>  throw away|discard <obj> (INSIDE GarbageCan)

Object words go through the alias table (plurals, synonyms). What it cannot read is
reported by clause, never dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from memory_nodes.domain.goals import GoalCondition, parse_condition
from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.domain.ontology import Ontology

_ARTICLES = re.compile(r'\b(the|a|an|some|my|your|it)\b')
_SPLIT = re.compile(r'\s*(?:,|;|\band then\b|\bthen\b|\band\b)\s*')
_PUT = re.compile(r'^(?:put|place|move|leave|set|store)\s+(?P<obj>.+?)\s+'
                  r'(?P<rel>in|inside|into|on|onto|on top of)\s+(?P<rec>.+)$')
_STATE = {
    'clean': re.compile(r'^(?:wash|clean|rinse)\s+(?P<obj>.+)$'),
    'sliced': re.compile(r'^(?:slice|cut(?: up)?)\s+(?P<obj>.+)$'),
    'hot': re.compile(r'^(?:heat(?: up)?|warm(?: up)?|cook|microwave)\s+(?P<obj>.+)$'),
    'cold': re.compile(r'^(?:cool(?: down)?|chill)\s+(?P<obj>.+)$'),
    'filled': re.compile(r'^fill\s+(?P<obj>.+?)(?:\s+with water)?$'),
}
_TOGGLE = re.compile(r'^(?:turn|switch)\s+(?P<on>on|off)\s+(?P<obj>.+)$|'
                     r'^(?:turn|switch)\s+(?P<obj2>.+?)\s+(?P<on2>on|off)$')
_HOLD = re.compile(r'^(?:bring me|pick up|grab|hold|fetch|get)\s+(?P<obj>.+)$')
_TRASH = re.compile(r'^(?:throw away|throw out|discard|bin)\s+(?P<obj>.+)$')
_ROOM = re.compile(r'\s*(?:in|from) (?:the )?(?:kitchen|living room|bedroom|bathroom)$')


@dataclass
class GrammarResult:
    """Goal conditions read from an instruction, and the clauses it could not read."""

    goals: list[GoalCondition] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)


def _object(words: str, ontology: Ontology) -> str | None:
    """The object type a noun phrase names: whole, without leading adjectives, or its tail.

    'the empty toilet paper roll' -> ToiletPaper; 'the shelf on the bed' -> Bed.
    """
    text = ' '.join(_ARTICLES.sub(' ', words.lower()).replace('.', ' ').split())
    text = _ROOM.sub('', text).strip()
    if not text:
        return None
    tail = re.split(r'\s+(?:on|in|inside|from|next to|near)\s+', text)[-1]
    words_ = text.split()
    candidates = [text] + [' '.join(words_[i:]) for i in range(1, len(words_))] + \
        [' '.join(words_[:i]) for i in range(len(words_) - 1, 0, -1)] + [tail]
    for candidate in candidates:
        alias = ontology.resolve(candidate)
        if alias.ok:
            return alias.object_type
    return None


def goals_from_instruction(instruction: str, ontology: Ontology = HOUSEHOLD) -> GrammarResult:
    """Read goal conditions from `instruction` (see the module docstring for the forms).

    Object words map to types of `ontology`.
    """
    out = GrammarResult()
    last_obj: str | None = None
    for clause in _SPLIT.split(instruction.strip().rstrip('.!').lower()):
        clause = clause.strip()
        if not clause:
            continue
        clause = re.sub(r'\b(it|them)\b', last_obj.lower() if last_obj else r'\1', clause)
        goal = _clause(clause, ontology)
        if goal is None:
            out.unread.append(clause)
            continue
        out.goals.append(goal)
        last_obj = goal.obj
    return out


def _clause(clause: str, ontology: Ontology) -> GoalCondition | None:
    m = _PUT.match(clause)
    if m:
        obj, rec = _object(m['obj'], ontology), _object(m['rec'], ontology)
        if obj and rec:
            kind = 'INSIDE' if m['rel'] in ('in', 'inside', 'into') else 'ON'
            return GoalCondition(kind, obj, rec)
        return None
    for state, pattern in _STATE.items():
        m = pattern.match(clause)
        if m:
            obj = _object(m['obj'], ontology)
            return parse_condition(f'STATE({obj}, {state}): 1') if obj else None
    m = _TOGGLE.match(clause)
    if m:
        obj = _object(m['obj'] or m['obj2'], ontology)
        on = (m['on'] or m['on2']) == 'on'
        return GoalCondition('TOGGLEON' if on else 'TOGGLEOFF', obj) if obj else None
    m = _TRASH.match(clause)
    if m:
        obj = _object(m['obj'], ontology)
        return GoalCondition('INSIDE', obj, 'GarbageCan') if obj else None
    m = _HOLD.match(clause)
    if m:
        obj = _object(m['obj'], ontology)
        return GoalCondition('HOLDING', obj) if obj else None
    return None
