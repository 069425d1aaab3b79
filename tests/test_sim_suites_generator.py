"""The suite generator only writes physically feasible tasks (sizes, then the oracle)."""

from __future__ import annotations

import random

import pytest

import sim.suites as suites
from sim.placement import WorldSurface
from sim.suite_world import SuiteWorld, build_home, fits_on
from sim.task_schema import SUITE_NAMES, HomeRef, load_suite


def _world(seed: int = 32) -> SuiteWorld:
    home = HomeRef(seed, params={'required_objects': list(suites.REQUIRED)})
    return SuiteWorld(build_home(home), random.Random(0))


def test_fits_on_checks_height_and_both_yaws():
    surface = WorldSurface(0.0, (0.0, 0.0, 0.4, 0.1), clearance=0.18)
    assert fits_on(surface, (0.3, 0.05, 0.1))
    assert fits_on(surface, (0.05, 0.3, 0.1))  # turned a quarter
    assert not fits_on(surface, (0.3, 0.3, 0.1))
    assert not fits_on(surface, (0.05, 0.05, 0.18))  # no headroom left


def test_tall_things_do_not_fit_a_drawer():
    w = _world()
    spray, knife = w.ids('SprayBottle')[0], w.ids('Knife')[0]
    assert not w.fits(spray, 'Drawer')  # 0.22 m tall, the drawer has 0.18 m inside
    assert w.fits(knife, 'Drawer')
    assert w.fits(spray, 'CounterTop')
    assert w.fits(knife, w.ids('Drawer')[0])  # one instance by id
    assert not w.fits(knife, 'Plunger')  # no such receptacle in the home


@pytest.mark.parametrize('suite_name', SUITE_NAMES)
def test_every_put_fits_its_receptacle(suite_name):
    suite = load_suite(suite_name)
    for episode in suite.episodes:
        w = SuiteWorld(build_home(episode.home), random.Random(0))
        for task in episode.tasks:
            for change in task.world_changes:
                if change.op == 'move_object':
                    assert w.fits(change.object_id, change.receptacle_id or ''), change
                w.change(change)
            for goal in task.goals:
                if goal.kind in ('ON', 'INSIDE'):
                    oid = goal.obj_id or w.ids(goal.obj)[0]
                    assert w.fits(oid, goal.target_id or goal.target or ''), (
                        f'{task.task_id}: {goal}')
                w.apply(goal)


def test_an_episode_the_oracle_fails_is_drawn_again():
    calls = []

    def failing_first(sim, episode):
        calls.append(episode)
        return ['boom'] if len(calls) == 1 else []

    suite = suites.generate_suite('simple', seeds=(11,), make_sim=_NoSim,
                                  failures_of=failing_first)
    assert len(calls) == 2 and suite.episodes[0] is calls[1]
    assert suite.episodes[0].to_json() == suites._episode('simple', 0, 11, 1).to_json()
    assert suite.episodes[0].to_json() != suites._episode('simple', 0, 11, 0).to_json()
    assert suite.generator['seeds'] == [11]

    with pytest.raises(RuntimeError, match='no physically solvable episode'):
        suites.generate_suite('simple', seeds=(11,), make_sim=_NoSim,
                              failures_of=lambda sim, episode: ['boom'])


class _NoSim:
    def close(self) -> None:
        pass
