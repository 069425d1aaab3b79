"""Relation (on/in/near), room and state-change rules on small hand-built scenes."""

import numpy as np

from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import ObjectObservation
from memory_nodes.memory.state_change import StateChange


def box(center, size, n=300, seed=0):
    rng = np.random.default_rng(seed)
    s = np.asarray(size, dtype=float)
    p = rng.uniform(-0.5, 0.5, (n, 3)) * s
    ax = rng.integers(0, 3, n)
    p[np.arange(n), ax] = rng.choice([-0.5, 0.5], n) * s[ax]
    return np.asarray(center) + p + rng.normal(0, 0.003, (n, 3))


def see(mem, items, times=2, room=None):
    for t in range(times):
        mem.integrate([ObjectObservation(lbl, 0.9, box(c, s, seed=t * 17 + i), float(t),
                                         room=room)
                       for i, (lbl, c, s) in enumerate(items)])


TABLE = ('table', [2, 2, 0.4], [1.2, 0.8, 0.8])
FRIDGE = ('fridge', [4, 1, 0.9], [0.8, 0.7, 1.8])
MUG = ('mug', [2, 2, 0.85], [0.08, 0.08, 0.1])
MILK = ('milk', [4, 1, 1.0], [0.08, 0.08, 0.2])


def test_on_support_surface():
    mem = LongTermMemory()
    see(mem, [TABLE, MUG])
    mug = mem.by_label('mug')[0]
    table = mem.by_label('table')[0]
    assert mem.graph.support(mug.id) == (table.id, 'on')
    assert [n.id for n in mem.related('on', 'table')] == [mug.id]
    assert mem.where('mug')[0]['support']['label'] == 'table'


def test_in_container_volume():
    mem = LongTermMemory()
    see(mem, [FRIDGE, MILK])
    assert [n.label for n in mem.related('in', 'fridge')] == ['milk']


def test_floating_object_has_no_support_but_is_near():
    mem = LongTermMemory()
    see(mem, [TABLE, ('ball', [2, 2, 1.3], [0.1, 0.1, 0.1])])
    ball = mem.by_label('ball')[0]
    assert mem.graph.support(ball.id) is None
    table = mem.by_label('table')[0]
    assert table.id in [d for d, _ in mem.graph.out_edges(ball.id, 'near')]


def test_highest_surface_wins():
    mem = LongTermMemory()
    plate = ('plate', [2, 2, 0.81], [0.25, 0.25, 0.02])
    apple = ('apple', [2, 2, 0.86], [0.07, 0.07, 0.07])
    see(mem, [TABLE, plate, apple])
    assert mem.graph.support(mem.by_label('apple')[0].id)[0] == mem.by_label('plate')[0].id
    assert mem.graph.support(mem.by_label('plate')[0].id)[0] == mem.by_label('table')[0].id


def test_relation_follows_a_move():
    mem = LongTermMemory()
    see(mem, [TABLE, FRIDGE, MUG])
    mug = mem.by_label('mug')[0]
    mem.record_state_change(StateChange('mug', 5.0, object_id=mug.id,
                                        position=(4.0, 1.0, 1.0), changed=['position']))
    assert mem.graph.support(mug.id)[1] == 'in'
    kinds = [ev.kind for ev in mem.history(mug.id)]
    assert 'moved' in kinds and 'relation' in kinds


def test_state_change_with_receptacle_and_no_id_associates_by_label():
    mem = LongTermMemory()
    see(mem, [TABLE, FRIDGE, MUG])
    mug = mem.by_label('mug')[0]
    oid = mem.record_state_change(StateChange('Mug', 6.0, receptacle='fridge',
                                              states={'dirty': True}, source='own_action'))
    assert oid == mug.id
    assert mem.graph.support(mug.id) == (mem.by_label('fridge')[0].id, 'in')
    assert mug.states['dirty'] is True


def test_state_change_unknown_object_creates_it():
    mem = LongTermMemory()
    oid = mem.record_state_change(StateChange('apple', 1.0, position=(1.0, 2.0, 0.9)))
    node = mem.get(oid)
    assert node.label == 'apple' and node.status == 'confirmed'
    assert np.allclose(node.position, [1, 2, 0.9])


def test_rooms_from_bounds_hint_and_default_each_object_one_room():
    mem = LongTermMemory()
    mem.define_room('kitchen', [0, 0, 0], [5, 5, 3])
    see(mem, [TABLE])
    see(mem, [('sofa', [8, 2, 0.4], [2.0, 0.9, 0.8])], room='living room')
    see(mem, [('lamp', [20, 20, 1.0], [0.2, 0.2, 0.5])])
    names = {n.label: mem.get(n.room).label for n in mem.graph.nodes.values()
             if n.layer in ('object', 'furniture')}
    assert names == {'table': 'kitchen', 'sofa': 'living room', 'lamp': 'unknown'}
    for n in mem.graph.nodes.values():
        if n.layer in ('object', 'furniture'):
            assert len(mem.graph.out_edges(n.id, 'parent')) == 1
    assert [n.label for n in mem.in_room('kitchen')] == ['table']


def test_places_from_trajectory_and_clustering_into_rooms():
    mem = LongTermMemory()
    for i in range(10):
        mem.add_agent_pose([float(i), 0.0, 0.0], float(i))
    for i in range(10):
        mem.add_agent_pose([float(i), 20.0, 0.0], 10.0 + i)
    places = list(mem.graph.layer('place'))
    assert len(places) == 20
    assert mem.graph.out_edges(places[0].id, 'traversable')
    n_rooms = mem.rooms.cluster_places()
    assert n_rooms >= 2
    assert len({p.room for p in places[:10]} & {p.room for p in places[10:]}) == 0
    see(mem, [('lamp', [1, 0.5, 1.0], [0.2, 0.2, 0.5])])
    lamp = mem.by_label('lamp')[0]
    assert lamp.room == places[1].room
    assert len(mem.graph.nodes['a000000'].attrs['trajectory']) == 20


def test_a_carried_object_stays_one_object_through_the_executors_handle():
    """The knife the robot carries from room to room stays one knife.

    Two knives are known. The pick names the executor's handle and the memory node; the
    location changes while carrying name only the handle, metres from both knives (they
    arrive before the frames showing the knife in the hand are fused). Without the handle
    each one would make a new knife; with it they move the picked one.
    """
    from memory_nodes.memory.robot_memory import RobotMemory

    memory = RobotMemory()
    see(memory.ltm, [TABLE, MUG, ('mug', [4, 1.2, 0.85], [0.08, 0.08, 0.1])])
    picked = min(memory.ltm.by_label('mug'),
                 key=lambda n: np.linalg.norm(n.position - np.array([2, 2, 0.85])))
    memory.record(StateChange('Mug', 5.0, object_id=picked.id, position=(2.0, 2.0, 1.0),
                              changed=['location', 'held'], source='own_action'),
                  executor_id='Mug_1')
    for i, place in enumerate([(2.0, 5.5, 1.0), (6.0, 6.0, 1.0), (8.0, 1.0, 1.0)]):
        oid = memory.record(StateChange('Mug', 6.0 + i, position=place, changed=['location'],
                                        source='own_action'), executor_id='Mug_1')
        assert oid == picked.id
    assert len(memory.ltm.by_label('mug')) == 2
    assert np.allclose(picked.position, [8.0, 1.0, 1.0])
    # Another object's handle is not confused with it.
    other = memory.record(StateChange('Mug', 10.0, position=(4.0, 1.2, 0.85),
                                      source='own_action'), executor_id='Mug_2')
    assert other != picked.id
    memory.reset()
    assert memory.record(StateChange('Mug', 11.0, position=(0.0, 9.0, 1.0),
                                     source='own_action'), executor_id='Mug_1') != picked.id


def test_a_state_only_change_moves_nothing():
    """Opening the fridge says where the executor thinks it is, which is not a move.

    The executor reports the fridge's own reference point (0.4 m from the centroid memory
    fused from its visible faces) with `changed=['open']`: the state changes, the node
    stays. A change that names the location does move a mug.
    """
    mem = LongTermMemory()
    see(mem, [TABLE, FRIDGE, MUG])
    fridge, mug = mem.by_label('fridge')[0], mem.by_label('mug')[0]
    before = fridge.position.copy()
    oid = mem.record_state_change(StateChange(
        'Fridge', 5.0, position=tuple(before + [0.0, 0.4, -0.3]), states={'open': True},
        changed=['open'], source='own_action'))
    assert oid == fridge.id and fridge.states['open'] is True
    assert np.allclose(fridge.position, before)
    mem.record_state_change(StateChange('Mug', 6.0, object_id=mug.id,
                                        position=(2.0, 2.6, 0.85), changed=['location'],
                                        source='own_action'))
    assert np.allclose(mug.position, [2.0, 2.6, 0.85])
