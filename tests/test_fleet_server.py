"""The private PostgreSQL server (memory_nodes.fleet.server), run for real.

One server serves the session (`pg_server`); the tests that need another configuration
(a TCP port, the CLI) borrow its directory while it is stopped instead of running initdb.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from conftest import ROOT

from memory_nodes.fleet.server import PrivateServer, ServerError, conninfo


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f'/proc/{pid}/fd').iterdir():
        try:
            match = re.fullmatch(r'socket:\[(\d+)\]', os.readlink(fd))
        except OSError:
            continue
        if match:
            inodes.add(match.group(1))
    return inodes


def _decode(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b''.join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def tcp_listeners(pid: int | None = None) -> set[tuple[str, int]]:
    """(address, port) of TCP listening sockets: of process `pid`, or of anyone."""
    inodes = _socket_inodes(pid) if pid is not None else None
    found = set()
    for table in ('tcp', 'tcp6'):
        for line in Path(f'/proc/net/{table}').read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != '0A':  # LISTEN
                continue
            if inodes is not None and fields[9] not in inodes:
                continue
            addr, port = fields[1].rsplit(':', 1)
            found.add((_decode(addr), int(port, 16)))
    return found


def _free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _uid_of(pid: int) -> int:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('Uid:'):
            return int(line.split()[2])  # effective uid
    raise AssertionError(f'no Uid line for {pid}')


def test_server_serves_the_memory_database_over_its_socket(pg_server):
    assert pg_server.running
    with psycopg.connect(pg_server.dsn) as conn:
        user, db, addr, version = conn.execute(
            'SELECT current_user, current_database(), inet_server_addr(), '
            "current_setting('server_version_num')::int").fetchone()
    assert (user, db) == ('embodied', 'memory')
    assert addr is None  # a Unix-socket connection
    assert version >= 150000
    assert f'host={pg_server.socket_dir}' in pg_server.dsn
    assert 'password' not in pg_server.dsn


def test_server_runs_as_an_unprivileged_user_in_a_private_directory(pg_server):
    uid = _uid_of(pg_server.pid)
    assert uid != 0
    if os.geteuid() == 0:
        import pwd

        assert uid == pwd.getpwnam('postgres').pw_uid
    else:
        assert uid == os.geteuid()
    for path in (pg_server.directory, pg_server.socket_dir, pg_server.data_dir):
        st = path.stat()
        assert st.st_uid == uid
        assert stat.S_IMODE(st.st_mode) & 0o077 == 0, f'{path} is open to others'


def test_pg_dsn_is_a_fresh_database_of_its_own(pg_dsn, pg_server):
    with psycopg.connect(pg_dsn) as conn:
        db = conn.execute('SELECT current_database()').fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                              ).fetchone()[0]
        conn.execute('CREATE TABLE mine (x int)')
    assert db.startswith('test_') and db != pg_server.dbname
    assert tables == 0


def test_committed_data_survives_a_restart(pg_dsn, pg_server):
    with psycopg.connect(pg_dsn) as conn:
        conn.execute('CREATE TABLE seen (label text)')
        conn.execute("INSERT INTO seen VALUES ('mug')")
    old_pid = pg_server.pid
    pg_server.restart()
    assert pg_server.running and pg_server.pid != old_pid
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute('SELECT label FROM seen').fetchall() == [('mug',)]


def test_committed_data_survives_a_crash_through_wal_replay(pg_dsn, pg_server):
    with psycopg.connect(pg_dsn) as conn:
        conn.execute('CREATE TABLE seen (label text)')
        conn.execute("INSERT INTO seen VALUES ('apple')")
    pending = psycopg.connect(pg_dsn)  # a transaction still open at the crash
    pending.execute("INSERT INTO seen VALUES ('never committed')")
    old_pid = pg_server.pid
    pg_server.kill()
    assert not pg_server.running
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(pg_dsn, connect_timeout=2)
    pending.close()
    log_before = pg_server.log_path.stat().st_size
    pg_server.start()
    assert pg_server.pid != old_pid
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute('SELECT label FROM seen').fetchall() == [('apple',)]
    with open(pg_server.log_path) as fh:
        fh.seek(log_before)
        log = fh.read()
    assert 'not properly shut down; automatic recovery in progress' in log
    assert 'redo' in log


def test_pause_cuts_connections_and_serves_again_after(pg_dsn, pg_server):
    before = psycopg.connect(pg_dsn, autocommit=True)
    pause = threading.Thread(target=pg_server.pause, args=(1.0,))
    t0 = time.monotonic()
    pause.start()
    try:
        deadline = time.monotonic() + 5
        while pg_server.running and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not pg_server.running, 'the server did not stop for the pause'
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(pg_dsn, connect_timeout=2)
        with pytest.raises(psycopg.OperationalError):
            before.execute('SELECT 1')  # its session was cut
    finally:
        pause.join(30)
        before.close()
    assert time.monotonic() - t0 >= 1.0
    assert pg_server.running
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute('SELECT 1').fetchone() == (1,)


def test_no_tcp_listener_without_a_port(pg_server):
    assert pg_server.port is None
    assert tcp_listeners(pg_server.pid) == set()
    others = {port for _, port in tcp_listeners()}
    if pg_server.socket_port not in others:  # nobody else's server answers there
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(conninfo(host='127.0.0.1', port=pg_server.socket_port,
                                     dbname=pg_server.dbname, user=pg_server.user),
                            connect_timeout=2)


def test_a_port_listens_on_loopback_only_and_needs_the_passfile(pg_server):
    port = _free_loopback_port()
    pg_server.stop()
    with_port = PrivateServer(pg_server.directory, port=port, fsync=False)
    try:
        with_port.start()
        assert tcp_listeners(with_port.pid) == {('127.0.0.1', port)}
        assert 'password' not in with_port.tcp_dsn
        assert stat.S_IMODE(with_port.passfile.stat().st_mode) == 0o600
        with psycopg.connect(with_port.tcp_dsn) as conn:
            addr, user = conn.execute('SELECT inet_server_addr(), current_user').fetchone()
        assert (str(addr), user) == ('127.0.0.1', 'embodied')
        with psycopg.connect(with_port.dsn) as conn:  # the socket still serves
            assert conn.execute('SELECT inet_server_addr()').fetchone() == (None,)
        no_password = conninfo(host='127.0.0.1', port=port, dbname='memory', user='embodied',
                               passfile=pg_server.directory / 'absent')
        with pytest.raises(psycopg.OperationalError, match='password'):
            psycopg.connect(no_password, connect_timeout=2)
    finally:
        with_port.stop()
        pg_server.start()
    assert tcp_listeners(pg_server.pid) == set()


def test_a_file_where_the_directory_should_be_is_named(tmp_path):
    blocker = tmp_path / 'server'
    blocker.write_text('not a directory')
    with pytest.raises(ServerError, match=re.escape(str(blocker))):
        PrivateServer(blocker).start()
    inner = tmp_path / 'other'
    inner.mkdir()
    (inner / 'data').write_text('a file')
    with pytest.raises(ServerError, match=re.escape(str(inner / 'data'))):
        PrivateServer(inner).start()


def test_a_socket_path_too_long_for_unix_is_refused(tmp_path):
    deep = tmp_path / ('d' * 120)
    with pytest.raises(ServerError, match='longer than 107 bytes'):
        PrivateServer(deep).start()
    assert not deep.exists()


def test_a_second_server_on_a_running_directory_is_refused(pg_server):
    pg_server.start()  # idempotent for its owner
    where = re.escape(str(pg_server.data_dir))
    with pytest.raises(ServerError, match=rf'already runs in {where}'):
        PrivateServer(pg_server.directory).start()
    assert pg_server.running


def test_fleet_server_command_serves_until_interrupted(pg_server, ros_env):
    pg_server.stop()
    proc = subprocess.Popen(
        [sys.executable, '-m', 'memory_nodes.commands.main', 'fleet-server',
         str(pg_server.directory)], cwd=ROOT, env=ros_env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        lines = []
        deadline = time.monotonic() + 60
        dsn = None
        while dsn is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f'fleet-server ended early: {"".join(lines)}'
            lines.append(line)
            if line.startswith('dsn: '):
                dsn = line[len('dsn: '):].strip()
        assert dsn == pg_server.dsn
        with psycopg.connect(dsn) as conn:
            assert conn.execute('SELECT current_database()').fetchone() == ('memory',)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, ''.join(lines) + rest
        assert 'fleet-server: stopped' in rest
        assert not pg_server.running
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        pg_server.start()
