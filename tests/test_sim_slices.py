"""Slicing makes a slice: sizes per type, the rebuilt body, placement, toast, the camera."""

from __future__ import annotations

import numpy as np
import pybullet as p
import pytest
from ai2thor_data import ALFRED_FILES, OBJECTS, need

from memory_nodes.domain.goals import parse_conditions
from sim.catalog import CATALOG, SLICES
from sim.home_generator import LayoutSpec, generate_home
from sim.pybullet_sim import PyBulletSimulator
from sim.task_schema import Task
from tests.sim_helpers import first
from tests.sim_helpers import succeed as do

SLICED_IN_AI2THOR = ('Bread', 'Apple', 'Tomato', 'Potato', 'Lettuce', 'Egg')


@pytest.fixture(scope='module')
def shared_sim():
    s = PyBulletSimulator(width=96, height=72)
    yield s
    s.close()


@pytest.fixture(scope='module')
def home():
    return generate_home(11, LayoutSpec(required_objects=('Bread', 'Knife', 'Apple', 'Plate')))


@pytest.fixture(scope='module')
def floorplan1():
    need(OBJECTS, *ALFRED_FILES)
    from sim.ai2thor.floorplan1 import floorplan1_home
    return floorplan1_home(OBJECTS.parent)


def extents(truth):
    return sorted(round(b - a, 3) for a, b in zip(truth.aabb_min, truth.aabb_max))


def slice_with_knife(sim, oid):
    do(sim, 'navigate_to', first(sim, 'Knife'))
    do(sim, 'pick_up', first(sim, 'Knife'))
    do(sim, 'navigate_to', oid)
    return do(sim, 'slice', oid)


def test_slice_sizes_are_ai2thor_like():
    assert set(SLICED_IN_AI2THOR) <= set(SLICES)
    for object_type, looks in SLICES.items():
        assert object_type in CATALOG and looks.shape in ('box', 'cylinder')
        assert max(looks.size) <= 0.15 and min(looks.size) <= 0.04, object_type
        # a slice is no wider than the whole object (it fits where the whole did); a
        # cracked egg spreads
        whole = sorted(CATALOG[object_type].size[:2])
        assert object_type == 'Egg' or sorted(looks.size[:2]) <= whole, object_type
    bread = SLICES['Bread'].size
    assert bread == (0.12, 0.02, 0.11)  # upright: fits a toaster slot 0.09 m wide
    assert SLICES['Egg'].word == 'cracked egg' and SLICES['Egg'].size[2] <= 0.02


def test_slice_rebuilds_the_body_in_place_and_the_camera_sees_it(shared_sim, home):
    sim = shared_sim
    sim.reset(home, seed=1)
    bread = first(sim, 'Bread')
    before = sim.ground_truth()[bread]
    old_body = sim.world.things[bread].body
    n_bodies = p.getNumBodies(physicsClientId=sim.cid)
    result = slice_with_knife(sim, bread)
    truth = sim.ground_truth()[bread]
    # same id, type, parent and states but sliced; a slice-sized box inside the loaf's
    assert truth.object_type == 'Bread' and truth.parent == before.parent
    assert truth.states['sliced'] and sim.things[bread].size == SLICES['Bread'].size
    assert extents(truth) == pytest.approx(sorted(SLICES['Bread'].size), abs=0.005)
    assert truth.aabb_min[2] == pytest.approx(before.aabb_min[2], abs=0.005)
    for k in range(2):
        assert before.aabb_min[k] - 0.005 <= truth.position[k] <= before.aabb_max[k] + 0.005
    assert [e.object_id for e in result.events if 'sliced' in e.changed] == [bread]
    # one body per object: the loaf's body is gone, the slice's maps to the bread
    body = sim.world.things[bread].body
    assert sim.world.body_to_object[body] == bread
    assert list(sim.world.body_to_object.values()).count(bread) == 1
    # PyBullet hands the freed id to the new body: the camera's instance id, which perception
    # passes on as the track id memory fuses by, stays the same
    assert body == old_body
    assert p.getNumBodies(physicsClientId=sim.cid) == n_bodies
    # the robot looks at it: its pixels are the slice's, where ground truth says
    frame = sim.render()
    inst = [i for i, o in frame.instance_to_object.items() if o == bread]
    assert inst == [body]
    vs, us = np.nonzero(frame.segmentation == inst[0])
    assert len(us) >= 3
    rays = np.linalg.inv(frame.intrinsics) @ np.stack([us, vs, np.ones_like(us)]).astype(float)
    pts = frame.camera_to_map[:3, :3] @ (rays * frame.depth[vs, us]) + \
        frame.camera_to_map[:3, 3:4]
    lo, hi = np.array(truth.aabb_min) - 0.03, np.array(truth.aabb_max) + 0.03
    assert np.all((lo <= pts.T) & (hi >= pts.T), axis=1).mean() > 0.95


def test_a_slice_is_picked_put_and_stays_a_slice(shared_sim, home):
    from sim.ai2thor.floorplan_tasks import ContainerAwareOracle  # opens the plate's cabinet
    from sim.oracle import run_task

    sim = shared_sim
    sim.reset(home, seed=1)
    apple, plate = first(sim, 'Apple'), first(sim, 'Plate')
    task = Task('wedge', 'slice the apple, put it on a plate',
                parse_conditions([f'STATE(#{apple}, sliced): 1', f'ON(#{apple}, #{plate}): 1']))
    record = run_task(sim, task, ContainerAwareOracle())
    assert record.success, (record.failed_condition, record.error, record.log)
    truth, under = sim.ground_truth()[apple], sim.ground_truth()[plate]
    assert truth.parent == plate and truth.states['sliced']
    assert extents(truth) == pytest.approx(sorted(SLICES['Apple'].size), abs=0.005)
    assert truth.aabb_min[2] == pytest.approx(under.aabb_max[2], abs=0.02)


def test_a_person_slicing_and_a_home_that_starts_sliced_make_slices(shared_sim, home):
    sim = shared_sim
    sim.reset(home, seed=1)
    apple = first(sim, 'Apple')
    sim.set_state(apple, 'sliced', True)
    assert extents(sim.ground_truth()[apple]) == \
        pytest.approx(sorted(SLICES['Apple'].size), abs=0.005)
    spec = home.to_dict()
    for o in spec['objects']:
        if o['object_id'] == apple:
            o['states'] = {**o.get('states', {}), 'sliced': True}
    sim.reset(spec, seed=1)
    assert sim.things[apple].states['sliced'] and sim.things[apple].size == SLICES['Apple'].size
    assert extents(sim.ground_truth()[apple]) == \
        pytest.approx(sorted(SLICES['Apple'].size), abs=0.005)


def test_bread_slice_on_a_plate_and_toasted_in_floorplan1(shared_sim, floorplan1):
    from sim.ai2thor.floorplan_tasks import ContainerAwareOracle, support_problems
    from sim.oracle import run_task

    sim = shared_sim
    goals = ['STATE(Bread, sliced): 1', 'ON(Bread, Plate): 1', 'INSIDE(Bread, Toaster): 1',
             'TOGGLEON(Toaster): 1', 'STATE(Bread, cooked): 1']
    task = Task('toast', 'slice the bread, plate it, toast it', parse_conditions(goals))
    assert support_problems(task, floorplan1) == []
    whole = Task('whole', 'put the loaf on the plate', parse_conditions(goals[1:2]))
    assert support_problems(whole, floorplan1) == []  # with a knife, a slice fits
    sim.reset(floorplan1, seed=0)
    bread, toaster = first(sim, 'Bread'), first(sim, 'Toaster')
    record = run_task(sim, task, ContainerAwareOracle())
    assert record.success, (record.failed_condition, record.error, record.log)
    truth = sim.ground_truth()[bread]
    assert truth.parent == toaster and truth.relation == 'in'
    assert truth.states['cooked'] and truth.states['hot'] and truth.states['sliced']
    # it stands in the slot: 0.11 m high, inside the toaster's box
    assert truth.aabb_max[2] - truth.aabb_min[2] == pytest.approx(0.11, abs=0.005)
    box = sim.ground_truth()[toaster]
    assert all(box.aabb_min[k] - 0.01 <= truth.position[k] <= box.aabb_max[k] + 0.01
               for k in range(3))


def test_oracle_slices_first_only_when_the_whole_object_does_not_fit(shared_sim, floorplan1):
    from sim.ai2thor.floorplan_tasks import slice_first

    sim = shared_sim
    sim.reset(floorplan1, seed=0)
    on_plate, on_counter = parse_conditions(['ON(Bread, Plate): 1', 'ON(Bread, CounterTop): 1'])
    steps = slice_first(on_plate, sim)
    assert [c.to_text() for c in steps] == ['STATE(Bread, sliced): 1', 'ON(Bread, Plate): 1']
    assert slice_first(on_counter, sim) == [on_counter]
    bread = first(sim, 'Bread')
    sim.set_state(bread, 'sliced', True)
    assert [c.obj_id for c in slice_first(on_plate, sim)] == [bread]
