"""The timeline: believed state over time (as_of, changes), persistence, retention."""

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import ObjectObservation
from memory_nodes.memory.robot_memory import ObjectQuery, RobotMemory
from memory_nodes.memory.state_change import StateChange

DATA = Path(__file__).resolve().parent / 'data'


def box(center, size=(0.08, 0.08, 0.1), n=150, seed=0):
    rng = np.random.default_rng(seed)
    return np.asarray(center) + rng.uniform(-0.5, 0.5, (n, 3)) * np.asarray(size)


def kitchen_memory(**kw):
    mem = LongTermMemory(**kw)
    mem.define_room('kitchen', [0, 0, 0], [5, 5, 3])
    mem.define_room('bedroom', [5, 0, 0], [10, 5, 3])
    for t in range(3):
        mem.integrate([
            ObjectObservation('table', 0.9, box([2, 2, 0.4], [1.2, 0.8, 0.8], 600, t),
                              float(t)),
            ObjectObservation('mug', 0.9, box([2, 2, 0.85], seed=t), float(t)),
        ])
    return mem


def test_versions_only_for_material_changes_of_confirmed_nodes():
    mem = LongTermMemory()
    mem.integrate([ObjectObservation('mug', 0.9, box([2, 2, 0.85]), 0.0)])
    assert len(mem.timeline) == 0  # tentative: not a belief yet
    for t in range(1, 6):  # re-observed in place: one version, not one per frame
        mem.integrate([ObjectObservation('mug', 0.9, box([2, 2, 0.85], seed=t), float(t))])
    mug = mem.by_label('mug')[0]
    assert [v.stamp for v in mem.timeline.versions[mug.id]] == [1.0]
    mem.record_state_change(StateChange('mug', 7.0, object_id=mug.id, states={'dirty': True}))
    mem.record_state_change(StateChange('mug', 8.0, object_id=mug.id,
                                        position=(2.03, 2.0, 0.85)))  # 3 cm: not material
    mem.record_state_change(StateChange('mug', 9.0, object_id=mug.id,
                                        position=(3.0, 2.0, 0.85)))
    vs = mem.timeline.versions[mug.id]
    assert [v.stamp for v in vs] == [1.0, 7.0, 9.0]
    assert vs[1].states == {'dirty': True} and vs[0].states == {}
    assert vs[2].position[0] == pytest.approx(3.0)


def test_as_of_and_changes_answer_where_it_was_and_what_changed():
    mem = RobotMemory(LongTermMemoryConfig())
    ltm = mem.ltm
    ltm.define_room('kitchen', [0, 0, 0], [5, 5, 3])
    ltm.define_room('bedroom', [5, 0, 0], [10, 5, 3])
    for t in range(3):
        mem.observe([
            ObjectObservation('table', 0.9, box([2, 2, 0.4], [1.2, 0.8, 0.8], 600, t), t),
            ObjectObservation('mug', 0.9, box([2, 2, 0.85], seed=t), float(t)),
        ])
    mug = ltm.by_label('mug')[0].id
    assert ltm.graph.support(mug)[1] == 'on'
    mem.record(StateChange('mug', 10.0, object_id=mug, position=(7.0, 2.0, 0.5),
                           states={'dirty': True}))
    mem.mark_missing(mug, 20.0)
    mem.record(StateChange('mug', 30.0, object_id=mug, position=(7.0, 2.0, 0.5)))

    past = mem.as_of(5.0)
    assert past.get(mug).position[0] == pytest.approx(2.0, abs=0.05)
    assert past.graph.nodes[past.get(mug).room].label == 'kitchen'
    assert past.graph.support(mug)[1] == 'on'  # on the table, then
    assert mem.as_of(15.0).get(mug).position[0] == pytest.approx(7.0)
    assert mem.as_of(25.0).get(mug).status == 'absent'
    assert mem.as_of(0.5).get(mug) is None  # not yet believed in
    # Query filters apply to the graph as it was.
    hits = mem.query(ObjectQuery(label='mug', room='kitchen'), as_of=5.0)
    assert [h.node.id for h in hits] == [mug]
    assert mem.query(ObjectQuery(label='mug', room='kitchen'), as_of=15.0) == []
    assert [h.node.id for h in mem.query(ObjectQuery(relation='on', relation_target='table'),
                                         as_of=5.0)] == [mug]
    near = mem.query(ObjectQuery(label='mug', near_point=(2, 2, 1), radius=0.5), as_of=5.0)
    assert [h.node.id for h in near] == [mug]

    kinds = [(c.kind, c.stamp) for c in mem.changes(5.0, 35.0) if c.object_id == mug]
    assert kinds == [('moved', 10.0), ('state', 10.0), ('missing', 20.0),
                     ('reappeared', 30.0)]
    moved = next(c for c in mem.changes(5.0, 15.0) if c.kind == 'moved')
    assert moved.before.room_name == 'kitchen' and moved.after.room_name == 'bedroom'
    assert moved.before.support_label == 'table' and moved.after.position[0] == 7.0
    assert [c.kind for c in mem.changes(0.0, 5.0)] == ['appeared', 'appeared']
    assert {c.label for c in mem.changes(0.0, 5.0, 'bedroom')} == set()
    assert {c.kind for c in mem.changes(5.0, 35.0, 'bedroom')} >= {'moved'}
    assert mem.changes(40.0, 50.0) == []


def test_bad_time_requests_name_the_problem():
    mem = kitchen_memory()
    with pytest.raises(ValueError, match='before since'):
        mem.changes(10.0, 5.0)
    with pytest.raises(ValueError, match="unknown room 'garage'"):
        mem.changes(0.0, 5.0, 'garage')
    with pytest.raises(ValueError, match='finite'):
        mem.as_of(float('nan'))


def test_merge_ends_a_life_and_history_follows_the_survivor():
    mem = kitchen_memory()
    mem.record_state_change(StateChange('cup', 5.0, position=(2.5, 2.5, 0.85)))
    cup = mem.by_label('cup')[0].id
    mug = mem.by_label('mug')[0].id
    mem.graph.remove_node(cup, 8.0, merged_into=mug)
    mem._commit(8.0)
    gone = mem.timeline.versions[cup][-1]
    assert gone.status == 'gone' and gone.merged_into == mug
    assert cup in mem.as_of(6.0).graph.nodes and cup not in mem.as_of(9.0).graph.nodes
    # The merged node is not reported as missing or removed.
    assert [c.kind for c in mem.changes(6.0, 9.0)] == []
    mem.graph.remove_node(mug, 12.0)
    mem._commit(12.0)
    assert [(c.object_id, c.kind) for c in mem.changes(9.0, 13.0)] == [(mug, 'removed')]


def test_timeline_round_trips_through_sqlite_and_json(tmp_path):
    db = tmp_path / 'ltm.db'
    mem = kitchen_memory(db_path=db)
    mug = mem.by_label('mug')[0].id
    mem.record_state_change(StateChange('mug', 10.0, object_id=mug, position=(7, 2, 0.5)))
    expect = {t: mem.as_of(t).get(mug).position.tolist() for t in (5.0, 15.0)}
    changes = [c.to_dict() for c in mem.changes(0.0, 20.0)]
    mem.close()
    again = LongTermMemory(db_path=db)
    assert {t: again.as_of(t).get(mug).position.tolist() for t in expect} == expect
    assert [c.to_dict() for c in again.changes(0.0, 20.0)] == changes
    for name in ('copy.json', 'copy.json.gz', 'copy.db'):
        again.save(tmp_path / name)
        loaded = LongTermMemory.load(tmp_path / name)
        assert [c.to_dict() for c in loaded.changes(0.0, 20.0)] == changes, name
    again.close()


def test_memory_file_of_schema_1_is_migrated_and_seeded(tmp_path):
    db = tmp_path / 'old.db'
    shutil.copy(DATA / 'memory_schema1.db', db)
    mem = LongTermMemory(db_path=db)
    mug = mem.by_label('mug')[0]
    assert mug.states == {'dirty': True}
    # The timeline starts at the newest stamp the old file knew; before it, no answer.
    assert mem.timeline.horizon == pytest.approx(9.0)
    assert mem.as_of(9.0).get(mug.id).states == {'dirty': True}
    with pytest.raises(ValueError, match='retention horizon'):
        mem.as_of(1.0)
    mem.record_state_change(StateChange('mug', 12.0, object_id=mug.id, states={'dirty': False}))
    mem.close()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ('2',)
    assert conn.execute('SELECT COUNT(*) FROM timeline').fetchone()[0] >= 3
    conn.close()
    again = LongTermMemory(db_path=db)
    assert [c.kind for c in again.changes(9.0, 12.0)] == ['state']
    again.close()
    old_json = LongTermMemory.load(DATA / 'memory_schema1.json')
    assert old_json.as_of(9.0).get(mug.id).label == 'mug'


def test_retention_bounds_the_tables_and_as_of_answers_inside_the_horizon(tmp_path):
    cfg = LongTermMemoryConfig()
    cfg.timeline.max_age_s = 100.0
    cfg.timeline.retention_every = 20
    cfg.persistence.history_per_node = 16
    db = tmp_path / 'ltm.db'
    mem = kitchen_memory(config=cfg, db_path=db)
    mug = mem.by_label('mug')[0].id
    for i in range(400):  # the mug moves 0.3 m every second, on and on
        x = 1.0 + 0.3 * (i % 10)
        mem.record_state_change(StateChange('mug', 10.0 + i, object_id=mug,
                                            position=(x, 2.0, 0.85)))
    mem.apply_retention()
    horizon = mem.timeline.horizon
    assert horizon == pytest.approx(409.0 - 100.0)
    conn = sqlite3.connect(db)
    rows = conn.execute('SELECT COUNT(*) FROM timeline WHERE node_id=?', (mug,)).fetchone()[0]
    hist = conn.execute('SELECT COUNT(*) FROM history WHERE node_id=?', (mug,)).fetchone()[0]
    conn.close()
    assert rows <= 102 and hist <= 16  # 400 moves, bounded by age and count
    for t in (horizon, horizon + 0.5, 350.0, 409.0):
        i = int(t) - 10
        assert mem.as_of(t).get(mug).position[0] == pytest.approx(1.0 + 0.3 * (i % 10)), t
    with pytest.raises(ValueError, match='retention horizon'):
        mem.as_of(horizon - 1.0)
    mem.close()
    again = LongTermMemory(config=cfg, db_path=db)  # the horizon persists
    assert again.timeline.horizon == horizon
    assert again.as_of(350.0).get(mug).position[0] == pytest.approx(1.0 + 0.3 * (340 % 10))
    again.close()
