"""Real change replay: the before/after dumps move exactly the apple and the sponge."""

from __future__ import annotations

import pytest
from ai2thor_data import AFTER, BEFORE, OBJECTS, need

from sim.ai2thor.change_replay import (
    apply_exact_moves,
    find_moves,
    read_positions,
    replay_changes,
    stale_episode,
)
from sim.ai2thor.scene_importer import import_scene_file

APPLE = 'Apple|-00.47|+01.15|+00.48'
SPONGE = 'DishSponge|-01.94|+00.75|-01.71'


@pytest.fixture(scope='module')
def scene():
    need(OBJECTS, BEFORE, AFTER)
    return import_scene_file(OBJECTS, 'FloorPlan1')


def test_exactly_apple_and_sponge_move(scene):
    moves, changes = replay_changes(scene, BEFORE, AFTER)
    assert {m.object_id: round(m.distance_m, 2) for m in moves} == {APPLE: 1.53, SPONGE: 0.53}
    by_id = {m.object_id: m for m in moves}
    assert by_id[APPLE].receptacle_before == 'CounterTop|-00.08|+01.15|00.00'
    assert by_id[APPLE].receptacle_after.startswith('CounterTop|-01.87')
    assert by_id[SPONGE].receptacle_after == 'Cabinet|-01.55|+00.50|-01.97'
    assert [(c.op, c.object_id) for c in changes] == [('move_object', APPLE),
                                                      ('move_object', SPONGE)]
    # The egg jitters by 2 mm between the dumps: a looser threshold would count it.
    jitter = find_moves(scene, read_positions(BEFORE), read_positions(AFTER), threshold=0.001)
    assert len(jitter) == 3


def test_replayed_in_pybullet_and_solved_by_the_oracle(scene):
    from sim.ai2thor.floorplan_tasks import ContainerAwareOracle
    from sim.episodes import run_episode
    from sim.oracle import OraclePlayer
    from sim.pybullet_sim import PyBulletSimulator
    moves, changes = replay_changes(scene, BEFORE, AFTER)
    sim = PyBulletSimulator(width=64, height=48)
    try:
        sim.reset(scene.home)
        result = run_episode(sim, stale_episode(changes), OraclePlayer(ContainerAwareOracle()),
                             reset=False)
        assert [t.success for t in result.tasks] == [True] * 4
        sim.reset(scene.home)
        apply_exact_moves(sim, moves)
        truth = sim.ground_truth()
        for m in moves:
            here = truth[m.object_id].position
            assert all(abs(a - b) < 0.01 for a, b in zip(here, m.after))
            assert truth[m.object_id].parent == m.receptacle_after
    finally:
        sim.close()
