"""Model output -> validated `PlanStep`s, or a named reason why not.

The format a model is asked for is a JSON list of skill calls::

    [{"skill": "navigate_to", "object": "apple"},
     {"skill": "pick_up", "object": "apple"},
     {"skill": "put", "object": "apple", "receptacle": "fridge", "relation": "in"}]

`parse_plan` tolerates the usual noise of chat models (code fences, prose before or after
the JSON, `{"steps": [...]}` or `{"plan": [...]}` wrappers, a single object instead of a
list, arguments nested under `"args"`, skill spellings like `PickUp`) and rejects anything
else with a `PlanFormatError` whose `reason` is one of `REASONS`. `validate_names` then
checks every object, receptacle and area against memory through a `MemoryView`: a name
memory does not know is an `unknown_object` issue and the plan is not executed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from memory_nodes.domain.labels import normalize_label
from memory_nodes.planner.plan import MemoryView, PlanStep
from memory_nodes.planner.skills_api import (
    ANY_AREA,
    ARGUMENTS,
    RELATIONS,
    SKILLS,
    normalize_skill,
)

#: Every reason a plan can be rejected for.
REASONS = (
    'empty_output',  # the model said nothing
    'non_json',  # no JSON value could be read
    'not_a_plan',  # JSON, but not a list of skill-call objects
    'empty_plan',  # an empty list
    'too_many_steps',  # more than the allowed number of steps
    'unknown_skill',  # a skill name not in the skill API
    'missing_argument',  # a required argument is absent or empty
    'unexpected_argument',  # an argument the skill does not take
    'wrong_relation',  # put with a relation other than in/on
    'bad_argument',  # an argument that is not a short single-line string
    'unknown_object',  # a name memory does not know
    'unknown_area',  # an explore area that is not a known room
)
DEFAULT_MAX_STEPS = 40
MAX_NAME_CHARS = 64

#: JSON schema of the plan format (draft 2020-12), also given to servers that support it.
PLAN_SCHEMA: dict[str, Any] = {
    '$schema': 'https://json-schema.org/draft/2020-12/schema',
    'title': 'embodied_memory plan',
    'type': 'array',
    'minItems': 1,
    'maxItems': DEFAULT_MAX_STEPS,
    'items': {
        'type': 'object',
        'required': ['skill'],
        'additionalProperties': False,
        'properties': {
            'skill': {'type': 'string', 'enum': sorted(SKILLS)},
            'object': {'type': 'string', 'maxLength': MAX_NAME_CHARS},
            'receptacle': {'type': 'string', 'maxLength': MAX_NAME_CHARS},
            'relation': {'type': 'string', 'enum': list(RELATIONS)},
            'area': {'type': 'string', 'maxLength': MAX_NAME_CHARS},
        },
    },
}

_FENCE = re.compile(r'```[A-Za-z0-9_-]*\s*\n?(.*?)```', re.S)
_WRAPPERS = ('steps', 'plan', 'actions', 'skills')
_ARG_SYNONYMS = {'target': 'object', 'obj': 'object', 'item': 'object',
                 'container': 'receptacle', 'location': 'receptacle', 'destination': 'receptacle',
                 'room': 'area', 'place': 'area'}


class PlanFormatError(ValueError):
    """Model output that is not a valid plan; `reason` is one of `REASONS`."""

    def __init__(self, reason: str, message: str, step: int | None = None):
        assert reason in REASONS, reason
        self.reason = reason
        self.step = step
        where = f' (step {step})' if step is not None else ''
        super().__init__(f'{reason}{where}: {message}')


@dataclass(frozen=True)
class PlanIssue:
    """One problem found when checking a parsed plan against memory."""

    reason: str
    step: int
    name: str
    message: str

    def text(self) -> str:
        """`unknown_object (step 2): ...` as fed back to the model."""
        return f'{self.reason} (step {self.step}): {self.message}'


def plan_format_text(max_steps: int = DEFAULT_MAX_STEPS) -> str:
    """The output instructions for the prompt."""
    return (
        'Answer with ONLY a JSON list of skill calls, no prose, at most '
        f'{max_steps} steps. Each call is an object with "skill" and its arguments, e.g.\n'
        '[{"skill": "navigate_to", "object": "apple"}, {"skill": "pick_up", "object": '
        '"apple"}, {"skill": "navigate_to", "object": "fridge"}, {"skill": "open", '
        '"object": "fridge"}, {"skill": "put", "object": "apple", "receptacle": "fridge", '
        '"relation": "in"}]\n'
        'Use object names exactly as the memory lists them; if something is not in '
        'memory, plan {"skill": "explore", "area": "<room>"} first.')


def _json_candidates(text: str) -> list[str]:
    """Fenced blocks first, then the raw text."""
    return [m.group(1) for m in _FENCE.finditer(text)] + [text]


def extract_json(text: str) -> Any:
    """The first JSON list or object in `text` (code fences and prose around it ignored)."""
    if not isinstance(text, str) or not text.strip():
        raise PlanFormatError('empty_output', 'the model returned no text')
    decoder = json.JSONDecoder()
    for chunk in _json_candidates(text):
        for i, ch in enumerate(chunk):
            if ch not in '[{':
                continue
            try:
                value, _ = decoder.raw_decode(chunk, i)
            except json.JSONDecodeError:
                continue
            if isinstance(value, (list, dict)):
                return value
    snippet = ' '.join(text.split())[:80]
    raise PlanFormatError('non_json', f'no JSON list or object found in {snippet!r}')


def _as_items(value: Any) -> list[Any]:
    if isinstance(value, dict):
        for key in _WRAPPERS:
            if key in value and isinstance(value[key], list):
                return value[key]
        if 'skill' in value or 'action' in value:
            return [value]
        raise PlanFormatError('not_a_plan', f'an object with keys {sorted(value)[:6]}, '
                              'expected a list of skill calls')
    return value


def _step(raw: Any, index: int) -> PlanStep:
    if not isinstance(raw, dict):
        raise PlanFormatError('not_a_plan', f'expected an object, got {type(raw).__name__}',
                              index)
    fields = dict(raw)
    nested = fields.pop('args', None) or fields.pop('arguments', None)
    if isinstance(nested, dict):
        fields.update(nested)
    skill_raw = fields.pop('skill', None) or fields.pop('action', None)
    if not isinstance(skill_raw, str) or not skill_raw.strip():
        raise PlanFormatError('missing_argument', 'no "skill" name', index)
    skill = normalize_skill(skill_raw)
    spec = SKILLS.get(skill)
    if spec is None:
        raise PlanFormatError('unknown_skill', f'{skill_raw[:40]!r} is not a skill; use one '
                              f'of {", ".join(SKILLS)}', index)
    args: dict[str, str] = {}
    for key, value in fields.items():
        name = _ARG_SYNONYMS.get(str(key).lower(), str(key).lower())
        if value is None or value == '':
            continue
        if name not in ARGUMENTS:
            raise PlanFormatError('unexpected_argument', f'{skill} takes no {str(key)[:30]!r}',
                                  index)
        if not isinstance(value, str) or '\n' in value or len(value) > MAX_NAME_CHARS:
            raise PlanFormatError('bad_argument', f'{name} must be a name of at most '
                                  f'{MAX_NAME_CHARS} characters on one line', index)
        args[name] = value.strip()
    for name in spec.required:
        if not args.get(name):
            raise PlanFormatError('missing_argument', f'{spec.signature()} needs {name}',
                                  index)
    for name in args:
        if name not in spec.required + spec.optional:
            raise PlanFormatError('unexpected_argument',
                                  f'{spec.signature()} takes no {name}', index)
    if 'relation' in args:
        args['relation'] = args['relation'].lower()
        if args['relation'] not in RELATIONS:
            raise PlanFormatError('wrong_relation', f'relation {args["relation"][:20]!r} is '
                                  f'not one of {"/".join(RELATIONS)}', index)
    return PlanStep(skill=skill, **args)


def parse_plan(text: str, max_steps: int = DEFAULT_MAX_STEPS) -> list[PlanStep]:
    """Parse model output into steps; raise `PlanFormatError` with a named reason."""
    items = _as_items(extract_json(text))
    if not isinstance(items, list):
        raise PlanFormatError('not_a_plan', 'expected a list of skill calls')
    if not items:
        raise PlanFormatError('empty_plan', 'the plan has no steps')
    if len(items) > max_steps:
        raise PlanFormatError('too_many_steps', f'{len(items)} steps, at most {max_steps}')
    return [_step(raw, i) for i, raw in enumerate(items)]


def plan_to_json(steps: list[PlanStep]) -> str:
    """Steps in the plan format (only non-empty arguments)."""
    out = []
    for s in steps:
        d = {'skill': s.skill}
        d.update({a: getattr(s, a) for a in ARGUMENTS if getattr(s, a)})
        out.append(d)
    return json.dumps(out)


def name_known(memory: MemoryView, name: str) -> bool:
    """True if memory knows an object/furniture called `name` (a label or a node id)."""
    key = normalize_label(name)
    if memory.find(label=name, top_k=1):
        return True
    for hit in memory.find(text=name, top_k=5):
        if hit.id == name or normalize_label(hit.label) == key:
            return True
    return False


def validate_names(steps: list[PlanStep], memory: MemoryView) -> list[PlanIssue]:
    """Every object/receptacle/area name checked against memory; unknown ones as issues."""
    issues: list[PlanIssue] = []
    rooms = {normalize_label(r) for r in memory.rooms()}
    known: dict[str, bool] = {}
    for i, step in enumerate(steps):
        for field_name in ('object', 'receptacle'):
            name = getattr(step, field_name)
            if not name:
                continue
            if name not in known:
                known[name] = name_known(memory, name)
            if not known[name]:
                issues.append(PlanIssue('unknown_object', i, name,
                                        f'memory knows no object called {name!r}; use a '
                                        'name from memory or explore first'))
        if step.area and normalize_label(step.area) not in rooms | {ANY_AREA}:
            issues.append(PlanIssue('unknown_area', i, step.area,
                                    f'{step.area!r} is not a known room (rooms: '
                                    f'{", ".join(sorted(rooms)) or "none"})'))
    return issues
