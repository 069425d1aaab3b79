"""More ways to say a task than the suite templates: synonyms, politeness, chains, typos.

`say(goals, rng)` writes an instruction for a list of type-level goal conditions the way
people ask for things: one of several verbs per condition, the object's everyday words,
"it" for the object just named, connectors between steps, a polite frame, and sometimes
a typo. `perturb(text, rng)` adds the politeness and typos to a suite's own instruction.
Phrasings are split into two families (`family`), so a model trained on one can be tested
on wording it has never seen.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from memory_nodes.domain.goals import GoalCondition
from memory_nodes.domain.household import SYNONYMS

#: Per condition, phrasings ({o}: the object words, {r}: the receptacle's), two families.
PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    'ON': (('put the {o} on the {r}', 'place the {o} on the {r}', 'set the {o} on the {r}',
            'leave the {o} on the {r}', 'move the {o} onto the {r}'),
           ('put down the {o} on the {r}', 'the {o} goes on the {r}',
            'get the {o} onto the {r}', 'take the {o} to the {r}')),
    'INSIDE': (('put the {o} in the {r}', 'place the {o} inside the {r}',
                'store the {o} in the {r}', 'put the {o} away in the {r}'),
               ('drop the {o} into the {r}', 'stick the {o} in the {r}',
                'the {o} goes in the {r}', 'stash the {o} in the {r}')),
    'sliced': (('slice the {o}', 'cut the {o}', 'cut up the {o}'),
               ('chop the {o}', 'cut the {o} into slices', 'dice the {o}')),
    'clean': (('wash the {o}', 'clean the {o}', 'rinse the {o}'),
              ('give the {o} a wash', 'rinse off the {o}', 'scrub the {o}')),
    'hot': (('heat the {o}', 'heat up the {o}', 'warm up the {o}'),
            ('microwave the {o}', 'make the {o} hot', 'warm the {o}')),
    'cold': (('chill the {o}', 'cool the {o}', 'cool down the {o}'),
             ('make the {o} cold', 'get the {o} cold', 'refrigerate the {o}')),
    'cooked': (('cook the {o}', 'fry the {o}'), ('boil the {o}', 'get the {o} cooked')),
    'open': (('open the {o}',), ('open up the {o}',)),
    'closed': (('close the {o}',), ('shut the {o}',)),
    'filled': (('fill the {o}', 'fill the {o} with water'), ('fill up the {o}',)),
    'empty': (('empty the {o}',), ('pour out the {o}',)),
    'dirty': (('get the {o} dirty',), ('make the {o} dirty',)),
    'used_up': (('use up the {o}',), ('finish the {o}',)),
    'TOGGLEON': (('turn on the {o}', 'switch on the {o}'),
                 ('switch the {o} on', 'turn the {o} on')),
    'TOGGLEOFF': (('turn off the {o}', 'switch off the {o}'),
                  ('switch the {o} off', 'turn the {o} off')),
    'HOLDING': (('bring me the {o}', 'pick up the {o}', 'fetch the {o}'),
                ('grab the {o}', 'get me the {o}', 'hand me the {o}')),
}
CONNECTORS = ((', ', ', then ', ' and ', '. Then ', ', and then '),
              ('; ', ', after that ', '. Next, ', ' and afterwards '))
FRAMES = (('{s}', 'Please {s}', '{s}, please', 'Could you {s}?', 'Can you {s}?'),
          ('I need you to {s}', 'Would you {s}?', '{s}, thanks', 'Hey robot, {s}'))


def _split_camel(name: str) -> str:
    return re.sub(r'(?<=[a-z])(?=[A-Z])', ' ', name).lower()


def object_words(object_type: str, rng: random.Random) -> str:
    """Everyday words for a type: its own name split, or one of its synonyms."""
    options = [_split_camel(object_type)]
    options += [w for w, types in SYNONYMS.items() if types and types[0] == object_type]
    return rng.choice(options)


def _clause(goal: GoalCondition, family: int, rng: random.Random, it: bool) -> str:
    key = goal.kind
    if goal.kind == 'STATE':
        key = goal.to_text().split(', ', 1)[1].split(')', 1)[0]
    phrases = PHRASES.get(key, PHRASES['ON'])[family]
    o = 'it' if it else object_words(goal.obj, rng)
    r = object_words(goal.target, rng) if goal.target and goal.kind in ('ON', 'INSIDE') \
        else ''
    text = rng.choice(phrases).format(o=o, r=r)
    return text.replace('the it', 'it')


def say(goals: Sequence[GoalCondition], rng: random.Random, family: int = 0) -> str:
    """An instruction asking for `goals` (type-level), in phrasing family 0 or 1."""
    parts, last = [], None
    for goal in goals:
        parts.append(_clause(goal, family, rng, it=goal.obj == last and rng.random() < 0.7))
        last = goal.obj
    text = parts[0]
    for part in parts[1:]:
        text += rng.choice(CONNECTORS[family]) + part
    return perturb(text, rng, family)


def perturb(text: str, rng: random.Random, family: int = 0, typo_rate: float = 0.15
            ) -> str:
    """A polite frame (sometimes), a typo (sometimes), a capital and a full stop."""
    text = text.strip().rstrip('.')
    if rng.random() < 0.5:
        frame = rng.choice(FRAMES[family])
        text = frame.format(s=text[0].lower() + text[1:])
    if rng.random() < typo_rate:
        text = typo(text, rng)
    text = text[0].upper() + text[1:]
    return text if text.endswith(('?', '.')) else text + '.'


def typo(text: str, rng: random.Random) -> str:
    """One typo in a word of four or more letters: a swap, a drop or a double."""
    words = text.split(' ')
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w, k = words[i], rng.randrange(1, len(words[i]) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        w = w[:k] + w[k + 1] + w[k] + w[k + 2:]
    elif kind == 1:
        w = w[:k] + w[k + 1:]
    else:
        w = w[:k] + w[k] + w[k:]
    words[i] = w
    return ' '.join(words)
