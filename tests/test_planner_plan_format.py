"""Plan format: tolerant parsing, named rejections, schema, names checked against memory."""

from __future__ import annotations

import json

import pytest
from planner_fakes import kitchen_view

from memory_nodes.domain.skills import PRIMITIVE_SKILLS
from memory_nodes.planner.plan import PlanStep
from memory_nodes.planner.plan_format import (
    PLAN_SCHEMA,
    PlanFormatError,
    parse_plan,
    plan_to_json,
    validate_names,
)
from memory_nodes.planner.skills_api import SKILLS, normalize_skill, skill_api_text

GOOD = ('[{"skill": "navigate_to", "object": "apple"}, {"skill": "pick_up", "object": '
        '"apple"}, {"skill": "put", "object": "apple", "receptacle": "fridge", '
        '"relation": "in"}]')


def test_clean_list_parses():
    steps = parse_plan(GOOD)
    assert [s.text() for s in steps] == ['navigate_to(apple)', 'pick_up(apple)',
                                         'put(apple, fridge, in)']


@pytest.mark.parametrize('noisy', [
    f'```json\n{GOOD}\n```',
    f'Sure! Here is the plan:\n{GOOD}\nLet me know if you need anything else.',
    f'```\n{GOOD}\n``` trailing words [not json',
    '{"steps": ' + GOOD + '}',
    '{"plan": ' + GOOD + '} and some prose',
])
def test_noise_is_tolerated(noisy):
    assert len(parse_plan(noisy)) == 3


def test_single_object_nested_args_and_spellings():
    steps = parse_plan('{"action": "PickUp", "args": {"target": "mug"}}')
    assert steps == [PlanStep('pick_up', object='mug')]
    assert normalize_skill('Toggle On') == 'toggle_on'
    assert normalize_skill('navigate-to') == 'navigate_to'


@pytest.mark.parametrize('text, reason', [
    ('', 'empty_output'),
    ('I cannot help with that.', 'non_json'),
    ('[1, 2]', 'not_a_plan'),
    ('{"foo": 1}', 'not_a_plan'),
    ('[]', 'empty_plan'),
    ('[{"skill": "teleport", "object": "apple"}]', 'unknown_skill'),
    ('[{"skill": "put", "object": "apple", "relation": "in"}]', 'missing_argument'),
    ('[{"object": "apple"}]', 'missing_argument'),
    ('[{"skill": "put", "object": "a", "receptacle": "b", "relation": "under"}]',
     'wrong_relation'),
    ('[{"skill": "pick_up", "object": "apple", "relation": "in"}]', 'unexpected_argument'),
    ('[{"skill": "pick_up", "object": "apple", "speed": 3}]', 'unexpected_argument'),
    ('[{"skill": "pick_up", "object": ["apple"]}]', 'bad_argument'),
    ('[{"skill": "pick_up", "object": "' + 'x' * 200 + '"}]', 'bad_argument'),
])
def test_invalid_content_rejected_with_named_reason(text, reason):
    with pytest.raises(PlanFormatError) as err:
        parse_plan(text)
    assert err.value.reason == reason
    assert str(err.value).startswith(reason)


def test_too_many_steps():
    many = json.dumps([{'skill': 'explore', 'area': 'kitchen'}] * 12)
    with pytest.raises(PlanFormatError) as err:
        parse_plan(many, max_steps=10)
    assert err.value.reason == 'too_many_steps'


def test_round_trip_and_schema_agree_with_skills():
    steps = parse_plan(GOOD)
    assert parse_plan(plan_to_json(steps)) == steps
    assert set(PLAN_SCHEMA['items']['properties']['skill']['enum']) == set(SKILLS)
    assert set(PRIMITIVE_SKILLS) | {'heat', 'cool', 'clean'} == set(SKILLS)
    text = skill_api_text()
    for name in SKILLS:
        assert f'- {name}(' in text


def test_names_validated_against_memory():
    view = kitchen_view()
    steps = parse_plan('[{"skill": "navigate_to", "object": "apple"},'
                       '{"skill": "pick_up", "object": "apple_1"},'
                       '{"skill": "put", "object": "apple", "receptacle": "unicorn", '
                       '"relation": "on"},'
                       '{"skill": "explore", "area": "attic"},'
                       '{"skill": "explore", "area": "kitchen"}]')
    issues = validate_names(steps, view)
    assert [(i.reason, i.step, i.name) for i in issues] == [
        ('unknown_object', 2, 'unicorn'), ('unknown_area', 3, 'attic')]
    assert issues[0].text().startswith('unknown_object (step 2)')
