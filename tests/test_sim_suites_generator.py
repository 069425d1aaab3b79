"""The suite generator only writes feasible, fair tasks (sizes, the oracle, the wording)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

import sim.suites as suites
from memory_nodes.domain.goals import parse_condition
from sim.fairness import unfair_suite_tasks, unfair_tasks
from sim.placement import WorldSurface
from sim.suite_world import SuiteWorld, build_home, fits_on
from sim.task_schema import SUITE_NAMES, Episode, HomeRef, load_suite


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


# -- fairness: a pinned instance of a type the home holds several of is named in words ----


def _stale_cloth(instruction: str, goal: str = 'HOLDING(#Cloth_2): 1') -> Episode:
    """stale-e2 up to its t1 (two cloths; a person moves the bathroom one), reworded."""
    episode = load_suite('stale').episodes[2]
    tasks = [replace(t) for t in episode.tasks[:2]]
    assert tasks[1].task_id == 'stale-e2-t1' and tasks[1].world_changes
    tasks[1] = replace(tasks[1], instruction=instruction, goals=[parse_condition(goal)])
    return replace(episode, tasks=tasks)


def test_a_pinned_instance_the_wording_does_not_pick_out_is_unfair():
    problems = unfair_tasks(_stale_cloth('Bring me the cloth.'))
    assert len(problems) == 1 and problems[0].startswith('stale-e2-t1: ')
    assert '#Cloth_2' in problems[0] and '2 of type Cloth' in problems[0]
    # A place that holds both cloths (each on a counter top) does not say which either.
    assert unfair_tasks(_stale_cloth('Bring me the cloth that was on the counter top.'))
    # Where the kitchen cloth is, not the wanted one.
    assert unfair_tasks(_stale_cloth('Bring me the cloth that was in the kitchen.'))


def test_a_place_or_any_instance_makes_it_fair():
    # Where it was before the person moved it, or where it is now.
    assert unfair_tasks(_stale_cloth('Bring me the cloth that was in the bathroom.')) == []
    assert unfair_tasks(_stale_cloth('Bring me the cloth on the dresser.')) == []
    # Any cloth will do: nothing to pick out.
    assert unfair_tasks(_stale_cloth('Bring me the cloth.', 'HOLDING(Cloth): 1')) == []


def test_a_vague_light_in_a_room_is_fair_only_if_the_room_has_one_of_its_type():
    episode = load_suite('complex').episodes[0]
    task = episode.tasks[0]
    assert task.references['the light in the living room'] == 'DeskLamp_1'
    assert unfair_tasks(replace(episode, tasks=[task])) == []
    # DeskLamp_2 is the bedroom's: the same words no longer pick it out.
    wrong = replace(task, goals=task.goals[:3] + [parse_condition('TOGGLEON(#DeskLamp_2): 1')],
                    references={**task.references, 'the light in the living room': 'DeskLamp_2'})
    assert any('#DeskLamp_2' in p for p in unfair_tasks(replace(episode, tasks=[wrong])))


@pytest.mark.parametrize('suite_name', SUITE_NAMES)
def test_every_committed_task_says_which_instance_it_means(suite_name):
    assert unfair_suite_tasks(load_suite(suite_name)) == []


def test_an_unfair_episode_is_drawn_again(monkeypatch):
    calls = []

    def unfair_first(episode):
        calls.append(episode)
        return ['unfair'] if len(calls) == 1 else []

    monkeypatch.setattr(suites, 'unfair_tasks', unfair_first)
    suite = suites.generate_suite('simple', seeds=(11,), make_sim=_NoSim,
                                  failures_of=lambda sim, episode: [])
    assert len(calls) == 2
    assert suite.episodes[0].to_json() == suites._episode('simple', 0, 11, 1).to_json()


def test_the_room_picks_out_one_of_two_on_the_same_kind_of_receptacle():
    episode = load_suite('simple').episodes[3]
    w = SuiteWorld(build_home(episode.home), random.Random(0))
    # One dish sponge in the kitchen sink, one in the bathroom sink.
    assert {w.parent_type(i) for i in w.ids('DishSponge')} == {'SinkBasin'}
    assert w.describe('DishSponge_2') == 'the dish sponge in the bathroom'
    assert w.where('DishSponge_2') == 'in the bathroom'
    assert w.describe(w.ids('Apple')[0]) == 'the apple'
