"""Persistence rules: durable confirmed changes, stable ids, schema check, kill -9."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import ObjectObservation
from memory_nodes.memory.persistence import SchemaVersionError
from memory_nodes.memory.state_change import StateChange

REPO = Path(__file__).resolve().parents[1]


def box(center, size=(0.1, 0.1, 0.1), n=150, seed=0):
    rng = np.random.default_rng(seed)
    return np.asarray(center) + rng.uniform(-0.5, 0.5, (n, 3)) * np.asarray(size)


def scene(mem, times=2):
    for t in range(times):
        mem.integrate([
            ObjectObservation('table', 0.9, box([2, 2, 0.4], [1.2, 0.8, 0.8], 600, t), t),
            ObjectObservation('mug', 0.9, box([2, 2, 0.85], [0.08, 0.08, 0.1], seed=t), t),
        ])


def test_reopen_keeps_confirmed_graph_and_ids(tmp_path):
    db = tmp_path / 'ltm.db'
    mem = LongTermMemory(db_path=db)
    mem.define_room('kitchen', [0, 0, 0], [5, 5, 3])
    scene(mem)
    mug = mem.by_label('mug')[0]
    mem.record_state_change(StateChange('mug', 9.0, object_id=mug.id, states={'dirty': True}))
    before = {n.id: (n.label, n.room, n.status) for n in mem.graph.nodes.values()}
    edges = sorted(mem.graph.edges.edges(data='kind'))
    mem.close()
    again = LongTermMemory(db_path=db)
    after = {n.id: (n.label, n.room, n.status) for n in again.graph.nodes.values()}
    assert after == before
    assert sorted(again.graph.edges.edges(data='kind')) == edges
    assert again.get(mug.id).states == {'dirty': True}
    assert [e.kind for e in again.history(mug.id)] == [e.kind for e in mem.history(mug.id)]
    # New ids never collide with ids handed out before the restart.
    new = again.record_state_change(StateChange('apple', 10.0, position=(1, 1, 1)))
    assert new not in before
    again.close()


def test_tentative_nodes_are_not_persisted(tmp_path):
    db = tmp_path / 'ltm.db'
    mem = LongTermMemory(db_path=db)
    scene(mem, times=1)
    assert mem.by_label('mug')[0].status == 'tentative'
    mem.close()
    assert LongTermMemory(db_path=db).by_label('mug') == []


def test_schema_mismatch_is_a_clear_error(tmp_path):
    db = tmp_path / 'ltm.db'
    LongTermMemory(db_path=db).close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaVersionError, match='schema version 99'):
        LongTermMemory(db_path=db)


@pytest.mark.parametrize('name', ['graph.json', 'graph.json.gz', 'graph.db'])
def test_save_load_single_file(tmp_path, name):
    mem = LongTermMemory()
    scene(mem, times=3)
    mem.save(tmp_path / name)
    back = LongTermMemory.load(tmp_path / name)
    assert sorted(back.graph.nodes) == sorted(mem.graph.nodes)
    mug = back.by_label('mug')[0]
    assert back.graph.support(mug.id)[1] == 'on'
    assert np.allclose(mug.points, mem.get(mug.id).points, atol=1e-3)
    # The loaded graph keeps fusing into the same nodes.
    scene(back, times=1)
    assert len(back.by_label('mug')) == 1


def test_json_round_trip_is_stable():
    mem = LongTermMemory()
    scene(mem)
    text = mem.to_json()
    assert json.loads(LongTermMemory.from_json(text).to_json()) == json.loads(text)


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from memory_nodes.memory.long_term import LongTermMemory
    from memory_nodes.memory.observation import ObjectObservation
    mem = LongTermMemory(db_path=sys.argv[1])
    rng = np.random.default_rng(0)
    i = 0
    while True:
        c = np.array([i % 50 * 0.5, i // 50 * 0.5, 0.5])
        for t in range(2):
            pts = c + rng.uniform(-0.05, 0.05, (200, 3))
            r = mem.integrate([ObjectObservation('thing', 0.9, pts, float(i * 2 + t))])
        for nid in r.confirmed:
            print(nid, flush=True)
        i += 1
""")


def test_kill_9_mid_stream_loses_nothing_confirmed(tmp_path):
    db = tmp_path / 'crash.db'
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, '-c', WRITER, str(db)], stdout=subprocess.PIPE,
                            text=True, env=env, cwd=str(REPO))
    confirmed = []
    deadline = time.monotonic() + 60
    try:
        while len(confirmed) < 60 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            confirmed.append(line.strip())
        time.sleep(0.05)  # let it get back into the middle of a write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert len(confirmed) >= 60, 'the writer did not get going'
    mem = LongTermMemory(db_path=db)
    ids = set(mem.graph.nodes)
    assert set(confirmed) <= ids
    for s, d in mem.graph.edges.edges():
        assert s in ids and d in ids
    things = mem.by_label('thing')
    assert all(n.status == 'confirmed' for n in things)
    assert all(n.points is not None and len(n.points) for n in things)
    counter = mem.graph.id_counter
    assert counter >= max(int(i[1:]) for i in ids if i[1:].isdigit())
    mem.close()


def test_wal_is_checkpointed_off_the_commit_path(tmp_path):
    """Commits only append to the WAL; a background connection checkpoints it."""
    from memory_nodes.memory.config import LongTermMemoryConfig, PersistenceConfig

    db = tmp_path / 'ltm.db'
    cfg = LongTermMemoryConfig(persistence=PersistenceConfig(checkpoint_interval_s=0.05))
    mem = LongTermMemory(cfg, db_path=db)
    scene(mem, times=3)
    deadline = time.monotonic() + 10
    while mem.store.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert mem.store.checkpoints > 0
    assert mem.store.conn.execute('PRAGMA wal_autocheckpoint').fetchone()[0] == 0
    # Another reader sees the committed graph while the memory is still open.
    with sqlite3.connect(db) as other:
        labels = {row[0] for row in other.execute('SELECT label FROM nodes')}
    assert {'table', 'mug'} <= labels
    ids = sorted(mem.graph.nodes)
    thread = mem.store._checkpointer
    mem.close()
    assert thread is not None and not thread.is_alive()
    wal = Path(str(db) + '-wal')
    assert not wal.exists() or wal.stat().st_size == 0   # close() truncates the WAL
    again = LongTermMemory(db_path=db)
    assert sorted(again.graph.nodes) == ids
    again.close()
    with pytest.raises(ValueError, match='checkpoint_interval_s'):
        LongTermMemory(LongTermMemoryConfig(
            persistence=PersistenceConfig(checkpoint_interval_s=-1.0)), db_path=tmp_path / 'x.db')


def test_a_store_dropped_without_close_stops_its_checkpointer(tmp_path):
    import gc

    from memory_nodes.memory.persistence import SqliteStore

    store = SqliteStore(tmp_path / 'dropped.db')
    thread = store._checkpointer
    assert thread is not None and thread.is_alive()
    del store
    gc.collect()
    thread.join(timeout=5.0)
    assert not thread.is_alive()


def test_reset_and_load_replace_the_database_too(tmp_path):
    """RobotMemory: load/reset swap the SQLite content atomically; reopening agrees."""
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.observation import ObjectObservation
    from memory_nodes.memory.robot_memory import RobotMemory

    cfg = LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    db = tmp_path / 'm.db'
    rng = np.random.default_rng(0)

    def frames(memory, label, centre):
        for t in range(3):
            pts = np.asarray(centre) + rng.uniform(-0.04, 0.04, (80, 3))
            memory.observe([ObjectObservation(label, 0.9, pts, 1.0 + t)])

    memory = RobotMemory(cfg, db_path=db)
    frames(memory, 'Apple', (1, 0, 0.9))
    memory.save(tmp_path / 'apple.json')
    memory.reset()
    assert not memory.ltm.by_label('apple')
    assert not RobotMemory(cfg, db_path=db).ltm.by_label('apple')  # the file agrees
    frames(memory, 'Mug', (2, 0, 0.9))  # fusion keeps working on the new graph
    assert memory.ltm.by_label('mug')
    memory.load(tmp_path / 'apple.json')
    assert memory.ltm.by_label('apple') and not memory.ltm.by_label('mug')
    delta = memory.take_delta()
    assert delta is not None and delta.removed  # the mug's node is reported gone
    reopened = RobotMemory(cfg, db_path=db)
    assert [n.label for n in reopened.ltm.by_label('apple')] == ['apple']
    assert not list(tmp_path.glob('*.new'))
