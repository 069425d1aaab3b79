"""Drawers slide out with what is in them: hidden when closed, seen and picked when open.

Real PyBullet: a generated home (seed 1 keeps a spoon and a fork in `Drawer_1`) and the
imported FloorPlan1 (its knife in a drawer under the counter, its butter knife on the
island's slab).
"""

from __future__ import annotations

import math

import pytest
from ai2thor_data import OBJECTS, need

from sim.camera import visible_instances
from sim.place_graph import ROBOT_RADIUS
from sim.pybullet_sim import PyBulletSimulator
from tests.sim_helpers import skill as do

DRAWER = 'Drawer_1'  # home seed 1: a low drawer on the floor with cutlery inside
FP1_DRAWER = 'Drawer|-01.56|+00.84|-00.20'
FP1_KNIFE = 'Knife|-01.70|+00.79|-00.22'
FP1_BUTTER_KNIFE = 'ButterKnife|-00.41|+01.11|-00.46'
FP1_ISLAND = 'CounterTop|-00.08|+01.15|00.00'


@pytest.fixture
def sim():
    s = PyBulletSimulator(width=160, height=120)
    yield s
    s.close()


def seen(sim, object_ids) -> list[bool]:
    frame = sim.render()
    instances = visible_instances(frame, sim.ground_truth(), sim.holding())
    visible = {frame.instance_to_object[i] for i in instances}
    return [o in visible for o in object_ids]


def centres(sim, object_ids) -> list[float]:
    """The objects' box centres, flattened (x, y, z, x, y, z, ...)."""
    truth = sim.ground_truth()
    return [v for o in object_ids for v in truth[o].position]


def inside_box(sim, oid: str, container: str) -> bool:
    lo, hi = sim.aabb(oid)
    clo, chi = sim.aabb(container)
    return all(clo[k] - 1e-3 <= lo[k] and hi[k] <= chi[k] + 1e-3 for k in range(3))


def test_a_drawer_slides_out_with_its_contents_and_back(sim):
    sim.reset(1)
    inside = sorted(o for o, t in sim.things.items() if t.parent == DRAWER)
    assert inside and sim.things[DRAWER].states['open'] is False
    assert do(sim, 'navigate_to', DRAWER).success
    assert seen(sim, inside) == [False] * len(inside)
    assert do(sim, 'look_at', DRAWER).success
    assert seen(sim, inside) == [False] * len(inside)  # the closed box hides them
    closed_box, before = sim.aabb(DRAWER), centres(sim, inside)

    opened = do(sim, 'open', DRAWER)
    assert opened.success
    assert {e.object_id for e in opened.events if 'location' in e.changed} == set(inside)
    lo, hi = sim.aabb(DRAWER)
    depth = closed_box[1][1] - closed_box[0][1]  # this drawer's front faces +y or -y
    grown = (hi[0] - lo[0]) + (hi[1] - lo[1]) - (closed_box[1][0] - closed_box[0][0]) - depth
    assert grown == pytest.approx(depth - 0.03 - 0.03, abs=0.02)  # its depth less a wall
    now = centres(sim, inside)
    moved = [math.dist(before[i:i + 3], now[i:i + 3]) for i in range(0, len(now), 3)]
    assert moved == pytest.approx([moved[0]] * len(inside)) and moved[0] > 0.4
    # Ground truth, the camera and reach agree: the contents lie in the slid-out box,
    # clear of the robot's base (it stepped back), seen from above and within reach.
    assert all(inside_box(sim, o, DRAWER) for o in inside)
    x, y, _ = sim.robot_pose()
    near = (min(max(x, lo[0]), hi[0]), min(max(y, lo[1]), hi[1]))
    assert math.dist((x, y), near) >= ROBOT_RADIUS
    assert do(sim, 'look_at', DRAWER).success
    assert seen(sim, inside) == [True] * len(inside)
    picked = do(sim, 'pick_up', inside[0])
    assert picked.success, picked.message
    put = do(sim, 'put', inside[0], DRAWER)
    assert put.success, put.message
    assert inside_box(sim, inside[0], DRAWER)  # put into the open drawer: into its box

    assert do(sim, 'close', DRAWER).success
    assert sim.aabb(DRAWER) == closed_box
    assert all(inside_box(sim, o, DRAWER) for o in inside)
    assert centres(sim, inside[1:]) == pytest.approx(before[3:], abs=1e-3)
    assert seen(sim, inside) == [False] * len(inside)
    refused = do(sim, 'pick_up', inside[0])
    assert not refused.success and refused.reason == 'inside_closed_receptacle'


def test_a_person_opening_a_drawer_slides_its_contents_too(sim):
    sim.reset(1)
    inside = sorted(o for o, t in sim.things.items() if t.parent == DRAWER)
    before = centres(sim, inside)
    sim.set_state(DRAWER, 'open', True)
    sim.set_state(DRAWER, 'open', True)  # no second slide
    assert all(inside_box(sim, o, DRAWER) for o in inside)
    now = centres(sim, inside)
    assert min(math.dist(before[i:i + 3], now[i:i + 3]) for i in range(0, len(now), 3)) > 0.4
    sim.set_state(DRAWER, 'open', False)
    assert centres(sim, inside) == pytest.approx(before, abs=1e-6)


def test_floorplan1_knife_in_its_drawer_is_found_once_open(sim):
    need(OBJECTS)
    from sim.ai2thor.floorplan1 import floorplan1_home
    sim.reset(floorplan1_home())
    assert sim.things[FP1_KNIFE].parent == FP1_DRAWER
    assert inside_box(sim, FP1_KNIFE, FP1_DRAWER)  # not in its walls or floor
    assert do(sim, 'navigate_to', FP1_DRAWER).success
    assert do(sim, 'look_at', FP1_DRAWER).success
    assert seen(sim, [FP1_KNIFE]) == [False]
    assert do(sim, 'open', FP1_DRAWER).success
    assert inside_box(sim, FP1_KNIFE, FP1_DRAWER)
    assert do(sim, 'look_at', FP1_DRAWER).success
    assert seen(sim, [FP1_KNIFE]) == [True]
    picked = do(sim, 'pick_up', FP1_KNIFE)
    assert picked.success, picked.message


def test_floorplan1_butter_knife_rests_on_the_island(sim):
    need(OBJECTS)
    from sim.ai2thor.floorplan1 import floorplan1_home, load_floorplan1
    home = floorplan1_home()
    sim.reset(home)
    knife, island = sim.aabb(FP1_BUTTER_KNIFE), sim.aabb(FP1_ISLAND)
    assert sim.things[FP1_BUTTER_KNIFE].parent == FP1_ISLAND
    assert knife[0][2] == pytest.approx(island[1][2], abs=0.005)  # on the slab, not in it
    assert FP1_BUTTER_KNIFE in load_floorplan1().moved
    # Every imported object on (in) furniture rests on one of its surfaces.
    truth = sim.ground_truth()
    for oid, t in truth.items():
        if t.kind != 'object' or t.parent is None or truth[t.parent].kind != 'furniture':
            continue
        gaps = [t.aabb_min[2] - s.z for s in sim.surfaces(t.parent)]
        assert min(abs(g) for g in gaps) <= 0.005, (oid, gaps)
    assert do(sim, 'navigate_to', FP1_BUTTER_KNIFE).success
    assert seen(sim, [FP1_BUTTER_KNIFE]) == [True]
