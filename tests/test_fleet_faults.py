"""Faults of a fleet memory on a real PostgreSQL server: outages, server crashes, kill -9.

Each test gets its own database on the session's private server (`pg_dsn`). Robots are
`RobotMemory`s on `PostgresStore`s with their threads running (as the memory node runs
them), in this process or, where a robot is killed, `scripted_robot` child processes whose
update logs `memory_nodes.fleet.faults.audit` checks against the store.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from memory_nodes.fleet.faults import (
    LogSegment,
    RobotProcess,
    audit,
    converge,
    differences,
    read_log,
    store_nodes,
)
from memory_nodes.fleet.scripted_robot import box_points
from memory_nodes.memory.observation import ObjectObservation
from memory_nodes.memory.postgres_store import PostgresStore
from memory_nodes.memory.robot_memory import ObjectQuery, RobotMemory
from memory_nodes.memory.state_change import StateChange
from tests.test_fleet_store import Robot, sync


def see(mem: RobotMemory, label: str, pos, stamp: float) -> str:
    """Two frames of one object (a new one is confirmed); its id."""
    report = None
    for k in range(2):
        report = mem.observe([ObjectObservation(label, 0.9, box_points(pos, (0.12,) * 3, k),
                                                stamp + 0.01 * k)])
    return report.associations[0]


def wait_until(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def confirmed(mem: RobotMemory) -> dict:
    with mem.lock:
        return {n.id: (n.label, tuple(np.round(n.position, 4)), n.status)
                for n in mem.ltm.graph.nodes.values()
                if n.layer == 'object' and n.status == 'confirmed'}


@pytest.fixture
def robots(pg_dsn):
    made: list[RobotMemory] = []

    def make(robot_id: str) -> RobotMemory:
        made.append(RobotMemory(store=PostgresStore(pg_dsn, robot_id, poll_s=0.2,
                                                    retry_s=0.3), read_replica=True))
        return made[-1]
    yield make
    for mem in made:
        mem.close()


def test_an_outage_queues_writes_serves_queries_and_converges(robots, pg_server, pg_dsn):
    a, b = robots('a'), robots('b')
    first = see(a, 'mug', [1, 1, 0.8], 10.0)
    assert wait_until(lambda: b.query(ObjectQuery(label='mug')))
    pg_server.stop()
    try:
        # The server is gone: A keeps fusing and answering from its own graph.
        ids = [see(a, label, [2 + k, 1, 0.8], 20.0 + k)
               for k, label in enumerate(('book', 'apple', 'keys'))]
        a.record(StateChange('mug', 30.0, first, position=(1.5, 2.0, 0.8),
                             changed=['position']))
        assert [h.node.id for h in a.query(ObjectQuery(label='keys'))] == [ids[2]]
        assert b.query(ObjectQuery(label='mug'))  # B too
        store = a.shared_store
        # The cause is named: first the server's shutdown, then its socket is gone.
        assert wait_until(lambda: 'No such file' in store.write_error, 10.0), \
            store.write_error
        assert store.pending_writes > 0
        assert 'OperationalError' in store.write_error and 'socket' in store.write_error
        assert a.stats()['ltm']['database']['pending_writes'] == store.pending_writes
    finally:
        pg_server.start()
    assert store.flush(30.0) and store.write_error == ''
    assert wait_until(lambda: confirmed(b) == confirmed(a), 15.0), \
        differences(confirmed(a), confirmed(b))
    rows = store_nodes(pg_dsn)
    for nid in [first, *ids]:  # 0 lost: every update is in the store
        assert nid in rows and not rows[nid]['deleted']
    assert rows[first]['evidence'] == 30.0 and rows[first]['position'][:2] == [1.5, 2.0]
    np.testing.assert_allclose(b.ltm.get(first).position, [1.5, 2.0, 0.8])


def test_a_server_crash_mid_writes_loses_no_acknowledged_update(robots, pg_server, pg_dsn):
    a = robots('a')
    store = a.shared_store
    made: dict[str, float] = {}
    for k in range(60):
        made[see(a, 'cup' if k % 2 else 'plate', [0.5 * k, 3, 0.8], 100.0 + k)] = 100.0 + k
        if k == 29:
            assert store.flush(10.0)  # the first 30 are acknowledged
            acked = dict(made)
        if k == 39:  # writes in flight: SIGKILL of the postmaster and every backend
            pg_server.kill()
            pg_server.start()  # WAL replay
    assert store.flush(30.0)
    rows = store_nodes(pg_dsn)
    assert all(nid in rows and abs(rows[nid]['first_seen'] - t) < 1e-6
               for nid, t in acked.items())
    # The robot lived on, so what it still had queued at the crash was written too.
    assert {nid for nid, r in rows.items() if r['status'] == 'confirmed'} == set(made)
    assert store.stats()['rejected_batches'] == 0


def test_a_robot_killed_and_restarted_reloads_and_uses_fresh_ids(pg_dsn, tmp_path, ros_env):
    a = RobotProcess(pg_dsn, 'a', tmp_path, poll_s=0.2, env=ros_env)
    b = RobotProcess(pg_dsn, 'b', tmp_path, poll_s=0.2, env=ros_env)
    again = None
    try:
        first = LogSegment(tmp_path / 'a0.log', killed=True)
        a.request('updates', n=400, log=str(first.path), seed=1, x0=0.0, period_s=0.01)
        b.request('updates', n=60, log=str(tmp_path / 'b0.log'), seed=2, x0=25.0)
        # Killed once it has written 40 updates and the store acknowledged some of them
        # (waiting on the count alone raced the first acknowledgement on a busy machine).
        assert wait_until(lambda: len(read_log(first.path)[0]) >= 40
                          and read_log(first.path)[1] >= 0, 60.0)
        a.kill9()
        updates, ack = read_log(first.path)
        assert ack >= 0
        acked_ids = {u['id'] for u in updates if u['kind'] == 'new' and u['k'] <= ack}
        again = RobotProcess(pg_dsn, 'a', tmp_path, poll_s=0.2, env=ros_env)
        loaded = again.request('dump')['objects']
        assert acked_ids <= set(loaded)  # every acknowledged object is back
        second = LogSegment(tmp_path / 'a1.log')
        again.request('updates', n=20, log=str(second.path), seed=3, x0=50.0)
        assert again.request('wait_updates')['failure'] == ''
        assert b.request('wait_updates')['failure'] == ''
        new_ids = {u['id'] for u in read_log(second.path)[0] if u['kind'] == 'new'}
        assert new_ids and not new_ids & {u['id'] for u in updates}  # no id reused
        ok, dumps, _ = converge([again, b], pg_dsn, timeout=20.0)
        assert ok, differences(dumps[0], dumps[1])
        result = audit([first, second, LogSegment(tmp_path / 'b0.log')], pg_dsn, dumps)
        assert result.updates > 80
        assert result.lost_updates == 0, result.lost[:3]
        assert result.queued_lost == [] or all(u['k'] > ack for u in result.queued_lost)
    finally:
        for robot in (again, b):
            if robot is not None:
                robot.stop()


def test_both_robots_writing_one_object_during_an_outage_converge_on_newer_evidence(
        pg_server, pg_dsn, tmp_path, ros_env):
    robots = [RobotProcess(pg_dsn, rid, tmp_path, poll_s=0.2, env=ros_env)
              for rid in ('a', 'b')]
    try:
        logs = [LogSegment(tmp_path / f'{r.robot_id}.log') for r in robots]
        for r, seg, x0 in zip(robots, logs, (0.0, 25.0), strict=True):
            r.request('updates', n=80, log=str(seg.path), seed=ord(r.robot_id), x0=x0,
                      move_every=2)
        time.sleep(0.8)
        pg_server.pause(2.0)
        for r in robots:
            assert r.request('wait_updates', timeout=120)['failure'] == ''
        ok, dumps, _ = converge(robots, pg_dsn, timeout=20.0)
        assert ok, differences(dumps[0], dumps[1])
        result = audit(logs, pg_dsn, dumps)
        assert result.lost_updates == 0, result.lost[:3]
        # Both robots moved the same objects: the store kept the newest move of each.
        moves: dict[str, list[dict]] = {}
        for seg in logs:
            for u in read_log(seg.path)[0]:
                if u['kind'] == 'move':
                    moves.setdefault(u['id'], []).append(u)
        rows = store_nodes(pg_dsn)
        contested = [nid for nid, ms in moves.items() if len({m['robot'] for m in ms}) == 2]
        assert contested, 'the robots never moved the same object'
        for nid in contested:
            newest = max(moves[nid], key=lambda m: m['stamp'])
            assert rows[nid]['evidence'] >= newest['stamp'] - 1e-6
            if rows[nid]['evidence'] == pytest.approx(newest['stamp'], abs=1e-6):
                assert rows[nid]['position'] == pytest.approx(newest['pos'], abs=2e-3)
                assert dumps[0][nid]['position'] == pytest.approx(newest['pos'], abs=2e-3)
        assert result.superseded > 0
    finally:
        for r in robots:
            r.stop()


def test_a_row_fetched_before_the_robot_s_newer_write_is_not_applied_over_it(pg_dsn):
    """Regression: the listener fetched B's older move, then A's writer committed A's newer
    move (clearing its pending evidence), then the old row was applied: A's graph went
    back to B's move while the store kept A's, and A never heard otherwise (its own row)."""
    a, b = Robot(pg_dsn, 'a'), Robot(pg_dsn, 'b')
    try:
        a.see('apple', [1, 1, 0.8], 1.0)
        sync(a, b)
        (apple,) = a.objects('apple')
        b.ltm.record_state_change(StateChange('apple', 20.0, apple, position=(4.0, 2.0, 1.0),
                                              changed=['position']))
        b.store.flush()
        a.ltm.record_state_change(StateChange('apple', 30.0, apple, position=(2.0, 2.0, 0.8),
                                              changed=['position']))  # queued: newer
        apply = a.store.on_remote

        def writer_commits_first(batch):  # noqa: ANN001, ANN202 - the writer thread's turn
            a.store.flush()
            apply(batch)
        a.store.on_remote = writer_commits_first
        a.store.sync_now()
        a.store.on_remote = apply
        np.testing.assert_allclose(a.ltm.get(apple).position, [2.0, 2.0, 0.8])
        sync(a, b)
        for r in (a, b):
            np.testing.assert_allclose(r.ltm.get(apple).position, [2.0, 2.0, 0.8])
    finally:
        a.close()
        b.close()


def test_an_adoption_does_not_undo_a_newer_queued_write(pg_dsn):
    """Regression: A's older queued move lost to B's and was adopted while A's newer move
    was still queued; the adoption overwrote A's graph and A's newer move then won in the
    store: A's graph and the store disagreed for good."""
    a, b = Robot(pg_dsn, 'a'), Robot(pg_dsn, 'b')
    try:
        a.see('keys', [1, 1, 0.8], 1.0)
        sync(a, b)
        (keys,) = a.objects('keys')
        b.ltm.record_state_change(StateChange('keys', 20.0, keys, position=(4.0, 2.0, 0.8),
                                              changed=['position']))
        b.store.flush()
        a.store._one_at_a_time = True  # one batch per transaction: the first one loses
        a.ltm.record_state_change(StateChange('keys', 15.0, keys, position=(3.0, 3.0, 0.8),
                                              changed=['position']))  # loses to B's
        a.ltm.record_state_change(StateChange('keys', 25.0, keys, position=(2.0, 2.0, 0.8),
                                              changed=['position']))  # wins
        a.store._write_next()  # the older move loses and is adopted, the newer is queued
        np.testing.assert_allclose(a.ltm.get(keys).position, [2.0, 2.0, 0.8])
        sync(a, b)
        for r in (a, b):
            np.testing.assert_allclose(r.ltm.get(keys).position, [2.0, 2.0, 0.8])
        assert store_nodes(pg_dsn)[keys]['evidence'] == 25.0
    finally:
        a.close()
        b.close()


def test_fault_logs_survive_a_cut_line(tmp_path):
    log = tmp_path / 'x.log'
    log.write_text(json.dumps({'k': 0, 'kind': 'new', 'id': 'o1-a'}) + '\n'
                   + json.dumps({'ack': 0}) + '\n{"k": 1, "ki')
    updates, ack = read_log(log)
    assert [u['k'] for u in updates] == [0] and ack == 0
