"""The ALFRED state rules as a pure function."""

from __future__ import annotations

from sim.catalog import CATALOG
from sim.state_rules import RuleThing, apply_state_rules


def thing(t, parent=None, **states):
    s = CATALOG[t].default_states()
    s.update(states)
    return RuleThing(t, s, parent)


def test_clean_and_fill_in_sink_with_faucet_on():
    w = {'sink': thing('SinkBasin'), 'tap': thing('Faucet', toggled=True),
         'mug': thing('Mug', 'sink', dirty=True)}
    w['tap'].attached_to = 'sink'
    assert apply_state_rules(w) == {'mug': {'dirty', 'filled'}}
    w['mug'].states['dirty'] = True
    w['tap'].states['toggled'] = False
    assert apply_state_rules(w) == {}


def test_heat_in_microwave_cooks_food():
    w = {'mw': thing('Microwave', toggled=True), 'egg': thing('Egg', 'mw'),
         'bowl': thing('Bowl', 'mw'), 'apple': thing('Apple', 'bowl', cold=True)}
    changes = apply_state_rules(w)
    assert changes['egg'] == {'hot', 'cooked'}
    assert changes['apple'] == {'hot', 'cold', 'cooked'}
    assert w['apple'].states['cold'] is False


def test_heat_in_pan_on_burner_only_when_on():
    w = {'burner': thing('StoveBurner'), 'pan': thing('Pan', 'burner'),
         'potato': thing('Potato', 'pan')}
    assert apply_state_rules(w) == {}
    w['burner'].states['toggled'] = True
    changes = apply_state_rules(w)
    assert changes['potato'] == {'hot', 'cooked'} and changes['pan'] == {'hot'}


def test_toaster_and_coffee_machine():
    w = {'toaster': thing('Toaster', toggled=True), 'bread': thing('Bread', 'toaster'),
         'cm': thing('CoffeeMachine', toggled=True), 'mug': thing('Mug', 'cm')}
    changes = apply_state_rules(w)
    assert changes['bread'] == {'hot', 'cooked'}
    assert changes['mug'] == {'hot', 'filled'}


def test_cool_only_in_closed_fridge():
    w = {'fridge': thing('Fridge', open=True), 'tomato': thing('Tomato', 'fridge', hot=True)}
    assert apply_state_rules(w) == {}
    w['fridge'].states['open'] = False
    assert apply_state_rules(w) == {'tomato': {'hot', 'cold'}}


def test_held_objects_are_left_alone():
    w = {'mw': thing('Microwave', toggled=True), 'egg': thing('Egg', 'mw')}
    assert apply_state_rules(w, held='egg') == {}


def test_a_stove_knob_turns_the_burner_it_is_attached_to():
    w = {'burner': thing('StoveBurner'), 'other': thing('StoveBurner'),
         'knob': thing('StoveKnob', toggled=True), 'pan': thing('Pan', 'burner'),
         'egg': thing('Egg', 'pan')}
    w['knob'].attached_to = 'burner'
    changes = apply_state_rules(w)
    assert changes['burner'] == {'toggled'} and 'other' not in changes
    assert changes['egg'] == {'hot', 'cooked'}  # the burner heats in the same pass
    w['knob'].states['toggled'] = False
    assert apply_state_rules(w) == {'burner': {'toggled'}}
    assert w['burner'].states['toggled'] is False
    w['other'].states['toggled'] = True  # a burner with no knob keeps its own switch
    assert apply_state_rules(w) == {}


def test_food_is_washed_in_a_sink_basin_under_a_running_faucet():
    w = {'sink': thing('SinkBasin'), 'tap': thing('Faucet'),
         'apple': thing('Apple', 'sink', dirty=True), 'egg': thing('Egg', 'sink', dirty=True)}
    w['tap'].attached_to = 'sink'
    assert apply_state_rules(w) == {}
    w['tap'].states['toggled'] = True
    assert apply_state_rules(w) == {'apple': {'dirty'}, 'egg': {'dirty'}}
