"""Crashes of real node processes over DDS: kill -9 loops, planner mid-task, damaged files.

The short version of `memory_nodes.evaluation.reliability.crash` (which runs 100 cycles).
"""

import os

import pytest

pytestmark = [pytest.mark.ros]


@pytest.fixture(scope='module')
def operator():
    from memory_nodes.evaluation.reliability.crash import Operator

    op = Operator(skill_delay=0.4)
    yield op
    op.close()


@pytest.fixture
def env(ros_env):
    return ros_env


def test_memory_node_serves_a_random_bytes_database(tmp_path, env, operator):
    """Reported: the node exited with sqlite3.DatabaseError, then AttributeError."""
    from memory_nodes.evaluation.reliability.crash import memory_node

    db = tmp_path / 'memory.db'
    junk = os.urandom(32_768)
    db.write_bytes(junk)
    proc = memory_node(db, env)
    try:
        assert proc.wait_for('memory ready', 60.0), proc.output()
        graph = operator.served_graph()
        assert graph is not None
    finally:
        code = proc.stop()
    out = proc.output()
    assert code == 0, out
    assert 'Traceback' not in out and 'AttributeError' not in out
    assert f"memory database '{db}' is damaged" in out and 'NOTHING COULD BE RECOVERED' in out
    kept = list(tmp_path.glob('memory.db.corrupt-*'))
    assert len(kept) == 1 and kept[0].read_bytes() == junk


def test_a_node_that_cannot_open_its_database_exits_cleanly(tmp_path, env):
    """Construction fails partway: one clear line, exit 2, no AttributeError on destroy."""
    from memory_nodes.evaluation.reliability.crash import memory_node

    proc = memory_node(tmp_path, env)  # a directory
    proc.proc.wait(timeout=60)
    proc._reader.join(timeout=5)
    out = proc.output()
    assert proc.proc.returncode == 2, out
    assert 'is a directory' in out and str(tmp_path) in out
    assert 'Traceback' not in out and 'AttributeError' not in out


def test_kill_9_loop_loses_no_confirmed_object(tmp_path, env, operator):
    from memory_nodes.evaluation.reliability.crash import kill_loop

    res = kill_loop(operator, tmp_path, 3, env, seed=1)
    assert res.cycles == 3, res.notes
    assert res.start_failures == 0, res.notes
    assert res.checked_objects > 0
    assert res.lost_confirmed == 0, res.lost_ids
    assert res.committed_not_durable == 0
    assert res.integrity_failures == 0, res.notes
    assert res.false_damage == 0


def test_planner_killed_mid_task_reports_the_goal_lost_and_runs_the_next(
        tmp_path, env, operator):
    from memory_nodes.evaluation.reliability.crash import planner_kill

    res = planner_kill(operator, tmp_path, env)
    assert res.goal_lost_reported, res.notes
    assert res.next_task_ran and res.next_task_skills > 0, res.notes


def test_load_memory_of_damaged_files_answers_an_error_and_keeps_memory(
        tmp_path, env, operator):
    from memory_nodes.evaluation.reliability.crash import load_memory_cases

    cases = load_memory_cases(operator, tmp_path, env)
    assert len(cases) == 4
    assert all(c.ok for c in cases), [(c.name, c.detail) for c in cases if not c.ok]


def test_full_disk_while_fusing_is_logged_served_and_resumed(tmp_path, env, operator):
    from memory_nodes.evaluation.reliability.crash import full_disk_case

    case = full_disk_case(operator, tmp_path / 'disk', env)
    assert case.ok, case.detail
