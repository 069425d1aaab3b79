"""Homes built per AI2-THOR FloorPlan hold what their tasks need; every task file task runs.

The fixtures `tests/data/alfred_l_unseen.json` and `alfred_l_bedroom_sports.json` are
ours, in ALFRED-L's format, with FloorPlans, objects and AI2-THOR types KARMA's files do not
use: the importer and the home builder must handle a task list they have never seen.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.ai2thor.floorplan_tasks import support_problems
from sim.alfred_l import import_alfred_l_file
from sim.floorplan_homes import floorplan_home, floorplan_room, task_needs
from sim.home_generator import LayoutSpec, furnishing_for, generate_home
from sim.suite_world import build_home
from tests.ai2thor_data import ALFRED_L

UNSEEN = Path(__file__).parent / 'data' / 'alfred_l_unseen.json'
SPORTS = Path(__file__).parent / 'data' / 'alfred_l_bedroom_sports.json'
FILES = [UNSEEN, SPORTS, ALFRED_L / 'simple_tasks.json', ALFRED_L / 'composite_tasks.json']


def test_floorplan_numbers_name_room_types():
    assert [floorplan_room(n) for n in (1, 30, 201, 230, 301, 330, 401, 430)] == [
        'kitchen', 'kitchen', 'living_room', 'living_room', 'bedroom', 'bedroom',
        'bathroom', 'bathroom']
    assert floorplan_room(31) is None and floorplan_room(0) is None


@pytest.mark.parametrize('path', FILES, ids=lambda p: p.name)
def test_each_floorplan_home_holds_every_thing_its_tasks_name(path):
    result = import_alfred_l_file(path)
    for episode in result.suite.episodes:
        floorplan = episode.tasks[0].source['floorplan']
        home = build_home(episode.home)
        if episode.home.scene:  # FloorPlan 1: AI2-THOR's own layout, taken as it is
            assert floorplan == 1
            continue
        assert [r.room_type for r in home.rooms] == [floorplan_room(floorplan)]
        objects, furniture = task_needs(episode.tasks)
        present = {t.object_type for t in home.things()}
        assert set(objects) | set(furniture) <= present, episode.episode_id
        if floorplan_room(floorplan) == 'kitchen':  # AI2-THOR-like: three counter runs
            assert sum(f.object_type == 'CounterTop' for f in home.furniture) >= 3
        for task in episode.tasks:
            problems = [p for p in support_problems(task, home)
                        if not p.startswith('not mapped')]
            assert problems == [], (task.task_id, problems)
        # Deterministic per FloorPlan and tasks: the same reference builds the same home.
        again = build_home(episode.home)
        assert [(t.object_id, t.position) for t in again.things()] == \
            [(t.object_id, t.position) for t in home.things()]


def test_home_reference_depends_on_floorplan_and_tasks_only():
    tasks = import_alfred_l_file(UNSEEN).tasks
    kitchen = [t.task for t in tasks if t.raw['FloorPlan'] == 12]
    ref = floorplan_home(12, kitchen)
    assert ref.rooms == ['kitchen'] and ref.start_room == 'kitchen'
    assert ref.params['required_objects'] == ['Mug', 'Pan']
    assert ref.params['required_furniture'] == \
        ['CounterTop'] * 3 + ['Microwave', 'StoveBurner']
    assert floorplan_home(12, kitchen) == ref
    assert floorplan_home(1, kitchen).scene == 'ai2thor:FloorPlan1'
    odd = floorplan_home('twelve', kitchen)  # not a FloorPlan: every room type, still runs
    assert odd.rooms is None and odd.start_room is None


def test_required_fixtures_are_fixed_to_their_pieces():
    home = generate_home(7, LayoutSpec(rooms=('kitchen',),
                                       required_furniture=('StoveKnob', 'LightSwitch',
                                                           'Shelf')))
    by_id = {t.object_id: t for t in home.things()}
    knobs = [f for f in home.furniture if f.object_type == 'StoveKnob']
    burners = [f for f in home.furniture if f.object_type == 'StoveBurner']
    assert knobs and len(knobs) == len(burners)
    assert {by_id[k.attached_to].object_type for k in knobs} == {'StoveBurner'}
    switch, = [f for f in home.furniture if f.object_type == 'LightSwitch']
    assert switch.attached_to in by_id and switch.position[2] > 1.0
    assert any(f.object_type == 'Shelf' for f in home.furniture)


def test_furnishing_puts_pieces_where_such_pieces_go():
    living = furnishing_for('living_room', ('Microwave', 'DiningTable', 'Desk', 'Faucet'))
    assert living['on']['Microwave'] == 'CounterTop' and 'CounterTop' in living['wall']
    assert 'DiningTable' in living['centre'] and 'Desk' in living['wall']
    assert 'SinkBasin' in living['wall']  # a faucet needs its basin
    bathroom = furnishing_for('bathroom', ('Cabinet',))
    assert 'Cabinet' in bathroom['wall'] and 'Cabinet' not in bathroom['optional']


def test_bad_required_furniture_is_named():
    with pytest.raises(ValueError, match="'Apple' is not a furniture type"):
        generate_home(1, LayoutSpec(rooms=('kitchen',), required_furniture=('Apple',)))


def test_generated_homes_without_requirements_are_unchanged_by_the_option():
    plain = generate_home(3)
    again = generate_home(3, LayoutSpec(required_furniture=()))
    assert [(t.object_id, t.position) for t in plain.things()] == \
        [(t.object_id, t.position) for t in again.things()]


def test_the_import_report_says_which_home_each_floorplan_gets():
    report = import_alfred_l_file(UNSEEN).report()
    assert ('home for alfred_l-floorplan12: generated kitchen (seed 5012); with 3 CounterTop, '
            'Microwave, StoveBurner; holding Mug, Pan') in report
    assert 'home for alfred_l-floorplan405: generated bathroom (seed 5405)' in report


@pytest.mark.parametrize('path', FILES, ids=lambda p: p.name)
def test_floorplan_homes_leave_floor_to_explore(path):
    from sim.suite_world import MIN_ROOM_WAYPOINTS

    for episode in import_alfred_l_file(path).suite.episodes:
        if episode.home.scene:
            continue
        home = build_home(episode.home)
        free = [w for w in home.waypoints if w.kind == 'room']
        assert len(free) >= MIN_ROOM_WAYPOINTS, (episode.episode_id, len(free))


def test_floorplans_written_as_text_and_repeated_ids_are_read_not_dropped():
    from sim.alfred_l import import_alfred_l
    from sim.floorplan_homes import floorplan_number

    assert [floorplan_number(v) for v in (12, '12', 'FloorPlan12', 'floorplan_412', 12.0)] \
        == [12, 12, 12, 412, 12]
    assert [floorplan_number(v) for v in (None, True, 'kitchen', 12.5, [12])] == [None] * 5
    doc = {'ComplexTasks': [
        {'FloorPlan': 'FloorPlan12', 'ID': 7, 'Goal Condition': 'ON(mug, counter): 1',
         'Instruction': 'mug on the counter'},
        {'FloorPlan': 12, 'ID': 7, 'Goal Condition': 'INSIDE(apple, fridge): 1',
         'Instruction': 'apple in the fridge'}]}
    result = import_alfred_l(doc, 'mine.json')
    ids = [t.task.task_id for t in result.tasks]
    assert ids == ['alfred_l-complex-7', 'alfred_l-complex-7.2']
    assert all(not t.unmapped for t in result.tasks)
    episode, = result.suite.episodes  # one FloorPlan, one home
    assert episode.home.rooms == ['kitchen'] and result.suite.name == 'alfred_l-complex'
    assert "FloorPlan 'FloorPlan12' read as 12" in result.report()
    assert 'repeats an earlier task' in result.report()
