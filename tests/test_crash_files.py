"""Damaged, unwritable and full memory files (real SQLite files): named, kept, recovered."""

import gzip
import json
import os
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from memory_nodes.evaluation.reliability.crash import (
    committed_objects,
    frame_objects,
    make_read_only,
    object_at,
    synthetic_memory,
)
from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import ObjectObservation
from memory_nodes.memory.recovery import MemoryFileError
from memory_nodes.memory.robot_memory import RobotMemory


def _cfg(**persistence):
    cfg = LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    cfg.persistence.checkpoint_interval_s = 0.0
    for key, value in persistence.items():
        setattr(cfg.persistence, key, value)
    return cfg


def _frames(mem, frames, start=0):
    rng = np.random.default_rng(start)
    for f in range(start, start + frames):
        mem.integrate([ObjectObservation(object_at(k)[0], 0.9, np.asarray(object_at(k)[1])
                                         + rng.uniform(-0.04, 0.04, (24, 3)), 1.0 + f)
                       for k in frame_objects(f)])


def _ids(mem, layer='object'):
    """Confirmed nodes of `layer` (tentative ones are not written: not yet knowledge)."""
    return {n.id for n in mem.graph.nodes.values()
            if n.layer == layer and n.status == 'confirmed'}


def test_random_bytes_database_is_moved_aside_and_reported(tmp_path):
    db = tmp_path / 'memory.db'
    junk = os.urandom(40_000)
    db.write_bytes(junk)
    mem = LongTermMemory(_cfg(), db_path=db)  # raised sqlite3.DatabaseError before
    report = mem.open_report
    assert report.state == 'recovered'
    assert report.moved_to.name.startswith('memory.db.corrupt-')
    assert report.moved_to.read_bytes() == junk  # kept as found
    text = report.message()
    assert str(db) in text and 'not a SQLite database' in text and 'EMPTY' in text
    _frames(mem, 4)
    assert _ids(mem)
    mem.close()
    again = LongTermMemory(_cfg(), db_path=db)  # the fresh file is healthy and kept
    assert again.open_report.state == 'ok' and _ids(again) == _ids(mem)
    again.close()


def test_a_database_cut_to_half_recovers_the_rows_that_read(tmp_path):
    src = tmp_path / 'full.db'
    synthetic_memory(src, frames=60)
    original = LongTermMemory.load(src, _cfg())
    data = src.read_bytes()
    db = tmp_path / 'memory.db'
    db.write_bytes(data[:len(data) // 2])
    mem = LongTermMemory(_cfg(), db_path=db)
    report = mem.open_report
    assert report.state == 'recovered' and 'damaged file' in report.source
    recovered = _ids(mem)
    assert len(recovered) >= 10, report.message()
    assert recovered <= _ids(original)
    for nid in recovered:  # what is recovered is what was there
        assert mem.graph.nodes[nid].label == original.graph.nodes[nid].label
        assert np.allclose(mem.graph.nodes[nid].position, original.graph.nodes[nid].position)
    # Ids are never reused, even when rows are lost.
    assert mem.graph.id_counter >= original.graph.id_counter
    assert report.moved_to.read_bytes() == data[:len(data) // 2]
    mem.close()


def test_the_newest_snapshot_next_to_a_damaged_database_is_served(tmp_path):
    src = tmp_path / 'source.db'
    synthetic_memory(src, frames=30)
    snap = LongTermMemory.load(src, _cfg())
    home = tmp_path / 'robot'
    home.mkdir()
    (home / 'old.json').write_text('{"schema_version": 2, "nodes": [')  # truncated: skipped
    snap.save(home / 'memory_snapshot.json.gz')
    os.utime(home / 'old.json', (1, 1))
    db = home / 'memory.db'
    db.write_bytes(os.urandom(10_000))
    mem = LongTermMemory(_cfg(), db_path=db)
    report = mem.open_report
    assert report.state == 'recovered'
    assert 'memory_snapshot.json.gz' in report.source
    assert _ids(mem) == _ids(snap)
    mem.close()


def test_a_read_only_directory_serves_the_memory_from_ram(tmp_path):
    home = tmp_path / 'ro'
    home.mkdir()
    synthetic_memory(home / 'memory.db', frames=20)
    before = (home / 'memory.db').read_bytes()
    undo = make_read_only(home)
    if undo is None:
        pytest.skip('cannot make a read-only directory here')
    try:
        mem = RobotMemory(_cfg(), db_path=home / 'memory.db')
        report = mem.open_report
        assert report.state == 'read_only' and report.nodes > 0
        assert 'NOT SAVED' in report.message() and str(home / 'memory.db') in report.message()
        assert mem.ltm.store is None
        _frames(mem.ltm, 3, start=100)  # keeps working in RAM
        mem.reset()  # in RAM too: nothing to write
        mem.close()
    finally:
        undo()
    assert (home / 'memory.db').read_bytes() == before


def test_a_full_disk_keeps_changes_pending_and_resumes(tmp_path, caplog):
    db = tmp_path / 'memory.db'
    mem = LongTermMemory(_cfg(), db_path=db)
    _frames(mem, 5)
    committed = committed_objects(db)
    pages = mem.store.conn.execute('PRAGMA page_count').fetchone()[0]
    mem.store.conn.execute(f'PRAGMA max_page_count={pages}')
    with caplog.at_level('ERROR'):
        _frames(mem, 40, start=5)  # raised sqlite3.OperationalError (full) before
    assert 'SQLITE_FULL' in mem.store.write_error
    assert any('cannot write the memory database' in r.message and str(db) in r.message
               for r in caplog.records)
    assert len(_ids(mem)) > len(committed)  # the graph keeps serving what it saw
    assert committed <= committed_objects(db)  # nothing committed lost
    assert mem.stats()['database']['failed_commits'] > 0
    mem.store.conn.execute('PRAGMA max_page_count=1000000')  # space returns
    _frames(mem, 1, start=45)
    assert mem.store.write_error == ''
    assert {n.id for n in mem.graph.nodes.values()
            if n.layer == 'object' and n.status == 'confirmed'} <= committed_objects(db)
    mem.close()


def test_max_size_mb_bounds_the_database(tmp_path):
    mem = LongTermMemory(_cfg(max_size_mb=0.05), db_path=tmp_path / 'memory.db')
    _frames(mem, 60)
    assert 'SQLITE_FULL' in mem.store.write_error
    assert (tmp_path / 'memory.db').stat().st_size <= 0.05e6 + 4096
    mem.close()


def _user_files(tmp_path):
    src = tmp_path / 'source.db'
    synthetic_memory(src, frames=20)
    LongTermMemory.load(src, _cfg()).save(tmp_path / 'good.json.gz')
    good = gzip.decompress((tmp_path / 'good.json.gz').read_bytes())
    files = {
        'truncated.json.gz': (tmp_path / 'good.json.gz').read_bytes()[:1500],
        'truncated.json': good[:len(good) // 2],
        'wrong_types.json': json.dumps({'schema_version': 2, 'nodes': [
            {'id': 7, 'layer': 'object', 'label': None, 'position': 'here'}],
            'edges': []}).encode(),
        'not_an_object.json': b'[1, 2, 3]',
        'random.db': os.urandom(8192),
    }
    newer = tmp_path / 'newer.db'
    conn = sqlite3.connect(newer)
    conn.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                       "INSERT INTO meta VALUES ('schema_version', '99');")
    conn.close()
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return list(files) + ['newer.db']


def test_damaged_user_files_fail_naming_file_and_cause_and_change_nothing(tmp_path):
    names = _user_files(tmp_path)
    memory = RobotMemory(_cfg(), db_path=tmp_path / 'memory.db')
    _frames(memory.ltm, 5)
    before = set(memory.ltm.graph.nodes)
    causes = {}
    for name in names:
        path = tmp_path / name
        data = path.read_bytes()
        with pytest.raises(MemoryFileError) as info:  # EOFError, TypeError... escaped before
            memory.load(path)
        assert name in str(info.value)
        causes[name] = info.value.cause
        assert path.read_bytes() == data
        assert not (tmp_path / f'{name}-wal').exists()  # never opened for writing
        assert set(memory.ltm.graph.nodes) == before
    assert 'truncated' in causes['truncated.json.gz']
    assert 'JSON' in causes['truncated.json']
    assert 'wrong type' in causes['wrong_types.json']
    assert 'not a SQLite database' in causes['random.db']
    assert 'schema version 99' in causes['newer.db']
    memory.close()


def test_memory_at_names_the_damaged_file(tmp_path):
    (tmp_path / 'random.db').write_bytes(os.urandom(4096))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, '-m', 'memory_nodes.commands.main', 'memory', 'at',
                          '0', '--file', str(tmp_path / 'random.db')], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2  # the CLI's exit code for a bad argument or file
    assert 'random.db' in run.stderr and 'not a SQLite database' in run.stderr
    assert 'Traceback' not in run.stderr
