"""Robots sharing one memory through a real PostgreSQL server: sync and conflict rules.

Each test gets its own database on the session's private server (`pg_dsn`). Robots here
are `LongTermMemory`s with a `PostgresStore`, driven step by step (`flush` writes what is
queued on this thread, `sync_now` applies what the others wrote), so each rule is checked
in a known order; `test_listener_*` run the store's threads as the node does.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import psycopg
import pytest

from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.postgres_store import (
    BOOT_ID_STRIDE,
    PG_SCHEMA_VERSION,
    PostgresSchemaError,
    PostgresStore,
    safe_dsn,
)
from memory_nodes.memory.remote_changes import write_wins
from memory_nodes.memory.robot_memory import ObjectQuery, RobotMemory
from memory_nodes.memory.state_change import StateChange
from tests.test_ltm_fusion import obs


class Robot:
    """One robot's long-term memory on the shared store, stepped by the test."""

    def __init__(self, dsn: str, robot_id: str) -> None:
        self.store = PostgresStore(dsn, robot_id, poll_s=0.1)
        self.ltm = LongTermMemory(store=self.store)
        self.applied: list[tuple[str, int]] = []

        def on_remote(batch):  # noqa: ANN001, ANN202
            if not batch.adopt:  # the change feed (an adoption restores a lost write)
                self.applied.extend((r.id, r.version) for r in batch.nodes)
            self.ltm.apply_remote(batch)
        self.store.on_remote = on_remote

    def see(self, label, center, stamp, size=(0.1, 0.1, 0.1), times=3):  # noqa: ANN001
        for k in range(times):
            self.ltm.integrate([obs(label, center, size=size, stamp=stamp + k * 0.1,
                                    seed=int(stamp * 10) + k)])
        self.store.flush()

    def objects(self, label: str | None = None) -> dict:
        return {n.id: n for n in self.ltm.graph.nodes.values()
                if n.layer in ('object', 'furniture') and (label is None or n.label == label)}

    def close(self) -> None:
        self.ltm.close()


def sync(*robots: Robot) -> None:
    """Everyone writes what is queued, then everyone reads what the others wrote."""
    for _ in range(2):  # a fold written while applying is read on the second round
        for r in robots:
            r.store.flush()
        for r in robots:
            r.store.sync_now()


@pytest.fixture
def fleet(pg_dsn):
    robots: list[Robot] = []

    def make(robot_id: str) -> Robot:
        robots.append(Robot(pg_dsn, robot_id))
        return robots[-1]
    yield make
    for r in robots:
        r.close()


def stored(dsn: str, node_id: str) -> tuple:
    with psycopg.connect(dsn) as conn:
        return conn.execute('SELECT version, robot_id, evidence, deleted, merged_into '
                            'FROM em_nodes WHERE id = %s', (node_id,)).fetchone()


def test_a_sighting_by_one_robot_is_known_to_the_other(fleet):
    a, b = fleet('a'), fleet('b')
    a.see('table', [1, 1, 0.4], 1.0, size=(1.0, 1.0, 0.6))
    a.see('mug', [1, 1, 0.75], 2.0)
    sync(a, b)
    mugs = b.objects('mug')
    assert list(mugs) == [mid for mid in a.objects('mug')]
    (mug,) = mugs.values()
    assert mug.id.endswith('-a') and mug.status == 'confirmed'
    np.testing.assert_allclose(mug.position, a.objects('mug')[mug.id].position)
    table = next(iter(b.objects('table')))
    assert (table, 'on') in b.ltm.graph.out_edges(mug.id)  # the relation came along
    assert [h.kind for h in b.ltm.history(mug.id)][:1] == ['created']
    # B's answers and B's timeline know it too.
    assert [n.id for n in b.ltm.by_label('mug')] == [mug.id]
    assert b.ltm.as_of(mug.last_seen + 1).get(mug.id) is not None


def test_ids_never_collide_and_survive_a_restart(fleet, pg_dsn):
    a, b = fleet('a'), fleet('b')
    a.see('mug', [1, 1, 0.75], 1.0)
    b.see('book', [3, 1, 0.75], 1.0)
    sync(a, b)
    ids = set(a.objects()) | set(b.objects())
    assert len(ids) == 2 and set(a.objects()) == set(b.objects()) == ids
    a.close()
    again = Robot(pg_dsn, 'a')
    try:
        assert set(again.objects()) == ids
        again.see('cup', [5, 1, 0.75], 3.0)
        new = set(again.objects()) - ids
        assert len(new) == 1 and new.pop() not in ids  # the counter went on, not back
    finally:
        again.close()


def test_a_restart_mints_past_ids_published_but_never_stored(fleet, pg_dsn):
    # kill -9 with writes queued: ids the robot gave out (and published) never reached
    # the store, so the store's counter is behind them; each start mints from its own
    # range instead.
    a = fleet('a')
    a.see('mug', [1, 1, 0.75], 1.0)
    stored = a.ltm.graph.id_counter
    a.ltm.graph.id_counter += 5  # five ids given out whose writes were lost
    lost = {f'o{stored + k:06d}-a' for k in range(1, 6)}
    a.close()
    again = Robot(pg_dsn, 'a')
    try:
        assert again.ltm.graph.id_counter >= BOOT_ID_STRIDE
        again.see('cup', [5, 1, 0.75], 3.0)
        (new,) = set(again.objects()) - {n for n in again.objects() if n.startswith('o0')}
        assert new not in lost and new.endswith('-a')
    finally:
        again.close()


def test_newer_evidence_wins_whoever_writes_first(fleet, pg_dsn):
    a, b = fleet('a'), fleet('b')
    a.see('apple', [1, 1, 0.8], 1.0)
    sync(a, b)
    (apple,) = a.objects('apple')
    # B saw it move to the fridge at t=20 and writes first; A saw it on the counter at
    # t=15 (a late report) and writes second: the fridge wins, in the store and in A.
    b.ltm.record_state_change(StateChange('apple', 20.0, apple, position=(4.0, 2.0, 1.0),
                                          changed=['position']))
    b.store.flush()
    a.store.sync_now()  # A already knows of the fridge when the late report comes in
    np.testing.assert_allclose(a.ltm.get(apple).position, [4.0, 2.0, 1.0])
    a.ltm.record_state_change(StateChange('apple', 15.0, apple, position=(1.5, 1.0, 0.8),
                                          changed=['position']))
    sync(a, b)
    for r in (a, b):
        np.testing.assert_allclose(r.ltm.get(apple).position, [4.0, 2.0, 1.0])
    version, robot, evidence, deleted, _ = stored(pg_dsn, apple)
    assert (robot, evidence, deleted) == ('b', 20.0, False)


def test_missing_beats_an_older_sighting_not_a_newer_one(fleet):
    a, b = fleet('a'), fleet('b')
    a.see('keys', [1, 1, 0.8], 1.0)
    sync(a, b)
    (keys,) = a.objects('keys')
    node = b.ltm.get(keys)
    node.status, node.confidence, node.first_absent = 'absent', 0.0, 30.0
    b.ltm.graph.touch(keys)
    b.ltm._commit(30.0)
    a.ltm.record_state_change(StateChange('keys', 25.0, keys, position=(1, 1, 0.8),
                                          changed=['position']))  # older: loses
    sync(a, b)
    assert a.ltm.get(keys).status == b.ltm.get(keys).status == 'absent'
    a.ltm.record_state_change(StateChange('keys', 40.0, keys, position=(2, 2, 0.8),
                                          changed=['position']))  # newer: wins
    sync(a, b)
    assert a.ltm.get(keys).status == b.ltm.get(keys).status == 'confirmed'
    np.testing.assert_allclose(b.ltm.get(keys).position, [2, 2, 0.8])


def test_both_robots_fusing_one_thing_converge_on_the_smaller_id(fleet):
    a, b = fleet('a'), fleet('b')
    a.see('sofa', [2, 2, 0.4], 1.0, size=(1.8, 0.8, 0.8))
    # B's sofa is the better observed: by observations alone B's id would survive.
    b.see('sofa', [2.02, 2, 0.4], 1.5, size=(1.8, 0.8, 0.8), times=6)
    sync(a, b)
    assert len(a.objects('sofa')) == len(b.objects('sofa')) == 2  # copies, not yet merged
    for r in (a, b):
        r.ltm.merge_duplicates()
    sync(a, b)
    assert set(a.objects('sofa')) == set(b.objects('sofa'))
    (survivor,) = a.objects('sofa')
    assert survivor == min(survivor, *b.ltm.graph.merged_into)  # the smaller id survived
    assert a.ltm.get(survivor).observations == b.ltm.get(survivor).observations


def test_a_merge_cycle_is_refused_and_nothing_is_lost(fleet):
    a, b = fleet('a'), fleet('b')
    a.see('chair', [1, 3, 0.4], 1.0, size=(0.5, 0.5, 0.9))
    b.see('chair', [1, 3.02, 0.4], 1.2, size=(0.5, 0.5, 0.9))
    sync(a, b)
    x, y = sorted(a.objects('chair'))
    # A folds y into x; B (against the rule, as an older build would) folds x into y.
    a.ltm.fuser.merge_nodes(a.ltm.get(x), a.ltm.get(y))
    a.ltm._commit()
    b.ltm.fuser.merge_nodes(b.ltm.get(y), b.ltm.get(x))
    b.ltm._commit()
    sync(a, b)
    assert set(a.objects('chair')) == set(b.objects('chair')) == {x}


def test_an_update_to_a_node_merged_away_is_folded_into_the_survivor(fleet):
    a, b = fleet('a'), fleet('b')
    a.see('lamp', [4, 4, 1.0], 1.0, size=(0.3, 0.3, 0.6))
    b.see('lamp', [4.01, 4, 1.0], 1.2, size=(0.3, 0.3, 0.6))
    sync(a, b)
    keep, drop = sorted(a.objects('lamp'))
    a.ltm.merge_duplicates()
    a.store.flush()
    # Meanwhile B turned the dropped lamp on (it has not heard of the merge yet).
    b.ltm.record_state_change(StateChange('lamp', 50.0, drop, states={'on': True},
                                          changed=['on']))
    sync(a, b)
    for r in (a, b):
        assert set(r.objects('lamp')) == {keep}
        assert r.ltm.get(keep).states.get('on') is True
        assert r.ltm.graph.resolve(drop) == keep


def test_concurrent_writers_lose_no_update_and_apply_none_twice(fleet, pg_dsn):
    a, b = fleet('a'), fleet('b')
    a.see('cup', [1, 1, 0.8], 1.0)
    sync(a, b)
    (cup,) = a.objects('cup')
    a.store.start()
    b.store.start()
    stamps = {'a': [], 'b': []}

    def writer(robot: Robot, offset: float) -> None:
        for k in range(40):
            stamp = 100.0 + 2 * k + offset
            robot.ltm.record_state_change(StateChange(
                'cup', stamp, cup, position=(1 + 0.01 * k, 1, 0.8), changed=['position']))
            stamps[robot.store.robot_id].append(stamp)
            time.sleep(0.002)
    threads = [threading.Thread(target=writer, args=(r, off))
               for r, off in ((a, 0.0), (b, 1.0))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert a.store.flush() and b.store.flush()
    deadline = time.monotonic() + 10
    last = max(stamps['b'])  # B's last write has the newest evidence of all
    while time.monotonic() < deadline and a.ltm.get(cup).last_seen != last:
        time.sleep(0.05)
    version, robot, evidence, _, _ = stored(pg_dsn, cup)
    assert (robot, evidence) == ('b', last)
    assert a.ltm.get(cup).last_seen == b.ltm.get(cup).last_seen == last
    np.testing.assert_allclose(a.ltm.get(cup).position, b.ltm.get(cup).position)
    for r in (a, b):  # each stored version applied at most once
        assert len(r.applied) == len(set(r.applied))
    assert a.store.rejected_batches == b.store.rejected_batches == 0


def test_listener_brings_a_change_within_a_poll(pg_dsn):
    a = RobotMemory(store=PostgresStore(pg_dsn, 'a', poll_s=5.0), read_replica=True)
    b = RobotMemory(store=PostgresStore(pg_dsn, 'b', poll_s=5.0), read_replica=True)
    try:
        for k in range(3):
            a.observe([obs('remote', [2, 2, 0.5], stamp=1.0 + k, seed=k)])
        t0 = time.monotonic()
        hits = []
        while not hits and time.monotonic() - t0 < 4.0:  # the poll is 5 s: NOTIFY it is
            hits = b.query(ObjectQuery(label='remote'))
            time.sleep(0.01)
        assert hits and hits[0].node.id.endswith('-a')
        delta = b.take_delta()
        assert delta is not None and hits[0].node.id in delta.changed
    finally:
        a.close()
        b.close()


def test_shared_memory_refuses_reset_and_load(pg_dsn, tmp_path):
    mem = RobotMemory(store=PostgresStore(pg_dsn, 'a'))
    try:
        with pytest.raises(ValueError, match='other robots share'):
            mem.reset()
        with pytest.raises(ValueError, match='other robots share'):
            mem.load(tmp_path / 'x.json')
    finally:
        mem.close()


def test_schema_is_versioned_and_a_newer_one_refused(pg_dsn):
    PostgresStore(pg_dsn, 'a').close()
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute('SELECT max(version) FROM em_schema').fetchone()[0] == \
            PG_SCHEMA_VERSION
        conn.execute('INSERT INTO em_schema VALUES (%s)', (PG_SCHEMA_VERSION + 7,))
    with pytest.raises(PostgresSchemaError, match=f'version {PG_SCHEMA_VERSION + 7}'):
        PostgresStore(pg_dsn, 'a')


def test_bad_robot_id_and_passwords_never_logged(pg_dsn, caplog):
    with pytest.raises(ValueError, match='robot_id'):
        PostgresStore(pg_dsn, 'a b; drop')
    dsn = 'host=127.0.0.1 port=1 dbname=x user=u password=hunter2secret'
    assert 'hunter2secret' not in safe_dsn(dsn) and 'password=***' in safe_dsn(dsn)
    assert 'hunter2secret' not in safe_dsn('postgresql://u:hunter2secret@127.0.0.1:1/x')
    caplog.set_level(logging.DEBUG)
    with pytest.raises(psycopg.OperationalError):
        PostgresStore(dsn, 'a', connect_timeout_s=1)
    assert 'hunter2secret' not in caplog.text


def test_write_rule_ties_go_to_the_row_s_own_writer():
    assert write_wins(2.0, 'b', 1.0, 'a') and not write_wins(1.0, 'a', 2.0, 'b')
    assert write_wins(1.0, 'a', 1.0, 'a')  # a robot rewrites its own row
    assert not write_wins(1.0, 'a', 1.0, 'b') and not write_wins(1.0, 'b', 1.0, 'a')
