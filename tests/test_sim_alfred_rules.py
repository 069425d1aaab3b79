"""ALFRED's rules in the PyBullet world: food is washed, knobs turn burners, switches lights."""

from __future__ import annotations

import copy
import json

import pytest
from ai2thor_data import OBJECTS, need

from memory_nodes.domain.goal_compiler import compile_task
from memory_nodes.domain.goals import parse_condition
from memory_nodes.domain.skills import SkillCall, SkillTarget
from sim.home import PlacedThing
from sim.home_generator import LayoutSpec, generate_home
from sim.oracle import GroundTruthResolver, OraclePlanSource, run_task
from sim.pybullet_sim import PyBulletSimulator
from sim.scoring import check_condition
from sim.task_schema import Task
from tests.sim_helpers import first
from tests.sim_helpers import succeed as do

REQUIRED = ('Apple', 'Tomato', 'Lettuce', 'Egg', 'Knife')


@pytest.fixture(scope='module')
def shared_sim():
    s = PyBulletSimulator(width=64, height=48)
    yield s
    s.close()


@pytest.fixture(scope='module')
def home():
    return generate_home(11, LayoutSpec(required_objects=REQUIRED))


@pytest.mark.parametrize('food', ['Apple', 'Tomato', 'Lettuce', 'Egg'])
def test_a_dirty_food_is_washed_in_the_sink_basin_under_the_faucet(shared_sim, home, food):
    sim = shared_sim
    sim.reset(home, seed=1)
    oid = first(sim, food)
    sim.set_state(oid, 'dirty', True)
    goal = parse_condition(f'STATE({food}, clean): 1')
    assert not check_condition(goal, sim.ground_truth())
    calls = compile_task([goal], GroundTruthResolver(sim))
    assert [c.name for c in calls if c.name in ('put', 'toggle_on')] == ['put', 'toggle_on']
    assert next(c for c in calls if c.name == 'put').receptacle.object_type == 'SinkBasin'
    for call in calls:
        if call.name == 'toggle_on':
            # in the basin, faucet not yet on: still dirty
            assert sim.ground_truth()[oid].parent is not None
            assert sim.ground_truth()[oid].states['dirty']
        result = sim.execute(call)
        assert result.success, (call.name, result.reason, result.message)
    assert sim.ground_truth()[oid].states['dirty'] is False
    assert check_condition(goal, sim.ground_truth())


def test_the_oracle_reaches_alfred_l_simple_task_1(shared_sim, home):
    """ON(apple, table), INSIDE(tomato, sink), TOGGLEON(faucet), STATE(tomato, clean)."""
    sim = shared_sim
    sim.reset(home, seed=1)
    sim.set_state(first(sim, 'Tomato'), 'dirty', True)
    goals = [parse_condition(t) for t in (
        'ON(Apple, DiningTable): 1', 'INSIDE(Tomato, SinkBasin): 1',
        'TOGGLEON(Faucet): 1', 'STATE(Tomato, clean): 1')]
    record = run_task(sim, Task('alfred_l-simple-1', 'wash a tomato', goals),
                      OraclePlanSource())
    assert record.success, record.error


def test_a_light_switch_turns_the_lights_of_its_room(shared_sim, home):
    home = copy.deepcopy(home)
    lamp = next(f for f in home.furniture if f.object_type in ('DeskLamp', 'FloorLamp'))
    x, y, _ = lamp.position
    # A switch beside the lamp, at AI2-THOR's switch height (homes here have no walls' own).
    home.furniture.append(PlacedThing('LightSwitch_1', 'LightSwitch', lamp.room,
                                      (0.05, 0.02, 0.12), (x + 0.3, y, 1.2),
                                      approach=lamp.approach, states={'toggled': False}))
    sim = shared_sim
    sim.reset(home, seed=1)
    lamps = ('DeskLamp', 'FloorLamp')
    lights = [o for o, t in sim.things.items() if t.room == lamp.room and t.object_type in lamps]
    others = {o: dict(t.states) for o, t in sim.things.items()
              if t.room != lamp.room and t.object_type in lamps}
    assert lights and not any(sim.things[o].states['toggled'] for o in lights)
    do(sim, 'navigate_to', 'LightSwitch_1')
    result = do(sim, 'toggle_on', 'LightSwitch_1')
    assert all(sim.things[o].states['toggled'] for o in lights)
    assert set(lights) <= {e.object_id for e in result.events}
    do(sim, 'toggle_off', 'LightSwitch_1')
    assert not any(sim.things[o].states['toggled'] for o in lights)
    assert {o: dict(sim.things[o].states) for o in others} == others


@pytest.fixture(scope='module')
def kitchen():
    need(OBJECTS)
    from sim.ai2thor.scene_importer import import_objects
    return import_objects(json.loads(OBJECTS.read_text()), 'FloorPlan1').home


def test_each_floorplan1_knob_turns_one_burner(kitchen):
    knobs = {f.object_id: f.attached_to for f in kitchen.furniture
             if f.object_type == 'StoveKnob'}
    burners = {f.object_id for f in kitchen.furniture if f.object_type == 'StoveBurner'}
    assert len(knobs) == 4 and set(knobs.values()) == burners


def test_a_stove_knob_turns_its_burner_and_heats_the_pan_on_it(shared_sim, kitchen):
    sim = shared_sim
    sim.reset(kitchen, seed=1)
    goal = parse_condition('TOGGLEON(StoveKnob): 1')
    calls = compile_task([goal], GroundTruthResolver(sim))
    for call in calls:
        result = sim.execute(call)
        assert result.success, (call.name, result.reason, result.message)
    on = next(c.target.object_id for c in calls if c.name == 'toggle_on')
    burner = sim.things[on].attached_to
    assert check_condition(goal, sim.ground_truth())
    assert sim.things[burner].states['toggled']
    assert check_condition(parse_condition('TOGGLEON(StoveBurner): 1'), sim.ground_truth())
    others = [o for o, t in sim.things.items() if t.object_type == 'StoveBurner' and o != burner]
    assert not any(sim.things[o].states['toggled'] for o in others)
    # the burner's own switch goes through its knob: both off, and the rule keeps it off
    do(sim, 'toggle_off', burner)
    sim.step(1.0)
    assert not sim.things[burner].states['toggled'] and not sim.things[on].states['toggled']
    do(sim, 'toggle_on', burner)
    sim.step(1.0)
    assert sim.things[burner].states['toggled'] and sim.things[on].states['toggled']


def test_a_mug_is_filled_then_emptied_as_alfred_l_composite_8_asks(shared_sim):
    """STATE(mug, filled) then STATE(mug, empty): fill under the faucet, pour it out."""
    sim = shared_sim
    sim.reset(generate_home(11, LayoutSpec(required_objects=('Mug',))), seed=1)
    goals = [parse_condition(t) for t in ('STATE(Mug, filled): 1', 'STATE(Mug, empty): 1')]
    record = run_task(sim, Task('fill-then-empty', 'fill the mug, then empty it', goals),
                      OraclePlanSource())
    assert record.success, record.error
    assert 'pour_out' in [step.skill for step in record.log]
    mug = sim.held
    assert sim.things[mug].object_type == 'Mug' and not sim.things[mug].states['filled']
    again = sim.execute(SkillCall('pour_out', target=SkillTarget(object_id=mug)))
    assert not again.success and again.reason == 'already_empty'
    apple = first(sim, 'Apple') if any(t.object_type == 'Apple' for t in sim.things.values()) \
        else first(sim, 'Mug')
    other = sim.execute(SkillCall('pour_out', target=SkillTarget(object_id=apple)))
    assert not other.success and other.reason in ('not_holding_target', 'already_empty')
