"""The memory-driven planner slices a loaf that fits no plate, in the real simulator.

ALFRED-L's "place the bread slices on a plate" is ON(Bread, Plate) alone: an AI2-THOR-sized
loaf (0.29 m, FloorPlan1's) fits no 0.24 m plate, so the first `put` fails with `no_space`;
the planner, from memory only, puts the loaf down, fetches the knife it saw, slices, and
puts the slice on the plate. The scorer judges ON(Bread, Plate) against ground truth.
"""

from __future__ import annotations

import pytest

from memory_nodes.domain.goals import parse_conditions
from memory_nodes.evaluation.episodes import MemoryPlayer
from sim.catalog import SLICES
from sim.episodes import run_episode
from sim.home_generator import LayoutSpec, generate_home
from sim.pybullet_sim import PyBulletSimulator
from sim.task_schema import Episode, HomeRef, Task

#: A home with the loaf on the dining table, the knife and the plate on counters.
SEED = 3
LOAF = (0.29, 0.13, 0.12)  # FloorPlan1's bread, AI2-THOR's size


@pytest.fixture(scope='module')
def simulator():
    sim = PyBulletSimulator(width=160, height=120)
    yield sim
    sim.close()


def test_a_loaf_that_fits_no_plate_ends_as_a_slice_on_the_plate(simulator):
    home = generate_home(SEED, LayoutSpec(required_objects=('Bread', 'Knife', 'Plate')))
    bread, = [o for o in home.objects if o.object_type == 'Bread']
    plate, = [o for o in home.objects if o.object_type == 'Plate']
    assert plate.parent and plate.parent.startswith('CounterTop')  # in sight, not shut away
    bread.size = LOAF
    simulator.reset(home, seed=SEED)
    task = Task('plate', 'place the bread slices on a plate',
                parse_conditions(['ON(Bread, Plate): 1']))
    record = run_episode(simulator, Episode('slice-first', HomeRef(SEED), [task]),
                         MemoryPlayer('ltm+stm', text_embeddings='hashing'), reset=False)
    done, = record.tasks
    assert done.success and done.believed_done, (done.error, done.skill_log)
    log = done.skill_log
    # the whole loaf did not fit; it was cut once, then the slice went on the plate
    assert 'put(Bread, Plate, on) -> no_space' in log and log.count('slice(Bread)') == 1
    assert log.index('put(Bread, Plate, on) -> no_space') < log.index('slice(Bread)')
    assert log[-1] == 'put(Bread, Plate, on)'
    truth = simulator.ground_truth()[bread.object_id]
    assert truth.parent == plate.object_id and truth.states['sliced']
    assert simulator.things[bread.object_id].size == SLICES['Bread'].size
    assert simulator.holding() is None
