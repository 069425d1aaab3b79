"""ALFRED-L FloorPlan 1 tasks in the imported FloorPlan1: import, support, oracle, comparison."""

from __future__ import annotations

import json

import pytest
from ai2thor_data import ALFRED_FILES, OBJECTS, need

from sim.ai2thor.floorplan_tasks import (
    compare_floorplan1,
    floorplan1_suite,
    floorplan1_tasks,
    run_floorplan_tasks,
)
from sim.task_schema import load_suite, suite_from_json

FLOORPLAN1_TASKS = ['alfred_l-simple-1', 'alfred_l-simple-4', 'alfred_l-simple-9',
                    'alfred_l-composite-1', 'alfred_l-composite-2', 'alfred_l-composite-3',
                    'alfred_l-composite-13', 'alfred_l-composite-14']
# composite-1 and -2 put a bread on a plate and in a toaster: only a slice fits, and the
# oracle slices it first (sim.catalog.SLICES, floorplan_tasks.slice_first)
UNSUPPORTED = {'alfred_l-simple-1': 'has no DiningTable'}


@pytest.fixture(scope='module')
def home():
    need(OBJECTS, *ALFRED_FILES)
    from sim.ai2thor.floorplan1 import floorplan1_home
    return floorplan1_home(OBJECTS.parent)


def test_every_floorplan1_task_imports():
    need(*ALFRED_FILES)
    tasks = floorplan1_tasks(ALFRED_FILES)
    assert [t.task.task_id for t in tasks] == FLOORPLAN1_TASKS
    suite = floorplan1_suite(ALFRED_FILES)
    assert suite.episodes[0].home.scene == 'ai2thor:FloorPlan1'
    again = suite_from_json(json.loads(json.dumps(suite.to_json())))
    assert again.episodes[0].home.scene == 'ai2thor:FloorPlan1'
    assert again.num_tasks == 8


def test_existing_suites_still_load_without_scene():
    for name in ('simple', 'composite', 'complex', 'stale'):
        assert all(e.home.scene is None for e in load_suite(name).episodes)


def test_oracle_solves_every_supported_task(home):
    tasks = [t.task for t in floorplan1_tasks(ALFRED_FILES)]
    results = run_floorplan_tasks(tasks, home)
    for r in results:
        if r.task_id in UNSUPPORTED:
            assert not r.supported
            assert any(UNSUPPORTED[r.task_id] in reason for reason in r.reasons), r.reasons
        else:
            assert r.supported and r.success, (r.task_id, r.reasons, r.result)
    assert sum(r.success for r in results) == 7
    toast = next(r for r in results if r.task_id == 'alfred_l-composite-2').result
    assert [s.skill for s in toast.log].count('slice') == 1


def test_comparison_table(home):
    comparison = compare_floorplan1(files=ALFRED_FILES, floorplan1=home)
    assert [a.task_id for a, _ in comparison.rows] == FLOORPLAN1_TASKS
    table = comparison.table()
    assert table.startswith('| task | FloorPlan1 success')
    assert 'alfred_l-composite-14 | yes' in table
    assert all(a.success and b.success for a, b in comparison.rows[1:]), table
