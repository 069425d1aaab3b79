"""The grammar a language model's goals are decoded under: only real names parse.

`goal_grammar(ontology)` is an EBNF (xgrammar's dialect, GBNF-like) for a comma-separated
list of ALFRED-L goal conditions whose object and receptacle names are the ontology's
types and whose state words are the goal vocabulary's canonical ones. `canonical_goals`
writes any goal list the same way, so model outputs, training targets and gold goals
compare as text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from memory_nodes.domain.goals import ARITY, GoalCondition, GoalParseError, parse_condition
from memory_nodes.domain.ontology import Ontology

#: State words a goal may use, as `GoalCondition.to_text` writes them.
STATE_TEXTS = ('sliced', 'clean', 'dirty', 'hot', 'cold', 'cooked', 'open', 'closed',
               'filled', 'empty', 'used_up')
#: The most conditions one request is read into.
MAX_CONDITIONS = 8


def _alternatives(words: Iterable[str]) -> str:
    return ' | '.join(f'"{w}"' for w in sorted(set(words), key=lambda w: (-len(w), w)))


def goal_grammar(ontology: Ontology, objects: Sequence[str] | None = None,
                 receptacles: Sequence[str] | None = None) -> str:
    """EBNF for up to MAX_CONDITIONS goal conditions over `ontology`'s names.

    `objects` / `receptacles` narrow the names (default: every type, and every type that
    is a receptacle); an empty narrowing falls back to the default.
    """
    objects = [t for t in (objects or list(ontology)) if t in ontology] or list(ontology)
    receptacles = [t for t in (receptacles or []) if t in ontology] or [
        t for t, spec in ontology.items() if spec.receptacle is not None]
    more = ' '.join(['(", " cond)?'] * (MAX_CONDITIONS - 1))
    return '\n'.join([
        f'root ::= cond {more}',
        'cond ::= place | state | single',
        'place ::= ("ON" | "INSIDE") "(" obj ", " recep "): 1"',
        'state ::= "STATE(" obj ", " word "): 1"',
        'single ::= ("TOGGLEON" | "TOGGLEOFF" | "HOLDING") "(" obj "): 1"',
        f'obj ::= {_alternatives(objects)}',
        f'recep ::= {_alternatives(receptacles)}',
        f'word ::= {_alternatives(STATE_TEXTS)}',
    ])


def canonical_goals(goals: Sequence[str | GoalCondition], ontology: Ontology,
                    keep_ids: bool = False) -> list[str]:
    """Goals as canonical text: types through the ontology, `#Apple_1` as its type.

    An instance id `#Type_N` (the suites' way of naming one object) becomes its type
    unless `keep_ids`. Raises GoalParseError naming a goal that does not parse or a
    word the ontology does not know.
    """
    out = []
    for goal in goals:
        cond = goal if isinstance(goal, GoalCondition) else parse_condition(
            goal, require_value=False)
        fields = {}
        for attr, id_attr in (('obj', 'obj_id'), ('target', 'target_id')):
            if attr == 'target' and (cond.kind == 'STATE' or ARITY[cond.kind] == 1):
                continue
            word, instance = getattr(cond, attr), getattr(cond, id_attr)
            if instance and not keep_ids:
                word, instance = instance.rsplit('_', 1)[0], None
            if word:
                alias = ontology.resolve(word)
                if not alias.ok:
                    raise GoalParseError(f'{cond.to_text()}: unknown object {word!r}')
                word = alias.object_type
            fields[attr], fields[id_attr] = word or '', instance
        out.append(GoalCondition(cond.kind, fields.get('obj', cond.obj),
                                 fields.get('target', cond.target), cond.state_value,
                                 cond.negated, fields.get('obj_id'),
                                 fields.get('target_id', cond.target_id)).to_text())
    return out


def parse_goal_text(text: str, ontology: Ontology) -> list[GoalCondition]:
    """A model's output read back into conditions (raises GoalParseError if it cannot)."""
    from memory_nodes.domain.goals import split_conditions

    goals = []
    for part in split_conditions(text):
        goals.append(parse_condition(canonical_goals([part], ontology)[0]))
    if not goals:
        raise GoalParseError(f'no goal condition in {text[:80]!r}')
    return goals
