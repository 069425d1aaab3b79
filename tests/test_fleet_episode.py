"""The fleet episode, short: robot a puts the remote on the bed, robot b moves it on.

Both robots share one memory through the test's own database on a real PostgreSQL
server, in one simulated home. Robot a explores the kitchen and the bedroom (where the
remote is, and the bed), robot b the bathroom and the living room; b never sees the bed,
so it can only know where the remote is from what a wrote.
"""

from __future__ import annotations

import json
import time

import psycopg
import pytest

from memory_nodes.evaluation.fleet_episode import (
    plot_fleet,
    run_fleet_episode,
    split_rooms,
)
from memory_nodes.memory.postgres_store import PostgresStore
from memory_nodes.memory.robot_memory import RobotMemory
from memory_nodes.memory.state_change import StateChange
from sim.pybullet_sim import PyBulletSimulator
from sim.task_schema import Episode, load_suite
from tests.test_ltm_fusion import obs


@pytest.fixture
def sim():
    simulator = PyBulletSimulator()
    yield simulator
    simulator.close()


def _wait(what, probe, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_a_short_term_fact_another_robot_superseded_is_dropped(pg_dsn):
    """B saw the mug on the table; A then moved it: B's short-term entry must not keep
    sending B's planner to the table (short-term facts come first in its lookups)."""
    a = RobotMemory(store=PostgresStore(pg_dsn, 'a', poll_s=0.1))
    b = RobotMemory(store=PostgresStore(pg_dsn, 'b', poll_s=0.1))
    try:
        for k in range(3):
            b.observe([obs('mug', [1, 1, 0.75], stamp=1.0 + k * 0.1, seed=k)])
        (mug,) = [n.id for n in b.ltm.by_label('mug')]
        assert b.stm.peek(mug) is not None
        b.shared_store.flush()
        _wait('a hears of the mug', lambda: a.ltm.get(mug) is not None)
        a.record(StateChange(label='mug', stamp=5.0, object_id=mug, position=(4.0, 2.0, 0.8),
                             changed=['position'], source='own_action'))
        a.shared_store.flush()
        _wait('b hears that a moved the mug',
              lambda: b.ltm.get(mug).position[0] == pytest.approx(4.0))
        entry = b.stm.peek(mug)
        assert entry is None or entry.change.position[0] == pytest.approx(4.0), entry
        # B's own later sighting is a short-term fact again.
        for k in range(3):
            b.observe([obs('mug', [4.0, 2.0, 0.8], stamp=6.0 + k * 0.1, seed=10 + k)])
        assert b.stm.peek(mug) is not None
    finally:
        a.close()
        b.close()


def test_rooms_are_split_into_contiguous_halves():
    rooms = {'w': (0, 0, 1, 1), 'e': (2, 0, 3, 1), 'mid': (1, 0, 2, 1)}
    assert split_rooms(rooms, ('a', 'b')) == {'a': ['w'], 'b': ['mid', 'e']}
    assert sorted(sum(split_rooms(rooms, ('a', 'b', 'c')).values(), [])) == sorted(rooms)


def test_robot_b_fetches_what_robot_a_put_away(sim, pg_dsn, tmp_path):
    full = load_suite('composite').episodes[0]
    first, follow = full.tasks[0], full.tasks[2]
    assert 'on the bed' in first.instruction and 'you put on the bed' in follow.instruction
    episode = Episode(f'{full.episode_id}-short', full.home, [first, follow])
    lines: list[str] = []
    result = run_fleet_episode(sim, episode, pg_dsn, text_embeddings='hashing',
                               poll_s=0.2, progress=lines.append)

    assert [t.robot for t in result.tasks] == ['a', 'b']  # both robots did tasks
    assert set(result.explored['a']).isdisjoint(result.explored['b'])
    assert 'bedroom' in result.explored['a'] and 'bedroom' not in result.explored['b']
    a_task, b_task = result.tasks
    assert a_task.success, result.record.tasks[0].skill_log
    assert 'RemoteControl_1' in a_task.moved
    # B used the remote A last placed, and knew where it was before acting, from A.
    (handoff,) = [h for h in result.handoffs if h.object_id == 'RemoteControl_1']
    assert (handoff.robot, handoff.placed_by, handoff.placed_in) == \
        ('b', 'a', first.task_id)
    assert handoff.known_before and handoff.memory_error_m <= 0.3
    assert b_task.success, result.record.tasks[1].skill_log
    assert b_task.explorations == 0  # it never searched: the shared memory told it
    # Before acting, b had heard every row a wrote (whether some were still on their way
    # when it began waiting, `rows_behind`, depends on the machine's load: not asserted).
    assert b_task.sync.missing == 0
    assert b_task.sync.wait_ms < 5000
    # Nothing is left queued; both robots' rows are in the server; they agree.
    assert result.pending_writes == 0
    assert all(s['pending_writes'] == 0 and s['failed_commits'] == 0
               for s in result.stores.values())
    with psycopg.connect(pg_dsn) as conn:
        writers = {r for (r,) in conn.execute('SELECT DISTINCT robot_id FROM em_nodes')}
    assert writers == {'a', 'b'}
    assert result.converged, {r: len(ids) for r, ids in result.confirmed.items()}
    assert any('[explore] robot b' in line for line in lines)
    assert any(line.startswith('[task 2/2] robot b') for line in lines)

    doc = json.loads(json.dumps(result.to_json()))
    assert doc['tasks'][1]['robot'] == 'b' and doc['handoffs'][0]['placed_by'] == 'a'
    png = plot_fleet(sim, result, tmp_path / 'fleet.png')
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and png.stat().st_size > 20_000


def test_the_demo_uses_a_given_database_in_a_schema_of_its_own(pg_dsn):
    from memory_nodes.evaluation.fleet_demo import demo_database

    with demo_database(pg_dsn) as (dsn, where):
        assert where.startswith('schema em_fleet_demo_')
        store = PostgresStore(dsn, 'a')
        store.close()
        schema = where.split()[1]
        with psycopg.connect(pg_dsn) as conn:
            tables = {t for (t,) in conn.execute(
                'SELECT table_name FROM information_schema.tables WHERE table_schema = %s',
                (schema,))}
            assert {'em_nodes', 'em_schema'} <= tables
            assert conn.execute("SELECT to_regclass('public.em_nodes')").fetchone()[0] is None
    with psycopg.connect(pg_dsn) as conn:  # dropped afterwards
        assert conn.execute('SELECT count(*) FROM information_schema.schemata WHERE '
                            'schema_name = %s', (schema,)).fetchone()[0] == 0


def test_the_demo_names_the_episodes_a_suite_has(capsys):
    from memory_nodes.commands.main import main
    from sim.task_schema import load_suite

    assert main(['fleet-demo', '--episode', '99', '--dsn', 'host=/nonexistent']) == 2
    last = len(load_suite('composite').episodes) - 1
    assert f'has episodes 0..{last}' in capsys.readouterr().out
