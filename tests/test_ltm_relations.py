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


def test_a_change_without_id_follows_the_object_in_the_robots_hand():
    """Carried far from where it was picked, the held mug is still the mug, not a new one.

    Two mugs are known; the one picked up is held. A location change of 'Mug' with no id,
    3 m from both (the robot walked off with it before any frame was fused), moves the held
    mug instead of creating a third.
    """
    mem = LongTermMemory()
    see(mem, [TABLE, MUG, ('mug', [4, 1.2, 0.85], [0.08, 0.08, 0.1])])
    mugs = mem.by_label('mug')
    assert len(mugs) == 2
    picked = min(mugs, key=lambda n: np.linalg.norm(n.position - np.array([2, 2, 0.85])))
    mem.record_state_change(StateChange('Mug', 5.0, object_id=picked.id,
                                        position=(2.0, 2.0, 1.0), states={'held': True},
                                        source='own_action'))
    oid = mem.record_state_change(StateChange('Mug', 6.0, position=(2.0, 5.5, 1.0),
                                              source='own_action'))
    assert oid == picked.id
    assert len(mem.by_label('mug')) == 2
    assert np.allclose(picked.position, [2.0, 5.5, 1.0])


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
