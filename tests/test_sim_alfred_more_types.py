"""Task lists naming AI2-THOR types and words KARMA's files do not use still run.

The fixture `tests/data/alfred_l_bedroom_sports.json` is ours, in ALFRED-L's format: a
bedroom with a basketball, a teddy bear, a bat, a racket and dumbbells, a laundry hamper
and a safe; a living room with an ottoman and a cart; a bathroom with a hand towel holder,
a toilet paper hanger, a scrub brush, a shower head and curtain; a kitchen asked for a
teapot, a cupboard, a glass bottle and paper towels. Every sub-goal must map, every home
must hold what its tasks name, and the oracle must reach every task in PyBullet.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_nodes.domain.goals import parse_condition
from sim.ai2thor.floorplan_tasks import support_problems
from sim.alfred_l import import_alfred_l_file
from sim.catalog import CATALOG
from sim.floorplan_homes import task_needs
from sim.furniture_geometry import furniture_geometry
from sim.home_generator import LayoutSpec, furnishing_for, generate_home
from sim.suite_world import build_home
from sim.task_schema import Task

SPORTS = Path(__file__).parent / 'data' / 'alfred_l_bedroom_sports.json'

#: What the fixture's words must map to (types it names through free words).
MAPPED = {
    'alfred_l-simple-4': ['ON(BaseballBat, Dresser): 1'],
    'alfred_l-simple-6': ['ON(TissueBox, Toilet): 1'],
    'alfred_l-simple-10': ['INSIDE(Kettle, Cabinet): 1'],
    'alfred_l-composite-1': ['ON(TennisRacket, Bed): 1', 'INSIDE(Dumbbell, LaundryHamper): 1'],
    'alfred_l-composite-2': ['ON(Boots, Ottoman): 1', 'ON(BasketBall, Cart): 1'],
    'alfred_l-composite-4': ['ON(Bottle, CounterTop): 1', 'ON(PaperTowelRoll, Cart): 1'],
}


@pytest.fixture(scope='module')
def imported():
    return import_alfred_l_file(SPORTS)


@pytest.fixture(scope='module')
def shared_sim():
    from sim.pybullet_sim import PyBulletSimulator

    sim = PyBulletSimulator(width=64, height=48)
    yield sim
    sim.close()


def test_every_sub_goal_maps(imported):
    assert len(imported.tasks) == 14
    for t in imported.tasks:
        assert t.task.unmapped == [], (t.task.task_id, t.task.unmapped)
        assert t.task.goals, t.task.task_id
    goals = {t.task.task_id: [str(g) for g in t.task.goals] for t in imported.tasks}
    for task_id, expected in MAPPED.items():
        assert goals[task_id] == expected


def test_each_home_holds_every_named_type_and_supports_every_task(imported):
    for episode in imported.suite.episodes:
        home = build_home(episode.home)
        objects, furniture = task_needs(episode.tasks)
        present = {t.object_type for t in home.things()}
        assert set(objects) | set(furniture) <= present, episode.episode_id
        for task in episode.tasks:
            assert support_problems(task, home) == [], task.task_id


@pytest.mark.parametrize('floorplan', [311, 214, 418, 7])
def test_the_oracle_reaches_every_task_in_pybullet(imported, shared_sim, floorplan):
    from sim.oracle import OraclePlanSource, run_task

    episode, = [e for e in imported.suite.episodes
                if e.tasks[0].source['floorplan'] == floorplan]
    home = build_home(episode.home)
    for task in episode.tasks:
        shared_sim.reset(home, seed=0)
        record = run_task(shared_sim, task, OraclePlanSource())
        assert record.success, (task.task_id, record.failed_condition,
                                [(r.skill, r.target, r.reason) for r in record.log
                                 if not r.success])


@pytest.mark.parametrize('object_type,relation,door', [
    ('LaundryHamper', 'in', False), ('Safe', 'in', True), ('Ottoman', 'on', False),
    ('Cart', 'on', False), ('HandTowelHolder', 'on', False),
    ('ToiletPaperHanger', 'on', False),
])
def test_new_receptacles_have_somewhere_to_put_things(object_type, relation, door):
    spec = CATALOG[object_type]
    assert spec.kind == 'furniture' and spec.receptacle == relation
    geom = furniture_geometry(object_type, spec.size)
    assert (geom.door is not None) == door == spec.openable
    best = max(geom.surfaces, key=lambda s: (s.rect[2] - s.rect[0]) * (s.rect[3] - s.rect[1]))
    assert min(best.rect[2] - best.rect[0], best.rect[3] - best.rect[1]) >= 0.13
    assert best.clearance >= 0.3


def test_decor_is_furniture_nothing_is_put_on():
    """Mirrors, paintings and shower curtains map and stand in a home, but hold nothing."""
    for object_type in ('Mirror', 'Painting', 'ShowerCurtain'):
        spec = CATALOG[object_type]
        assert spec.kind == 'furniture' and not spec.receptacle
        assert furniture_geometry(object_type, spec.size).surfaces == []
    home = generate_home(9, LayoutSpec(rooms=('living_room',), required_objects=('Vase',),
                                       required_furniture=('Painting',)))
    task = Task('decor', 'put the vase on the painting',
                [parse_condition('ON(Vase, Painting): 1')])
    problems = support_problems(task, home)
    assert problems and 'fits no Painting surface' in problems[0]


def test_new_furniture_goes_against_a_wall_and_the_shower_head_over_the_tub():
    bedroom = furnishing_for('bedroom', ('LaundryHamper', 'Safe', 'Ottoman'))
    assert {'LaundryHamper', 'Safe', 'Ottoman'} <= set(bedroom['wall'])
    bathroom = furnishing_for('bathroom', ('ShowerHead',))
    assert 'BathtubBasin' in bathroom['wall'] and 'ShowerHead' not in bathroom['wall']
    home = generate_home(4, LayoutSpec(rooms=('bathroom',), required_furniture=('ShowerHead',)))
    by_id = {t.object_id: t for t in home.things()}
    head, = [f for f in home.furniture if f.object_type == 'ShowerHead']
    assert by_id[head.attached_to].object_type == 'BathtubBasin'
    assert head.position[2] > 1.0 and head.states == {'toggled': False}


def test_new_types_are_never_spawned_unless_required():
    from sim.ai2thor.extra_types import ALFRED_PLACEMENT

    home = generate_home(3)
    assert not {t.object_type for t in home.things()} & set(ALFRED_PLACEMENT)
