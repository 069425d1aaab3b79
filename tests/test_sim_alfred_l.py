"""The ALFRED-L importer on KARMA's real task files (read in place, never copied)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.alfred_l import AlfredFileError, floorplan_room, import_alfred_l, import_alfred_l_file
from sim.task_schema import load_suite, suite_from_json
from sim.tasks_cli import register_tasks

DATA = Path(__file__).resolve().parents[1].parent / 'shared' / 'datasets' / 'alfred_l'
FILES = ('simple_tasks.json', 'composite_tasks.json')
needs_data = pytest.mark.skipif(not (DATA / FILES[0]).exists(),
                                reason='ALFRED-L data not found at ../shared/datasets/alfred_l')


def count_conditions(path):
    doc = json.loads(path.read_text())
    entries = [e for v in doc.values() for e in v]
    from memory_nodes.domain.goals import split_conditions
    return len(entries), sum(len(split_conditions(e['Goal Condition'])) for e in entries)


@needs_data
@pytest.mark.parametrize('name', FILES)
def test_every_task_imports_and_every_condition_is_accounted_for(name):
    result = import_alfred_l_file(DATA / name)
    n_tasks, n_conditions = count_conditions(DATA / name)
    assert len(result.tasks) == n_tasks == 15
    assert result.suite.num_tasks == n_tasks
    for item in result.tasks:
        pieces = len(item.mapped) + len([u for u in item.unmapped
                                         if u['text'] not in ('Instruction',)])
        assert pieces == len(item.task.goals) + len(item.unmapped)
    mapped = sum(len(t.mapped) for t in result.tasks)
    unmapped = sum(len(t.unmapped) for t in result.tasks)
    assert mapped + unmapped == n_conditions  # nothing silently dropped
    # the output is valid against our schema
    suite_from_json(json.loads(json.dumps(result.suite.to_json())))


@needs_data
def test_simple_file_details():
    result = import_alfred_l_file(DATA / 'simple_tasks.json')
    by_id = {t.raw['ID']: t for t in result.tasks}
    first = [g.to_text() for g in by_id[1].task.goals]
    assert first[:3] == ['ON(Apple, DiningTable): 1', 'INSIDE(Tomato, SinkBasin): 1',
                         'TOGGLEON(Faucet): 1']
    assert by_id[2].task.goals[0].to_text() == 'INSIDE(ToiletPaper, GarbageCan): 1'
    assert by_id[3].room == 'living_room'
    assert by_id[3].task.goals[0].to_text() == 'TOGGLEON(FloorLamp): 1'
    assert any('CellPhone is not a receptacle' in u['reason'] for u in by_id[3].unmapped)
    assert by_id[10].task.goals[0].target == 'CounterTop'
    assert by_id[14].task.goals[0].target == 'CoffeeTable'  # a table in a living room
    assert by_id[11].task.goals[0].to_text() == 'INSIDE(Plunger, Cabinet): 1'
    assert by_id[13].task.goals[0].to_text() == 'ON(CD, Dresser): 1'
    assert 'STATE(Tomato, clean): 1' in [g.to_text() for g in by_id[1].task.goals]
    # the missing ': 1' is read as ': 1' and said so
    last = by_id[15]
    assert last.task.goals[-1].to_text() == 'INSIDE(Potato, Fridge): 1'
    assert any('missing ": 1"' in note for _, _, notes in last.mapped for note in notes)
    assert by_id[13].task.source['floorplan'] == 314 and by_id[13].room == 'bedroom'


@needs_data
def test_composite_file_details():
    result = import_alfred_l_file(DATA / 'composite_tasks.json')
    by_id = {t.raw['ID']: t for t in result.tasks}
    texts = [g.to_text() for g in by_id[14].task.goals]
    assert texts[-1] == 'INSIDE(Plate, Fridge): 1'  # ON(plate, fridge): a fridge takes 'in'
    reasons = ' | '.join(u['reason'] for u in by_id[15].unmapped)
    assert 'not a state but a receptacle' in reasons
    assert [g.to_text() for g in by_id[6].task.goals][2:4] == [
        'STATE(Potato, hot): 1', 'INSIDE(Potato, Microwave): 1']  # melted; the oven
    assert 'STATE(Egg, sliced): 1' in [g.to_text() for g in by_id[4].task.goals]
    assert 'STATE(Lettuce, clean): 1' in [g.to_text() for g in by_id[9].task.goals]
    assert 'INSIDE(CreditCard, Box): 1' in [g.to_text() for g in by_id[12].task.goals]
    lettuce = by_id[7]
    assert 'STATE(Lettuce, hot): 1' in [g.to_text() for g in lettuce.task.goals]
    assert any('cooked read as hot' in n for _, _, notes in lettuce.mapped for n in notes)
    assert [g.to_text() for g in by_id[8].task.goals][1:3] == [
        'STATE(Mug, filled): 1', 'STATE(Mug, empty): 1']
    assert by_id[5].task.goals[1].kind == 'TOGGLEON'


@needs_data
def test_only_malformed_sub_goals_stay_unmapped():
    """The two real files import whole but for the sub-goals that make no sense."""
    unmapped = {}
    for name in FILES:
        for item in import_alfred_l_file(DATA / name).tasks:
            unmapped.update({u['text']: u['reason'] for u in item.unmapped})
    assert set(unmapped) == {'STATE(book, sofa): 1', 'ON(lamp,cellphone): 1'}
    assert 'not a state but a receptacle' in unmapped['STATE(book, sofa): 1']
    assert 'cannot be picked up' in unmapped['ON(lamp,cellphone): 1']


def test_cooked_is_hot_only_where_nothing_cooks():
    doc = {'SimpleTasks': [{'FloorPlan': 1, 'ID': 1, 'Instruction': 'x', 'Goal Condition':
                            'STATE(Lettuce, cooked): 1, STATE(Egg, cooked): 1, '
                            'STATE(Lettuce, raw): 1, STATE(Book, cooked): 1'}]}
    item = import_alfred_l(doc).tasks[0]
    assert [g.to_text() for g in item.task.goals] == ['STATE(Lettuce, hot): 1',
                                                      'STATE(Egg, cooked): 1']
    assert [u['text'] for u in item.unmapped] == ['STATE(Lettuce, raw): 1',
                                                  'STATE(Book, cooked): 1']


def test_malformed_entries_are_reported_not_dropped():
    doc = {'SimpleTasks': [
        {'FloorPlan': 1, 'ID': 1, 'Instruction': 'x',
         'Goal Condition': 'ON(desk): 1, ON(apple, [1.0, 0.9, -0.5]): 1, ON(apple, counter)'},
        {'FloorPlan': 999, 'ID': 2, 'Goal Condition': ''},
        'not an object',
    ]}
    result = import_alfred_l(doc)
    assert len(result.tasks) == 3
    first = result.tasks[0]
    reasons = [u['reason'] for u in first.unmapped]
    assert any('takes 2 argument' in r for r in reasons)
    assert 'coordinates instead of an object' in reasons
    assert first.task.goals[0].to_text() == 'ON(Apple, CounterTop): 1'
    second = {u['text'] for u in result.tasks[1].unmapped}
    assert {'FloorPlan 999', 'Instruction', 'Goal Condition'} <= second
    report = result.report()
    assert 'SKIP ON(desk): 1' in report and 'imported 3 task(s)' in report
    with pytest.raises(AlfredFileError):
        import_alfred_l(['not', 'a', 'dict'])


def test_floorplan_rooms():
    assert [floorplan_room(n) for n in (1, 30, 201, 230, 301, 330, 401, 430)] == [
        'kitchen', 'kitchen', 'living_room', 'living_room', 'bedroom', 'bedroom',
        'bathroom', 'bathroom']
    assert floorplan_room(31) is None and floorplan_room(500) is None


@needs_data
def test_cli_import(tmp_path, capsys):
    import argparse
    parser = argparse.ArgumentParser()
    register_tasks(parser.add_subparsers(dest='command'))
    out = tmp_path / 'simple.json'
    args = parser.parse_args(['tasks', 'import-alfred-l', str(DATA / FILES[0]),
                              '--out', str(out)])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert 'alfred_l-simple-1' in printed and 'SKIP' in printed and 'wrote' in printed
    suite = load_suite(out)
    assert suite.num_tasks == 15
    args = parser.parse_args(['tasks', 'validate', str(out)])
    assert args.func(args) == 0
