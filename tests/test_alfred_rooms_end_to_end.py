"""One task-file task of each room type, end to end: import, home, memory planner, score.

The tasks come from our own fixture in ALFRED-L's format (`tests/data/alfred_l_unseen.json`,
FloorPlans KARMA's files do not use); each runs in the home built for its FloorPlan with
the memory-driven grounded planner (`ltm+stm`) in the real PyBullet simulator, and the
simulator's scorer judges it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_nodes.evaluation.episodes import run_memory_episode
from sim.alfred_l import import_alfred_l_file
from sim.floorplan_homes import floorplan_room
from sim.pybullet_sim import PyBulletSimulator
from sim.task_schema import Episode

UNSEEN = Path(__file__).parent / 'data' / 'alfred_l_unseen.json'
#: The first fully mapped task of each room type in the fixture.
ROOM_TASKS = {'kitchen': 'alfred_l-simple-1', 'living_room': 'alfred_l-simple-3',
              'bedroom': 'alfred_l-simple-4', 'bathroom': 'alfred_l-simple-5'}


@pytest.fixture(scope='module')
def simulator():
    sim = PyBulletSimulator()
    yield sim
    sim.close()


@pytest.mark.parametrize('room', sorted(ROOM_TASKS))
def test_a_task_of_each_room_type_runs_and_succeeds(simulator, room):
    suite = import_alfred_l_file(UNSEEN).suite
    episode, task = next((ep, t) for ep in suite.episodes for t in ep.tasks
                         if t.task_id == ROOM_TASKS[room])
    assert floorplan_room(task.source['floorplan']) == room and episode.home.rooms == [room]
    record = run_memory_episode(simulator, Episode(episode.episode_id, episode.home, [task]),
                                'ltm+stm', text_embeddings='hashing')
    done, = record.tasks
    assert done.success, (done.failed_condition, done.error)
    assert done.reached == done.total == len(task.goals) and done.unmapped == 0


def test_a_task_with_an_unmapped_sub_goal_runs_and_counts_as_failed(simulator):
    suite = import_alfred_l_file(UNSEEN).suite
    episode, = [ep for ep in suite.episodes if ep.tasks[0].source['floorplan'] == 405]
    record = run_memory_episode(simulator, episode, 'ltm+stm', text_embeddings='hashing')
    by_id = {t.task_id: t for t in record.tasks}
    assert set(by_id) == {'alfred_l-simple-5', 'alfred_l-simple-6'}  # nothing dropped
    unmapped = by_id['alfred_l-simple-6']  # coordinates instead of an object: no goal left
    assert not unmapped.success and unmapped.unmapped == 1 and unmapped.skills == 0
    assert 'coordinates' in unmapped.error
