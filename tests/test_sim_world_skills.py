"""Skills on the PyBullet home: state rules through skills, every failure reason, person API."""

from __future__ import annotations

import math

import pytest

import sim.skills as skills
from memory_nodes.domain.skills import SkillCall, SkillTarget
from sim.home_generator import LayoutSpec, generate_home
from sim.pybullet_sim import PyBulletSimulator
from tests.sim_helpers import first
from tests.sim_helpers import skill as do

REQUIRED = ('Pan', 'Egg', 'Bread', 'Knife', 'Mug', 'Apple', 'Pillow', 'Plate', 'Laptop')


@pytest.fixture(scope='module')
def home():
    return generate_home(11, LayoutSpec(required_objects=REQUIRED))


@pytest.fixture(scope='module')
def shared_sim():
    s = PyBulletSimulator(width=64, height=48)
    yield s
    s.close()


@pytest.fixture
def sim(shared_sim, home):
    shared_sim.reset(home, seed=1)
    return shared_sim


def ok(result):
    assert result.success, (result.skill, result.reason, result.message)
    return result


def fail(result, reason):
    assert not result.success and result.reason == reason, (result.skill, result.reason,
                                                            result.message)
    assert result.duration_s >= 0
    return result


def fetch(sim, obj):
    ok(do(sim, 'navigate_to', obj))
    return ok(do(sim, 'pick_up', obj))


def test_navigate_pick_put_events_and_costs(sim):
    apple, table = first(sim, 'Apple'), first(sim, 'DiningTable')
    r = ok(do(sim, 'navigate_to', apple))
    assert r.path_length_m > 0 and r.duration_s > 0
    r = ok(do(sim, 'pick_up', apple))
    assert sim.holding() == apple and r.events[0].held and 'held' in r.events[0].changed
    ok(do(sim, 'navigate_to', table))
    r = ok(do(sim, 'put', apple, table, relation='on'))
    truth = sim.ground_truth()[apple]
    assert truth.parent == table and truth.relation == 'on' and sim.holding() is None
    assert truth.aabb_min[2] >= sim.ground_truth()[table].aabb_max[2] - 0.03
    assert [e.object_id for e in r.events] == [apple]


def test_resolution_by_type_and_believed_position(sim):
    apple = first(sim, 'Apple')
    pos = sim.ground_truth()[apple].position
    near = (pos[0] + 0.2, pos[1], pos[2])
    r = ok(sim.execute(SkillCall('navigate_to', SkillTarget('Apple', near))))
    assert r.resolved_object_id == apple
    far = (pos[0] + 3.0, pos[1] + 3.0, pos[2])
    fail(sim.execute(SkillCall('navigate_to', SkillTarget('Apple', far))), 'object_not_found')
    fail(sim.execute(SkillCall('navigate_to', SkillTarget('Unicorn', pos))),
         'unknown_object_type')
    fail(do(sim, 'navigate_to', 'Apple_99'), 'object_not_found')


def test_clean_and_fill_in_sink(sim):
    mug = first(sim, 'Mug')
    sink = next(o for o, t in sim.things.items() if t.object_type == 'SinkBasin'
                and t.room == 'kitchen')
    faucet = next(o for o, t in sim.things.items() if t.attached_to == sink)
    sim.set_state(mug, 'dirty', True)
    sim.move_object(mug, first(sim, 'DiningTable'), 'on')
    fetch(sim, mug)
    ok(do(sim, 'navigate_to', sink))
    ok(do(sim, 'put', mug, sink, relation='in'))
    assert sim.ground_truth()[mug].states['dirty']
    r = ok(do(sim, 'toggle_on', faucet))
    states = sim.ground_truth()[mug].states
    assert not states['dirty'] and states['filled']
    assert {e.object_id for e in r.events} == {faucet, mug}


def test_heat_in_microwave_and_cool_in_fridge(sim):
    egg, mw, fridge = first(sim, 'Egg'), first(sim, 'Microwave'), first(sim, 'Fridge')
    fetch(sim, egg)
    ok(do(sim, 'navigate_to', mw))
    fail(do(sim, 'put', egg, mw), 'receptacle_closed')
    ok(do(sim, 'open', mw))
    ok(do(sim, 'put', egg, mw))
    ok(do(sim, 'close', mw))
    ok(do(sim, 'toggle_on', mw))
    assert sim.ground_truth()[egg].states['hot'] and sim.ground_truth()[egg].states['cooked']
    ok(do(sim, 'toggle_off', mw))
    ok(do(sim, 'open', mw))
    ok(do(sim, 'pick_up', egg))
    ok(do(sim, 'navigate_to', fridge))
    ok(do(sim, 'open', fridge))
    ok(do(sim, 'put', egg, fridge))
    assert not sim.ground_truth()[egg].states['cold']
    ok(do(sim, 'close', fridge))
    states = sim.ground_truth()[egg].states
    assert states['cold'] and not states['hot']
    fail(do(sim, 'pick_up', egg), 'inside_closed_receptacle')


def test_heat_in_pan_on_burner_and_toaster(sim):
    pan, potato = first(sim, 'Pan'), first(sim, 'Egg')
    burner, bread = first(sim, 'StoveBurner'), first(sim, 'Bread')
    for other in sim.descendants(burner):  # clear the burner
        if other != pan:
            sim.move_object(other, first(sim, 'DiningTable'), 'on')
    sim.move_object(pan, burner, 'on')
    sim.move_object(potato, pan, 'in')
    assert sim.ground_truth()[potato].parent == pan
    ok(do(sim, 'navigate_to', burner))
    r = ok(do(sim, 'toggle_on', burner))
    assert {pan, potato, burner} <= {e.object_id for e in r.events}
    assert sim.ground_truth()[potato].states['cooked']
    toaster = first(sim, 'Toaster')
    sim.move_object(bread, toaster, 'in')
    ok(do(sim, 'navigate_to', toaster))
    ok(do(sim, 'toggle_on', toaster))
    assert sim.ground_truth()[bread].states['hot']


def test_pick_container_carries_its_contents(sim):
    pan, egg, table = first(sim, 'Pan'), first(sim, 'Egg'), first(sim, 'DiningTable')
    sim.move_object(egg, pan, 'in')
    fetch(sim, pan)
    fail(do(sim, 'put', pan, pan), 'invalid_receptacle')
    fail(do(sim, 'put', pan, egg), 'not_a_receptacle')
    ok(do(sim, 'navigate_to', table))
    ok(do(sim, 'put', pan, table))
    truth = sim.ground_truth()
    assert truth[egg].parent == pan and truth[pan].parent == table
    assert abs(truth[egg].position[0] - truth[pan].position[0]) < 0.15


def test_slice_needs_a_knife(sim):
    apple, knife, bread = first(sim, 'Apple'), first(sim, 'Knife'), first(sim, 'Bread')
    ok(do(sim, 'navigate_to', apple))
    fail(do(sim, 'slice', apple), 'no_knife')
    table = first(sim, 'DiningTable')
    sim.move_object(knife, table, 'on')
    sim.move_object(apple, table, 'on')
    fetch(sim, knife)
    ok(do(sim, 'slice', apple))
    assert sim.ground_truth()[apple].states['sliced']
    fail(do(sim, 'slice', apple), 'already_sliced')
    sim.move_object(bread, first(sim, 'Bed'), 'on')
    fail(do(sim, 'slice', bread), 'out_of_reach')
    sim.move_object(first(sim, 'Mug'), table, 'on')
    fail(do(sim, 'slice', first(sim, 'Mug')), 'not_sliceable')


def test_manipulation_failures(sim):
    apple, mug, table = first(sim, 'Apple'), first(sim, 'Mug'), first(sim, 'DiningTable')
    sofa, fridge = first(sim, 'Sofa'), first(sim, 'Fridge')
    fail(do(sim, 'put', apple, table), 'hand_empty')
    sim.move_object(apple, table, 'on')
    sim.move_object(mug, table, 'on')
    ok(do(sim, 'navigate_to', table))
    fail(do(sim, 'pick_up', table), 'not_pickupable')
    fail(do(sim, 'pick_up', sofa), 'not_pickupable')
    ok(do(sim, 'pick_up', apple))
    fail(do(sim, 'pick_up', mug), 'hand_full')
    fail(do(sim, 'put', mug, table), 'not_holding_target')
    fail(do(sim, 'put', apple, first(sim, 'Knife')), 'not_a_receptacle')
    fail(do(sim, 'put', apple, sofa), 'out_of_reach')
    fail(do(sim, 'put', apple), 'missing_argument')
    ok(do(sim, 'navigate_to', fridge))
    fail(do(sim, 'put', apple, fridge), 'receptacle_closed')
    assert sim.holding() == apple


def test_no_space_on_a_small_receptacle(sim):
    pillow, plate, table = first(sim, 'Pillow'), first(sim, 'Plate'), first(sim, 'DiningTable')
    sim.move_object(plate, table, 'on')
    sim.move_object(pillow, table, 'on')
    fetch(sim, pillow)
    fail(do(sim, 'put', pillow, plate), 'no_space')
    assert sim.holding() == pillow
    ok(do(sim, 'put', pillow, table))


def test_open_and_toggle_failures(sim):
    fridge, table, apple = first(sim, 'Fridge'), first(sim, 'DiningTable'), first(sim, 'Apple')
    ok(do(sim, 'navigate_to', fridge))
    fail(do(sim, 'close', fridge), 'already_closed')
    ok(do(sim, 'open', fridge))
    fail(do(sim, 'open', fridge), 'already_open')
    fail(do(sim, 'toggle_on', fridge), 'not_toggleable')
    sim.move_object(apple, table, 'on')
    ok(do(sim, 'navigate_to', table))
    fail(do(sim, 'open', table), 'not_openable')
    lamp = first(sim, 'DeskLamp')
    fail(do(sim, 'toggle_on', lamp), 'out_of_reach')
    ok(do(sim, 'navigate_to', lamp))
    fail(do(sim, 'toggle_off', lamp), 'already_off')
    ok(do(sim, 'toggle_on', lamp))
    fail(do(sim, 'toggle_on', lamp), 'already_on')


def test_skill_and_area_failures(sim, monkeypatch):
    fail(sim.execute(SkillCall('fly')), 'unknown_skill')
    fail(sim.execute(SkillCall('navigate_to')), 'missing_argument')
    fail(sim.execute(SkillCall('explore', area='garage')), 'unknown_area')
    r = ok(sim.execute(SkillCall('explore', area='bathroom')))
    assert r.path_length_m > 0 and sim.home.room_at(*sim.robot_pose()[:2]) == 'bathroom'
    # The simulator is shared between tests: monkeypatch puts its settings back.
    monkeypatch.setattr(sim, 'max_path_waypoints', 1)
    fail(do(sim, 'navigate_to', first(sim, 'Fridge')), 'budget_exceeded')
    monkeypatch.setattr(sim, 'max_path_waypoints', None)
    goal = skills.approach_waypoint(sim, first(sim, 'Fridge'))
    cut = {k: [(n, d) for n, d in v if n != goal] for k, v in sim.adjacency.items()}
    monkeypatch.setattr(sim, 'adjacency', cut)
    fail(do(sim, 'navigate_to', first(sim, 'Fridge')), 'no_path')


def test_navigation_follows_graph_without_crossing_walls(sim):
    from sim.place_graph import crosses_wall
    visited = []
    sim.observe_path = True
    sim.observer = lambda frame: visited.append(sim.robot_pose()[:2])
    try:
        for t in ('Toilet', 'Bed', 'Fridge', 'Sofa'):
            before = sim.robot_pose()[:2]
            ok(do(sim, 'navigate_to', first(sim, t)))
            pts = [before] + visited
            visited.clear()
            for a, b in zip(pts, pts[1:]):
                assert not crosses_wall(sim.home, a, b)
    finally:
        sim.observer, sim.observe_path = None, False


def test_person_api(sim):
    apple, table, fridge = first(sim, 'Apple'), first(sim, 'DiningTable'), first(sim, 'Fridge')
    sim.move_object(apple, fridge, 'in')
    assert sim.ground_truth()[apple].parent == fridge
    sim.set_state(first(sim, 'Mug'), 'dirty', True)
    assert sim.ground_truth()[first(sim, 'Mug')].states['dirty']
    sim.set_state(fridge, 'open', True)
    assert sim.ground_truth()[fridge].states['open']
    with pytest.raises(ValueError, match='no state'):
        sim.set_state(apple, 'open', True)
    with pytest.raises(ValueError, match='not a receptacle'):
        sim.move_object(apple, first(sim, 'Knife'))
    with pytest.raises(ValueError, match='no receptacle'):
        sim.move_object(apple, 'Nowhere_1')
    assert table


def test_same_seed_same_outcome(home):
    results = []
    for _ in range(2):
        s = PyBulletSimulator(width=32, height=24)
        s.reset(home, seed=5)
        apple, table = first(s, 'Apple'), first(s, 'DiningTable')
        fetch(s, apple)
        ok(do(s, 'navigate_to', table))
        ok(do(s, 'put', apple, table))
        results.append((s.ground_truth()[apple].position, s.time))
        s.close()
    assert results[0] == results[1]


def test_the_robot_goes_round_a_table_to_reach_the_far_side():
    from sim.robot import REACH
    from sim.skills import approach_waypoint

    home = generate_home(5, LayoutSpec(rooms=('kitchen',), required_objects=('Mug',)))
    sim = PyBulletSimulator(width=64, height=48)
    try:
        sim.reset(home, seed=1)
        table = next(f for f in home.furniture if f.object_type == 'DiningTable')
        mug = next(o for o, t in sim.things.items() if t.object_type == 'Mug')
        sim.move_object(mug, table.object_id, 'on')
        # The far back corner, seen from the table's front waypoint.
        c, s = math.cos(table.yaw), math.sin(table.yaw)
        lx, ly = table.size[0] / 2 - 0.08, -table.size[1] / 2 + 0.08
        top = sim.aabb(table.object_id)[1][2]
        size = sim.things[mug].size
        sim.set_pose(mug, (table.position[0] + c * lx - s * ly,
                           table.position[1] + s * lx + c * ly, top + size[2] / 2 + 0.002),
                     0.0)
        front = home.waypoint(table.approach)
        lo, hi = sim.aabb(mug)
        far = math.hypot(min(max(front.x, lo[0]), hi[0]) - front.x,
                         min(max(front.y, lo[1]), hi[1]) - front.y)
        assert far > REACH  # the old approach could not reach it
        assert approach_waypoint(sim, mug) != table.approach
        for name in ('navigate_to', 'pick_up'):
            result = sim.execute(SkillCall(name, target=SkillTarget(object_id=mug)))
            assert result.success, (name, result.reason, result.message)
    finally:
        sim.close()
