"""`embodied-memory memory at|changes` on saved SQLite and JSON memory files."""

import json
import sqlite3

import pytest
from test_ltm_timeline import kitchen_memory

from memory_nodes.commands.main import main
from memory_nodes.memory.state_change import StateChange


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('memory_cli')
    mem = kitchen_memory()
    mug = mem.by_label('mug')[0].id
    mem.record_state_change(StateChange('mug', 10.0, object_id=mug, position=(7, 2, 0.5),
                                        states={'dirty': True}))
    mem.save(tmp / 'memory.db')
    mem.save(tmp / 'memory.json.gz')
    return tmp, mug


@pytest.mark.parametrize('name', ['memory.db', 'memory.json.gz'])
def test_at_prints_the_past_and_json(saved, name, capsys):
    tmp, mug = saved
    assert main(['memory', 'at', '5', '--file', str(tmp / name)]) == 0
    out = capsys.readouterr().out
    assert 'as of 5.000: 2 objects' in out
    assert f'{mug}  mug    confirmed  kitchen  on table' in out
    # ISO-8601 (UTC) is the same stamp as seconds; filters apply to the past graph.
    assert main(['memory', 'at', '1970-01-01T00:00:15Z', '--file', str(tmp / name),
                 '--label', 'Mug', '--room', 'bedroom', '--json']) == 0
    rows = json.loads(capsys.readouterr().out)['objects']
    assert [(r['id'], r['room'], r['position'], r['states']) for r in rows] == [
        (mug, 'bedroom', [7.0, 2.0, 0.5], {'dirty': True})]


def test_changes_table_and_json(saved, capsys):
    tmp, mug = saved
    assert main(['memory', 'changes', '5', '15', '--file', str(tmp / 'memory.db')]) == 0
    out = capsys.readouterr().out
    assert '2 changes between 5.000 and 15.000' in out and 'moved' in out and 'state' in out
    assert main(['memory', 'changes', '0', '20', '--room', 'kitchen', '--json',
                 '--file', str(tmp / 'memory.json.gz')]) == 0
    changes = json.loads(capsys.readouterr().out)['changes']
    # Not believed in at 0, in the bedroom at 20: it appeared (in the kitchen, at 1).
    assert [(c['object_id'], c['kind'], c['stamp']) for c in changes
            if c['object_id'] == mug] == [(mug, 'appeared', 1.0)]


def test_bad_files_and_times_fail_naming_them(saved, tmp_path, capsys):
    tmp, _ = saved
    db = tmp / 'memory.db'
    before = db.read_bytes()
    cases = [
        (['memory', 'at', 'yesterday', '--file', str(db)], "T: 'yesterday'"),
        (['memory', 'changes', '9', '5', '--file', str(db)], 'T2 (5.000) is before T1'),
        (['memory', 'changes', '0', '5', '--room', 'garage', '--file', str(db)],
         "unknown room 'garage'"),
        (['memory', 'at', '5', '--file', str(tmp_path / 'none.db')], 'no memory file'),
    ]
    junk = tmp_path / 'junk.db'
    junk.write_text('not a database')
    cases.append((['memory', 'at', '5', '--file', str(junk)], 'junk.db'))
    broken = tmp_path / 'broken.json'
    broken.write_text('{"schema_version": 2, "nodes": [')
    cases.append((['memory', 'at', '5', '--file', str(broken)], 'broken.json'))
    for argv, words in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert words in err, (argv, err)
    assert db.read_bytes() == before  # reading never changes the file
    conn = sqlite3.connect(db)
    assert conn.execute('SELECT COUNT(*) FROM timeline').fetchone()[0] > 0
    conn.close()
