"""Goal conditions: parsing, each kind, NOT, and the ordered ALFRED-L scorer."""

from __future__ import annotations

import re

import pytest

from memory_nodes.domain.goals import (
    GoalCondition,
    GoalParseError,
    parse_condition,
    parse_conditions,
    split_conditions,
)
from sim.interface import ObjectTruth
from sim.scoring import TaskScorer, check_condition


def obj(object_id, object_type, parent=None, relation=None, states=None, kind='object'):
    return ObjectTruth(object_id, object_type, kind, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0),
                       (0.1, 0.1, 0.1), 'kitchen', dict(states or {}), parent, relation,
                       pickupable=kind == 'object')


def world(*things):
    return {t.object_id: t for t in things}


def base_world(**changes):
    things = {
        'table': obj('table', 'DiningTable', kind='furniture'),
        'counter': obj('counter', 'CounterTop', kind='furniture'),
        'fridge': obj('fridge', 'Fridge', kind='furniture', states={'open': False}),
        'sink': obj('sink', 'SinkBasin', kind='furniture'),
        'faucet': obj('faucet', 'Faucet', kind='furniture', states={'toggled': False}),
        'apple': obj('apple', 'Apple', 'counter', 'on', {'sliced': False, 'hot': False}),
        'apple2': obj('apple2', 'Apple', 'fridge', 'in', {'sliced': False}),
        'bowl': obj('bowl', 'Bowl', 'table', 'on', {'dirty': True, 'filled': False}),
        'mug': obj('mug', 'Mug', 'counter', 'on', {'dirty': False}),
    }
    for key, value in changes.items():
        things[key] = value
    return things


# -- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize('text,kind,o,target,value,negated', [
    ('ON(Apple, DiningTable): 1', 'ON', 'Apple', 'DiningTable', True, False),
    ('INSIDE(Tomato, SinkBasin): 1', 'INSIDE', 'Tomato', 'SinkBasin', True, False),
    ('STATE(Tomato, clean): 1', 'STATE', 'Tomato', 'dirty', False, False),
    ('STATE(Mug, empty): 1', 'STATE', 'Mug', 'filled', False, False),
    ('STATE(Egg, boiled): 1', 'STATE', 'Egg', 'cooked', True, False),
    ('STATE(Apple, hot=0): 1', 'STATE', 'Apple', 'hot', False, False),
    ('TOGGLEON(Faucet): 1', 'TOGGLEON', 'Faucet', None, True, False),
    ('SWITCHON(DeskLamp): 1', 'TOGGLEON', 'DeskLamp', None, True, False),
    ('SWITCHOFF(DeskLamp): 1', 'TOGGLEOFF', 'DeskLamp', None, True, False),
    ('TOGGLEOFF(Faucet): 1', 'TOGGLEOFF', 'Faucet', None, True, False),
    ('HOLDING(Mug): 1', 'HOLDING', 'Mug', None, True, False),
    ('ON(Apple, DiningTable): 0', 'ON', 'Apple', 'DiningTable', True, True),
    ('NOT(ON(Apple, DiningTable)): 1', 'ON', 'Apple', 'DiningTable', True, True),
    ('NOT(ON(Apple, DiningTable)): 0', 'ON', 'Apple', 'DiningTable', True, False),
    ('not(holding(Mug))', 'HOLDING', 'Mug', None, True, True),
])
def test_parse_kinds(text, kind, o, target, value, negated):
    cond = parse_condition(text, require_value=False)
    assert (cond.kind, cond.obj, cond.target, cond.state_value, cond.negated) == (
        kind, o, target, value, negated)
    assert parse_condition(cond.to_text()) == cond


def test_parse_instance_ids_round_trip():
    cond = parse_condition('ON(#Apple|-01.75|+00.90, #table_1): 1')
    assert cond.obj_id == 'Apple|-01.75|+00.90' and cond.target_id == 'table_1'
    assert cond.obj == '' and parse_condition(cond.to_text()) == cond


@pytest.mark.parametrize('text,message', [
    ('ON(desk): 1', 'takes 2 argument'),
    ('ON(apple, table)', 'missing ": 1"'),
    ('FLY(apple): 1', 'unknown condition kind'),
    ('STATE(book, sofa): 1', 'unknown state'),
    ('ON(apple, table): 2', 'value must be 0 or 1'),
    ('ON((1.0, 2.0), table): 1', 'is not an object type'),
    ('ON apple table: 1', 'expected KIND(args)'),
    ('HOLDING(): 1', 'takes 1 argument'),
])
def test_parse_errors(text, message):
    with pytest.raises(GoalParseError, match=re.escape(message)):
        parse_condition(text)


def test_split_and_list():
    parts = split_conditions('ON(a, b): 1, NOT(HOLDING(c)), INSIDE(d, [1, 2]): 1')
    assert parts == ['ON(a, b): 1', 'NOT(HOLDING(c))', 'INSIDE(d, [1, 2]): 1']
    with pytest.raises(GoalParseError, match='unbalanced'):
        split_conditions('ON(a, b: 1')
    goals = parse_conditions('ON(Apple, DiningTable): 1, HOLDING(Mug): 1')
    assert [g.kind for g in goals] == ['ON', 'HOLDING']
    assert parse_conditions(['HOLDING(Mug): 1'])[0].obj == 'Mug'


def test_condition_validation():
    with pytest.raises(GoalParseError):
        GoalCondition('STATE', 'Apple', 'shiny')
    with pytest.raises(GoalParseError):
        GoalCondition('ON', 'Apple')


# -- checking -----------------------------------------------------------------------------


def test_on_any_instance_and_transitive():
    w = base_world()
    assert not check_condition(parse_condition('ON(Apple, DiningTable): 1'), w)
    assert check_condition(parse_condition('ON(Apple, CounterTop): 1'), w)
    # any instance of the type counts: the second apple is in the fridge
    assert check_condition(parse_condition('INSIDE(Apple, Fridge): 1'), w)
    # an apple in the bowl on the table is on the table (AI2-THOR parentReceptacles)
    w = base_world(apple=obj('apple', 'Apple', 'bowl', 'in'))
    assert check_condition(parse_condition('ON(Apple, DiningTable): 1'), w)
    assert check_condition(parse_condition('INSIDE(Apple, Bowl): 1'), w)


def test_relation_strictness():
    w = base_world(apple=obj('apple', 'Apple', 'table', 'on'))
    loose = parse_condition('INSIDE(Apple, DiningTable): 1')
    assert check_condition(loose, w)
    assert not check_condition(loose, w, strict_relation=True)
    assert check_condition(parse_condition('ON(Apple, DiningTable): 1'), w,
                           strict_relation=True)


def test_instance_ids():
    w = base_world()
    assert check_condition(parse_condition('INSIDE(#apple2, #fridge): 1'), w)
    assert not check_condition(parse_condition('INSIDE(#apple, #fridge): 1'), w)
    assert check_condition(parse_condition('INSIDE(#apple2, Fridge): 1'), w)


def test_state_and_toggle():
    w = base_world()
    assert check_condition(parse_condition('STATE(Bowl, dirty): 1'), w)
    assert not check_condition(parse_condition('STATE(Bowl, clean): 1'), w)
    assert check_condition(parse_condition('STATE(Mug, clean): 1'), w)
    # a type without the state never satisfies it
    assert not check_condition(parse_condition('STATE(Apple, filled=0): 1'), w)
    assert check_condition(parse_condition('TOGGLEOFF(Faucet): 1'), w)
    assert not check_condition(parse_condition('TOGGLEON(Faucet): 1'), w)
    w['faucet'].states['toggled'] = True
    assert check_condition(parse_condition('SWITCHON(Faucet): 1'), w)
    # things that cannot be toggled are neither on nor off
    assert not check_condition(parse_condition('TOGGLEOFF(Apple): 1'), w)


def test_holding():
    w = base_world()
    cond = parse_condition('HOLDING(Mug): 1')
    assert not check_condition(cond, w, None)
    assert check_condition(cond, w, 'mug')
    assert not check_condition(cond, w, 'apple')


def test_not_means_no_instance():
    w = base_world()
    assert check_condition(parse_condition('NOT(ON(Apple, DiningTable))'), w)
    # one apple is in the fridge: NOT(INSIDE(Apple, Fridge)) is false
    assert not check_condition(parse_condition('NOT(INSIDE(Apple, Fridge))'), w)
    assert check_condition(parse_condition('HOLDING(Mug): 0'), w, None)
    assert not check_condition(parse_condition('NOT(HOLDING(Mug))'), w, 'mug')
    assert check_condition(parse_condition('NOT(STATE(Bowl, clean))'), w)


def test_missing_and_cyclic_parents_are_safe():
    w = world(obj('a', 'Apple', 'b', 'in'), obj('b', 'Bowl', 'a', 'in'),
              obj('c', 'Cup', 'ghost', 'in'))
    assert not check_condition(parse_condition('ON(Apple, DiningTable): 1'), w)
    assert check_condition(parse_condition('INSIDE(Apple, Bowl): 1'), w)
    assert not check_condition(parse_condition('INSIDE(Cup, Bowl): 1'), w)


# -- ordered scoring ----------------------------------------------------------------------


def goals(*texts):
    return [parse_condition(t) for t in texts]


def test_scorer_in_order():
    scorer = TaskScorer(goals('ON(Apple, DiningTable): 1', 'INSIDE(Apple, SinkBasin): 1'))
    w = base_world()
    w.pop('apple2')
    assert scorer.update(w) == 0
    w['apple'] = obj('apple', 'Apple', 'table', 'on')
    assert scorer.update(w) == 1
    assert scorer.next_goal.kind == 'INSIDE'
    w['apple'] = obj('apple', 'Apple', 'sink', 'in')
    assert scorer.update(w) == 1
    score = scorer.score
    assert score.success and score.goal_condition_rate == 1.0
    assert score.failed_subgoal is None and score.reached_at_step == [1, 2]


def test_later_subgoal_reached_first_does_not_count():
    scorer = TaskScorer(goals('TOGGLEON(Faucet): 1', 'INSIDE(Bowl, SinkBasin): 1'))
    w = base_world(bowl=obj('bowl', 'Bowl', 'sink', 'in'))
    scorer.update(w)  # the bowl is in the sink before the faucet was on: no credit
    assert scorer.score.reached == 0
    w['bowl'] = obj('bowl', 'Bowl', 'counter', 'on')
    w['faucet'].states['toggled'] = True
    scorer.update(w)
    assert scorer.score.reached == 1  # the faucet; the bowl is no longer in the sink
    assert scorer.score.failed_subgoal == 1
    assert 'failed at #1 INSIDE(Bowl, SinkBasin)' in scorer.score.summary()
    w['bowl'] = obj('bowl', 'Bowl', 'sink', 'in')
    scorer.update(w)
    assert scorer.done


def test_several_subgoals_in_one_step_and_undoing():
    # bread in the fridge, then in the trash: a sequence, not one final state
    scorer = TaskScorer(goals('INSIDE(Apple, Fridge): 1', 'TOGGLEOFF(Faucet): 1',
                              'INSIDE(Apple, GarbageCan): 1'))
    w = base_world()
    w['trash'] = obj('trash', 'GarbageCan', kind='furniture')
    assert scorer.update(w) == 2
    w['apple2'] = obj('apple2', 'Apple', 'trash', 'in')
    assert scorer.update(w) == 1
    assert scorer.score.success


def test_failure_reports_rate():
    scorer = TaskScorer(goals('HOLDING(Mug): 1', 'ON(Mug, DiningTable): 1',
                              'STATE(Mug, dirty): 1'))
    w = base_world()
    scorer.update(w, 'mug')
    w['mug'] = obj('mug', 'Mug', 'table', 'on', {'dirty': False})
    scorer.update(w, None)
    score = scorer.score
    assert not score.success
    assert score.goal_condition_rate == pytest.approx(2 / 3)
    assert score.failed_condition == parse_condition('STATE(Mug, dirty): 1')


def test_empty_task_is_trivially_done():
    scorer = TaskScorer([])
    assert scorer.done and scorer.score.goal_condition_rate == 1.0
