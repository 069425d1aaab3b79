"""The skills a model may plan with: names, arguments, preconditions, and the prompt text.

One table (`SKILLS`) serves both sides of a model planner: `skill_api_text` renders it
for the prompt, and `plan_format` validates model output against it, so the model is never
told about a skill or argument the validator would reject (or the reverse). Arguments are
the `PlanStep` fields: `object`, `receptacle`, `relation` ('in' | 'on'), `area`.
"""

from __future__ import annotations

from dataclasses import dataclass

from memory_nodes.domain.skills import PRIMITIVE_SKILLS
from memory_nodes.planner.plan import PlanStep

#: PlanStep fields a skill may take.
ARGUMENTS = ('object', 'receptacle', 'relation', 'area')
#: How `put` places an object.
RELATIONS = ('in', 'on')
#: The `explore` area meaning "wherever memory ranks best".
ANY_AREA = 'anywhere'


@dataclass(frozen=True)
class SkillSpec:
    """One skill: its required and optional arguments and what must hold before it runs."""

    name: str
    required: tuple[str, ...]
    summary: str
    preconditions: str = ''
    optional: tuple[str, ...] = ()
    composite: bool = False

    def signature(self) -> str:
        """`put(object, receptacle, relation)` style signature."""
        args = list(self.required) + [f'{a}?' for a in self.optional]
        return f'{self.name}({", ".join(args)})'


_SPECS = (
    SkillSpec('navigate_to', ('object',), 'drive to an object or piece of furniture',
              'the object is known to memory'),
    SkillSpec('explore', ('area',), 'search a room for things memory does not know',
              f'area is a room name or "{ANY_AREA}"'),
    SkillSpec('pick_up', ('object',), 'grasp a small object',
              'the hand is empty; the robot is at the object; a closed container holding '
              'it is opened first'),
    SkillSpec('put', ('object', 'receptacle', 'relation'),
              'place the held object in or on a receptacle',
              'the object is held; the robot is at the receptacle; an openable receptacle '
              'is open; relation is "in" or "on"'),
    SkillSpec('open', ('object',), 'open a fridge, cabinet, drawer, microwave, box',
              'the robot is at it; the hand may hold something'),
    SkillSpec('close', ('object',), 'close something open', 'the robot is at it'),
    SkillSpec('toggle_on', ('object',), 'switch on a lamp, faucet, microwave, TV',
              'the robot is at it'),
    SkillSpec('toggle_off', ('object',), 'switch something off', 'the robot is at it'),
    SkillSpec('slice', ('object',), 'slice a sliceable food',
              'a knife is held; the robot is at the food'),
    SkillSpec('look_at', ('object',), 'turn the head to look at something (into an open '
              'drawer or cabinet, onto a low shelf, up at a wall cabinet)',
              'the robot is near it'),
    SkillSpec('pour_out', ('object',), 'empty a held mug, cup, bowl or pot of its water',
              'the object is held and filled'),
    SkillSpec('heat', ('object',), 'make an object hot (microwave macro)',
              'the object is held', composite=True),
    SkillSpec('cool', ('object',), 'make an object cold (fridge macro)',
              'the object is held', composite=True),
    SkillSpec('clean', ('object',), 'wash an object (sink and faucet macro)',
              'the object is held', composite=True),
)

#: Every skill a plan may name, by name.
SKILLS: dict[str, SkillSpec] = {s.name: s for s in _SPECS}
#: Composite skills (expanded into primitives by the goal compiler / task runner).
COMPOSITE_SKILLS = tuple(s.name for s in _SPECS if s.composite)

assert set(PRIMITIVE_SKILLS) <= set(SKILLS), 'skills_api is missing a primitive skill'

#: Spellings models use for our skills (normalised: lower case, '_' for blanks).
SKILL_SYNONYMS: dict[str, str] = {
    'goto': 'navigate_to', 'go_to': 'navigate_to', 'navigate': 'navigate_to',
    'move_to': 'navigate_to', 'walk_to': 'navigate_to',
    'pickup': 'pick_up', 'pick': 'pick_up', 'grab': 'pick_up', 'take': 'pick_up',
    'place': 'put', 'put_down': 'put', 'putdown': 'put', 'place_object': 'put',
    'toggleon': 'toggle_on', 'turn_on': 'toggle_on', 'switch_on': 'toggle_on',
    'toggleoff': 'toggle_off', 'turn_off': 'toggle_off', 'switch_off': 'toggle_off',
    'search': 'explore', 'cut': 'slice', 'wash': 'clean', 'chill': 'cool', 'warm': 'heat',
}


def normalize_skill(name: str) -> str:
    """Lower-case a skill name, blanks to '_', and map known synonyms (`PickUp` ok)."""
    text = str(name).strip()
    # CamelCase -> snake_case before lower-casing ('PickUp' -> 'pick_up').
    out = ''
    for i, ch in enumerate(text):
        if ch.isupper() and i and text[i - 1].islower():
            out += '_'
        out += ch
    key = '_'.join(out.lower().replace('-', ' ').replace('_', ' ').split())
    return SKILL_SYNONYMS.get(key, key)


def skill_api_text() -> str:
    """The skill API as prompt text: one line per skill with arguments and preconditions."""
    lines = ['Skills (use only these; arguments are names as memory shows them):']
    for s in _SPECS:
        pre = f' Requires: {s.preconditions}.' if s.preconditions else ''
        kind = ' [composite]' if s.composite else ''
        lines.append(f'- {s.signature()}{kind}: {s.summary}.{pre}')
    lines.append('Relations for put: "in" (containers: fridge, cabinet, drawer, sink, '
                 'microwave, bin) or "on" (tables, counters, shelves, sofa, bed).')
    return '\n'.join(lines)


def step_arguments(step: PlanStep) -> dict[str, str]:
    """The non-empty arguments of a step, by field name."""
    return {a: getattr(step, a) for a in ARGUMENTS if getattr(step, a)}
