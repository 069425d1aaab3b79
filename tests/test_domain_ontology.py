"""The household ontology: free words to types, immutability, one label normaliser."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.domain.labels import label_key, normalize_label
from memory_nodes.domain.ontology import ObjectType, Ontology

resolve_type = HOUSEHOLD.resolve
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize('word,expected,how', [
    ('Apple', 'Apple', 'exact'),
    ('apple', 'Apple', 'case'),
    ('TOMATO', 'Tomato', 'case'),
    ('toilet paper', 'ToiletPaper', 'case'),
    ('garbage_can', 'GarbageCan', 'case'),
    ('ladles', 'Ladle', 'plural'),
    ('potatoes', 'Potato', 'plural'),
    ('counter', 'CounterTop', 'synonym'),
    ('kitchen counter', 'CounterTop', 'synonym'),
    ('trash', 'GarbageCan', 'synonym'),
    ('card', 'CreditCard', 'synonym'),
    ('cloth', 'Cloth', 'case'),
    ('turner', 'Spatula', 'synonym'),
    ('sink', 'SinkBasin', 'synonym'),
    ('refrigerator', 'Fridge', 'synonym'),
    ('cellphone', 'CellPhone', 'case'),
    ('knives', 'Knife', 'synonym'),
    ('tables', 'DiningTable', 'plural'),
    # ALFRED-L's free words, one per synonym line (and the plurals it writes)
    ('scoop', 'Ladle', 'synonym'),
    ('bag', 'Box', 'synonym'),
    ('oven', 'Microwave', 'synonym'),
    ('microwave oven', 'Microwave', 'synonym'),
    ('frying pan', 'Pan', 'synonym'),
    ('skillet', 'Pan', 'synonym'),
    ('saucepan', 'Pot', 'synonym'),
    ('glass', 'Cup', 'synonym'),
    ('dish', 'Plate', 'synonym'),
    ('dishes', 'Plate', 'plural'),
    ('apples', 'Apple', 'plural'),
    ('counters', 'CounterTop', 'plural'),
])
def test_resolve(word, expected, how):
    alias = resolve_type(word)
    assert alias.ok and alias.object_type == expected and alias.how == how
    assert expected in alias.describe()


def test_every_ontology_type_maps_to_itself():
    for name in HOUSEHOLD:
        assert resolve_type(name).object_type == name
        assert resolve_type(name.lower()).object_type == name


def test_family_words_follow_the_home_and_the_room():
    assert resolve_type('table').object_type == 'DiningTable'
    assert resolve_type('table', present={'CoffeeTable', 'Sofa'}).object_type == 'CoffeeTable'
    assert resolve_type('lamp', present=['FloorLamp']).object_type == 'FloorLamp'
    assert resolve_type('lamp').object_type == 'DeskLamp'
    assert resolve_type('table', room='living_room').object_type == 'CoffeeTable'
    assert resolve_type('table', room='kitchen').object_type == 'DiningTable'
    assert resolve_type('lamp', room='living_room').object_type == 'FloorLamp'
    alias = resolve_type('table', present=['Bed'])
    assert alias.object_type == 'DiningTable' and 'present' in alias.note


@pytest.mark.parametrize('word', ['plunger', 'cd', 'flux capacitor', 'xyzzy', '', '   '])
def test_unmapped_words_say_why(word):
    alias = resolve_type(word)
    assert not alias.ok and alias.how == 'unmapped' and alias.note
    assert '?' in alias.describe()


def test_custom_type_list():
    table = Ontology([ObjectType('Apple', 'object'), ObjectType('Plunger', 'object')],
                     synonyms={'trash': ('GarbageCan',)})
    assert table.resolve('plungers').object_type == 'Plunger'
    assert not table.resolve('trash').ok  # the synonym's type is not in this list


def test_ontology_cannot_be_changed():
    with pytest.raises(TypeError):
        HOUSEHOLD._types['Plunger'] = ObjectType('Plunger', 'object')  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        HOUSEHOLD['Apple'].pickupable = False  # type: ignore[misc]
    with pytest.raises(ValueError, match='given twice'):
        Ontology([ObjectType('Apple', 'object'), ObjectType('Apple', 'object')])


def test_extending_builds_a_new_ontology_and_leaves_the_household_one():
    n = len(HOUSEHOLD)
    richer = HOUSEHOLD.extended([ObjectType('Plunger', 'object', pickupable=True)],
                                {'plumber helper': ('Plunger',)}, name='richer')
    assert len(HOUSEHOLD) == n and 'Plunger' not in HOUSEHOLD
    assert richer.resolve('plumber helper').object_type == 'Plunger'
    assert richer.resolve('trash').object_type == 'GarbageCan'  # the household words stay
    assert not HOUSEHOLD.resolve('plumber helper').ok


_PROBE = ('from memory_nodes.domain.household import HOUSEHOLD\n'
          'import sys\n'
          'words = ["stool", "light switch", "stove knob", "paper towel roll", "table", '
          '"sink", "lamp", "trash", "floor", "window"]\n'
          'print(len(HOUSEHOLD), [HOUSEHOLD.resolve(w).object_type for w in words])\n')


@pytest.mark.parametrize('first', [
    '',                                                    # the household ontology alone
    'import sim.ai2thor.scene_importer, sim.alfred_l\n',   # the AI2-THOR importer first
    'import memory_nodes.planner.task_runner\n',           # the planner first
])
def test_what_a_word_means_does_not_depend_on_import_order(first):
    """The AI2-THOR importer once added rows to a shared table on import: no more."""
    alone = subprocess.run([sys.executable, '-c', _PROBE], capture_output=True, text=True,
                           check=True, cwd=ROOT).stdout
    after = subprocess.run([sys.executable, '-c', first + _PROBE], capture_output=True,
                           text=True, check=True, cwd=ROOT).stdout
    assert after == alone
    # The AI2-THOR-only words (stool, light switch, stove knob, ...) mean nothing here.
    assert alone.split(' ', 1)[1].startswith('[None, None, None, None, ')


def test_the_ai2thor_ontology_extends_the_household_one():
    from sim.ai2thor.extra_types import AI2THOR_ONTOLOGY, EXTRA_TYPES

    assert set(HOUSEHOLD) < set(AI2THOR_ONTOLOGY)
    assert {t.object_type for t in EXTRA_TYPES} == set(AI2THOR_ONTOLOGY) - set(HOUSEHOLD)
    assert AI2THOR_ONTOLOGY.resolve('stove knob').object_type == 'StoveKnob'
    assert HOUSEHOLD.resolve('stove knob').object_type is None


@pytest.mark.parametrize('a,b', [
    ('DiningTable', 'dining table'), ('Coffee_Mug ', 'coffee mug'),
    ('dining-table', 'Dining Table'),
    ('diningtable', 'DiningTable'), ('TVStand', 'tvstand'),
])
def test_one_label_normaliser(a, b):
    assert label_key(a) == label_key(b)
    assert normalize_label('DiningTable') == 'dining table'
    assert HOUSEHOLD.canonical_type('diningtable') == 'DiningTable'
    assert HOUSEHOLD.canonical_type('dining table') == 'DiningTable'
    assert HOUSEHOLD.canonical_type('no such thing') is None


@pytest.mark.parametrize('word,expected', [
    ('cd', 'CD'), ('CD', 'CD'), ('compact disc', 'CD'), ('disc', 'CD'), ('dvd', 'CD'),
    ('plunger', 'Plunger'), ('plungers', 'Plunger'), ('switch', 'LightSwitch'),
    ('light switch', 'LightSwitch'), ('knob', 'StoveKnob'), ('stove knobs', 'StoveKnob'),
    ('plant', 'HousePlant'), ('paper towel', 'PaperTowelRoll'),
    ('paper towels', 'PaperTowelRoll'),
    ('trash', 'GarbageCan'), ('oven', 'Microwave'),  # the household words stay
    # Types other ALFRED/AI2-THOR task lists name, and their words.
    ('BaseballBat', 'BaseballBat'), ('baseball bat', 'BaseballBat'), ('bat', 'BaseballBat'),
    ('BasketBall', 'BasketBall'), ('basketball', 'BasketBall'), ('ball', 'BasketBall'),
    ('TennisRacket', 'TennisRacket'), ('racket', 'TennisRacket'),
    ('racquet', 'TennisRacket'), ('tennis racquet', 'TennisRacket'),
    ('TeddyBear', 'TeddyBear'), ('teddy', 'TeddyBear'), ('teddy bear', 'TeddyBear'),
    ('stuffed animal', 'TeddyBear'),
    ('Dumbbell', 'Dumbbell'), ('dumbbells', 'Dumbbell'), ('dumbell', 'Dumbbell'),
    ('weights', 'Dumbbell'),
    ('Boots', 'Boots'), ('boot', 'Boots'), ('shoes', 'Boots'),
    ('ScrubBrush', 'ScrubBrush'), ('scrub brush', 'ScrubBrush'),
    ('toilet brush', 'ScrubBrush'), ('brush', 'ScrubBrush'),
    ('WateringCan', 'WateringCan'), ('watering can', 'WateringCan'),
    ('LaundryHamper', 'LaundryHamper'), ('basket', 'LaundryHamper'),
    ('hamper', 'LaundryHamper'), ('laundry basket', 'LaundryHamper'),
    ('Safe', 'Safe'), ('safe', 'Safe'), ('strongbox', 'Safe'),
    ('Ottoman', 'Ottoman'), ('footstool', 'Ottoman'), ('pouf', 'Ottoman'),
    ('Cart', 'Cart'), ('trolley', 'Cart'),
    ('HandTowelHolder', 'HandTowelHolder'), ('towel ring', 'HandTowelHolder'),
    ('ToiletPaperHanger', 'ToiletPaperHanger'),
    ('toilet paper holder', 'ToiletPaperHanger'),
    ('ShowerHead', 'ShowerHead'), ('shower', 'ShowerHead'),
    ('ShowerCurtain', 'ShowerCurtain'), ('Mirror', 'Mirror'),
    ('Painting', 'Painting'), ('picture', 'Painting'), ('Poster', 'Painting'),
    ('ShowerDoor', 'ShowerCurtain'),
    ('tissue', 'TissueBox'), ('cupboard', 'Cabinet'), ('teapot', 'Kettle'),
    ('glass bottle', 'Bottle'), ('glassbottle', 'Bottle'), ('Glassbottle', 'Bottle'),
])
def test_ai2thor_words(word, expected):
    from sim.ai2thor.extra_types import AI2THOR_ONTOLOGY

    assert AI2THOR_ONTOLOGY.resolve(word).object_type == expected


@pytest.mark.parametrize('word,expected', [
    ('tissue', 'TissueBox'), ('cupboard', 'Cabinet'), ('teapot', 'Kettle'),
    ('glass bottle', 'Bottle'), ('glassbottle', 'Bottle'),
])
def test_household_words_for_household_types(word, expected):
    """Words for household types are the robot's too, not only the simulator's."""
    assert HOUSEHOLD.resolve(word).object_type == expected


def test_everything_alfred_cleans_can_be_dirty_and_eggs_crack():
    from memory_nodes.domain.household import ALFRED_CLEANABLE

    assert len(ALFRED_CLEANABLE) == 21
    for name in ALFRED_CLEANABLE:
        assert HOUSEHOLD[name].can_be_dirty and 'dirty' in HOUSEHOLD[name].state_keys(), name
    for food in ('Apple', 'Tomato', 'Lettuce', 'Potato', 'Egg'):
        assert HOUSEHOLD[food].default_states()['dirty'] is False
    assert 'sliced' in HOUSEHOLD['Egg'].state_keys()


@pytest.mark.parametrize('word,key,value', [
    ('melted', 'hot', True), ('heated', 'hot', True), ('warm', 'hot', True),
    ('warmed', 'hot', True), ('microwaved', 'hot', True), ('chilled', 'cold', True),
    ('frozen', 'cold', True), ('washed', 'dirty', False), ('rinsed', 'dirty', False),
    ('cracked', 'sliced', True), ('peeled', 'sliced', True), ('diced', 'sliced', True),
])
def test_free_state_words(word, key, value):
    from memory_nodes.domain.goals import parse_condition

    cond = parse_condition(f'STATE(Potato, {word}): 1')
    assert (cond.target, cond.state_value) == (key, value)


def test_where_alfred_things_are_kept():
    """Every type ALFRED-L names has rooms and receptacles, in the ontology or apart."""
    from sim.ai2thor.extra_types import AI2THOR_ONTOLOGY, ALFRED_PLACEMENT

    for name, (rooms, kept_on) in ALFRED_PLACEMENT.items():
        spec = AI2THOR_ONTOLOGY[name]
        assert not spec.rooms and not spec.kept_on, f'{name} would be spawned in homes'
        assert rooms and set(rooms) <= {'kitchen', 'living_room', 'bedroom', 'bathroom'}
        assert all(AI2THOR_ONTOLOGY[r].is_receptacle for r in kept_on), name
        assert bool(kept_on) == (spec.kind == 'object'), name
    assert ALFRED_PLACEMENT['CD'][0][0] == 'bedroom'
    assert {'Desk', 'Dresser', 'Shelf', 'SideTable'} <= set(ALFRED_PLACEMENT['CD'][1])
    assert ALFRED_PLACEMENT['Plunger'] == (('bathroom',), ('Toilet',))
    named = ('Apple', 'Bread', 'Tomato', 'Egg', 'Potato', 'Lettuce', 'Mug', 'Bowl', 'Plate',
             'Pot', 'Book', 'CreditCard', 'Vase', 'ToiletPaper', 'Cloth', 'Spoon',
             'CellPhone', 'Box', 'Plunger', 'CD', 'LightSwitch', 'StoveKnob')
    for name in named:
        spec = AI2THOR_ONTOLOGY[name]
        rooms, kept_on = ALFRED_PLACEMENT.get(name, (spec.rooms, spec.kept_on))
        assert rooms and (kept_on or spec.kind == 'furniture'), name
