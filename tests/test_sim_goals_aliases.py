"""Free words to catalogue types."""

from __future__ import annotations

import pytest

from sim.aliases import AliasTable, resolve_type
from sim.catalog import CATALOG


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
])
def test_resolve(word, expected, how):
    alias = resolve_type(word)
    assert alias.ok and alias.object_type == expected and alias.how == how
    assert expected in alias.describe()


def test_every_catalogue_type_maps_to_itself():
    for name in CATALOG:
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


@pytest.mark.parametrize('word', ['plunger', 'cd', 'oven', 'bag', '', '   '])
def test_unmapped_words_say_why(word):
    alias = resolve_type(word)
    assert not alias.ok and alias.how == 'unmapped' and alias.note
    assert '?' in alias.describe()


def test_custom_type_list():
    table = AliasTable(['Apple', 'Plunger'], synonyms={'trash': ('GarbageCan',)})
    assert table.resolve('plungers').object_type == 'Plunger'
    assert not table.resolve('trash').ok  # the synonym's type is not in this list
