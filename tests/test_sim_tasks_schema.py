"""Task files: the schema, validation errors that name the task and field, round trips."""

from __future__ import annotations

import copy
import json

import pytest

from memory_nodes.domain.goals import parse_condition
from sim.task_schema import (
    SCHEMA,
    TaskFileError,
    condition_problems,
    load_suite,
    save_suite,
    suite_from_json,
)

DOC = {
    'schema': SCHEMA,
    'suite': 'demo',
    'description': 'two tasks',
    'episodes': [{
        'id': 'demo-h0',
        'home': {'seed': 3, 'start_room': 'kitchen'},
        'tasks': [
            {'id': 'demo-h0-t0', 'instruction': 'Put an apple on the table.',
             'goal': ['ON(Apple, DiningTable): 1']},
            {'id': 'demo-h0-t1', 'instruction': 'Bring me the apple.',
             'goal': ['HOLDING(#apple_0): 1'], 'depends_on': ['demo-h0-t0'],
             'world_changes': [
                 {'op': 'move_object', 'object_id': 'apple_0', 'receptacle_id': 'fridge_0',
                  'relation': 'in', 'note': 'someone puts the apple away'},
                 {'op': 'set_state', 'object_id': 'mug_0', 'key': 'dirty', 'value': True}]},
        ],
    }],
}


def broken(mutate):
    doc = copy.deepcopy(DOC)
    mutate(doc)
    with pytest.raises(TaskFileError) as err:
        suite_from_json(doc, 'demo.json')
    return str(err.value)


def test_valid_document_round_trips(tmp_path):
    suite = suite_from_json(copy.deepcopy(DOC))
    assert suite.num_tasks == 2 and suite.episodes[0].home.seed == 3
    task = suite.episodes[0].tasks[1]
    assert task.goals == [parse_condition('HOLDING(#apple_0): 1')]
    assert [c.op for c in task.world_changes] == ['move_object', 'set_state']
    path = tmp_path / 'demo.json'
    save_suite(suite, path)
    assert load_suite(path).to_json() == suite.to_json()
    assert json.loads(path.read_text())['schema'] == SCHEMA


def test_bad_goal_names_task_and_field():
    msg = broken(lambda d: d['episodes'][0]['tasks'][0].update(goal=['ON(Apple): 1']))
    assert "task 'demo-h0-t0' field goal[0]" in msg and 'takes 2 argument' in msg
    assert msg.startswith('demo.json')


def test_unknown_type_and_impossible_goals():
    msg = broken(lambda d: d['episodes'][0]['tasks'][0].update(
        goal=['ON(Unicorn, DiningTable): 1', 'STATE(Book, sliced): 1',
              'TOGGLEON(Apple): 1', 'ON(Fridge, DiningTable): 1', 'ON(Apple, CellPhone): 1']))
    assert "unknown object type 'Unicorn'" in msg
    assert "Book has no state 'sliced'" in msg
    assert 'Apple cannot be toggled' in msg
    assert 'Fridge is furniture' in msg
    assert 'CellPhone is not a receptacle' in msg
    assert msg.count('field goal[') == 5


def test_missing_fields_and_wrong_types():
    def mutate(d):
        task = d['episodes'][0]['tasks'][0]
        del task['instruction']
        task['tags'] = 'oops'
        task['colour'] = 'red'
        d['episodes'][0]['home'] = {'seed': 'x', 'rooms': ['garage']}
    msg = broken(mutate)
    assert "missing field 'instruction'" in msg
    assert "field 'tags' must be list" in msg
    assert "unknown field 'colour'" in msg
    assert "field 'seed' must be int" in msg
    assert "unknown room type 'garage'" in msg


def test_world_changes_are_checked():
    def mutate(d):
        d['episodes'][0]['tasks'][1]['world_changes'] = [
            {'op': 'teleport', 'object_id': 'a'},
            {'op': 'move_object', 'object_id': 'a', 'receptacle_id': 'b', 'relation': 'under'},
            {'op': 'set_state', 'object_id': 'a', 'key': 'shiny', 'value': 1}]
    msg = broken(mutate)
    assert 'world_changes[0]' in msg and 'op must be' in msg
    assert 'relation must be "in" or "on"' in msg
    assert "unknown state key 'shiny'" in msg and "field 'value' must be bool" in msg


def test_ids_and_dependencies():
    msg = broken(lambda d: d['episodes'][0]['tasks'][1].update(id='demo-h0-t0'))
    assert 'duplicate task id' in msg
    msg = broken(lambda d: d['episodes'][0]['tasks'][0].update(depends_on=['demo-h0-t1']))
    assert 'is not an earlier task' in msg
    msg = broken(lambda d: d.update(schema='v0'))
    assert 'field schema' in msg


def test_empty_goal_needs_a_reason():
    msg = broken(lambda d: d['episodes'][0]['tasks'][0].update(goal=[]))
    assert 'no goal conditions' in msg
    doc = copy.deepcopy(DOC)
    doc['episodes'][0]['tasks'][0].update(
        goal=[], unmapped=[{'text': 'ON(cd, dresser): 1', 'reason': "'cd' unknown"}])
    assert suite_from_json(doc).num_tasks == 2


def test_load_errors(tmp_path):
    with pytest.raises(TaskFileError, match='no such file'):
        load_suite(tmp_path / 'nope.json')
    bad = tmp_path / 'bad.json'
    bad.write_text('{"schema": ')
    with pytest.raises(TaskFileError, match='not JSON'):
        load_suite(bad)


def test_condition_problems_ok_for_possible_goals():
    for text in ('ON(Apple, DiningTable): 1', 'STATE(Mug, clean): 1', 'TOGGLEON(Faucet): 1',
                 'INSIDE(Egg, Fridge): 1', 'HOLDING(#x): 1', 'STATE(Potato, cooked): 1'):
        assert condition_problems(parse_condition(text)) == []


def test_cli_validates_and_lists_the_built_in_suites(capsys):
    import argparse

    from sim.task_schema import SUITE_NAMES
    from sim.tasks_cli import register_tasks
    parser = argparse.ArgumentParser()
    register_tasks(parser.add_subparsers(dest='command'))
    args = parser.parse_args(['tasks', 'validate', *SUITE_NAMES])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.count('ok ') == len(SUITE_NAMES)
    args = parser.parse_args(['tasks', 'list', 'stale'])
    assert args.func(args) == 0
    assert 'world change(s) before' in capsys.readouterr().out


def test_cli_reports_invalid_files(tmp_path, capsys):
    import argparse

    from sim.tasks_cli import register_tasks
    bad = tmp_path / 'bad.json'
    doc = copy.deepcopy(DOC)
    doc['episodes'][0]['tasks'][0]['goal'] = ['ON(Apple): 1']
    bad.write_text(json.dumps(doc))
    parser = argparse.ArgumentParser()
    register_tasks(parser.add_subparsers(dest='command'))
    args = parser.parse_args(['tasks', 'validate', str(bad)])
    assert args.func(args) == 1
    assert 'INVALID bad.json' in capsys.readouterr().out
