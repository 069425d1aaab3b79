"""A private PostgreSQL server that lives in one directory and listens on no network.

The tests, the fleet demo and the fleet benchmark start and stop their own real server with
it, and a user who has no database administrator can run one for a small fleet
(`embodied-memory fleet-server DIR`). Layout of DIR:

    data/         the cluster (initdb on first use; WAL replay after a crash)
    socket/       the Unix socket (mode 0700: only this user, and root, may connect)
    server.log    the server's log (appended to)
    pgpass        libpq password file for the loopback TCP port (only when a port is given)

Without a port the server listens on its Unix socket only (`listen_addresses=''`); with
one it also listens on 127.0.0.1:PORT and never on any other address. Socket connections
are trusted (the directory's permissions are the access control); TCP connections need the
role's password, generated once and kept in `pgpass`, which `tcp_dsn` names as its
`passfile` so no password is ever part of a DSN or a log line.

PostgreSQL refuses to run as root: when this process is root the server runs as the
`postgres` system user (Debian's package creates it) and the directory is given to it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

#: The server programs `PrivateServer` runs; all must be in one directory.
PG_TOOLS = ('initdb', 'pg_ctl', 'postgres')
#: Environment variable naming the directory of the server programs (overrides the search).
PG_BIN_ENV = 'EMBODIED_MEMORY_PG_BIN'
#: The system user the server runs as when this process is root.
SYSTEM_USER = 'postgres'
#: The bootstrap superuser initdb creates (administration: roles, databases).
ADMIN_ROLE = 'postgres'
#: Port number in the socket's name when the server listens on no TCP port.
SOCKET_PORT = 5432
#: A Unix socket path holds at most 107 bytes (sun_path is 108 with its NUL).
SOCKET_PATH_MAX = 107
STOP_MODES = ('smart', 'fast', 'immediate')
_NAME = re.compile(r'^[a-z_][a-z0-9_]{0,62}$')


class ServerError(RuntimeError):
    """The private server could not be set up, started, stopped or reached."""


class PostgresNotFound(ServerError):
    """No PostgreSQL server programs on this machine."""


def pg_bin() -> Path:
    """The directory holding initdb, pg_ctl and postgres.

    Looked for in: $EMBODIED_MEMORY_PG_BIN, `pg_config --bindir`, the newest
    /usr/lib/postgresql/<major>/bin (Debian), then PATH. Raises `PostgresNotFound`
    saying to run `make setup` when none has all three.
    """
    candidates: list[Path] = []
    if os.environ.get(PG_BIN_ENV):
        candidates.append(Path(os.environ[PG_BIN_ENV]))
    pg_config = shutil.which('pg_config')
    if pg_config:
        try:
            out = subprocess.run([pg_config, '--bindir'], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.strip()
            if out:
                candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    debian = Path('/usr/lib/postgresql')
    if debian.is_dir():
        majors = sorted((p for p in debian.iterdir() if p.name.isdigit()),
                        key=lambda p: int(p.name), reverse=True)
        candidates.extend(p / 'bin' for p in majors)
    on_path = shutil.which('initdb')
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for candidate in candidates:
        if all(os.access(candidate / tool, os.X_OK) for tool in PG_TOOLS):
            return candidate
    looked = ', '.join(str(c) for c in candidates) or 'pg_config, /usr/lib/postgresql, PATH'
    raise PostgresNotFound(
        f'PostgreSQL server programs ({", ".join(PG_TOOLS)}) not found (looked in: {looked}). '
        f'Run `make setup` (it installs the Debian packages postgresql and postgis), or set '
        f'{PG_BIN_ENV} to the directory that holds them.')


def server_version(bindir: Path) -> int:
    """The major version of the server programs in `bindir` (15 for 'postgres 15.18')."""
    out = subprocess.run([str(bindir / 'postgres'), '--version'], capture_output=True,
                         text=True, timeout=10).stdout
    match = re.search(r'(\d+)(?:\.\d+)?', out)
    if not match:
        raise ServerError(f'cannot read the version of {bindir / "postgres"}: {out!r}')
    return int(match.group(1))


def conninfo(**values: object) -> str:
    """A libpq conninfo string ('key=value ...'), values quoted where they need it."""
    parts = []
    for key, value in values.items():
        text = str(value)
        if not text or re.search(r"[\s'\\]", text):
            text = "'" + text.replace('\\', '\\\\').replace("'", "\\'") + "'"
        parts.append(f'{key}={text}')
    return ' '.join(parts)


def _conf_value(value: object) -> str:
    if isinstance(value, bool):
        return 'on' if value else 'off'
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors='replace')
    except OSError as err:
        return f'(no log: {err})'
    return '\n'.join(text.splitlines()[-lines:]) or '(log empty)'


def _alive(pid: int) -> bool:
    """Whether `pid` is a live (not zombie) postgres process."""
    try:
        with open(f'/proc/{pid}/stat') as fh:
            fields = fh.read().rsplit(')', 1)
        comm = Path(f'/proc/{pid}/comm').read_text().strip()
    except OSError:
        return False
    state = fields[1].split()[0] if len(fields) == 2 else '?'
    return state not in ('Z', 'X') and comm.startswith(('postgres', 'postmaster'))


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (the postmaster's backends and helpers)."""
    out = []
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            after_comm = (entry / 'stat').read_text().rsplit(')', 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(after_comm) > 1 and after_comm[1] == str(pid):
            out.append(int(entry.name))
    return out


def _searchable_by(path: Path, uid: int, gids: set[int]) -> bool:
    st = path.stat()
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in gids:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


class PrivateServer:
    """A real PostgreSQL server in `directory`, started and stopped by its owner.

    `port=None`: Unix socket only. `port=P`: also 127.0.0.1:P (never another address).
    `fsync=False` skips flushing to disk (initdb --no-sync, fsync=off): fine for tests
    whose crashes are process crashes, never for data a user keeps. `settings` adds or
    overrides server settings (e.g. {'wal_level': 'logical'}). The role `user` owns
    database `dbname`; with `superuser=True` (the default: it is the user's own server) it
    may also create extensions such as PostGIS.
    """

    def __init__(self, directory: str | os.PathLike, port: int | None = None,
                 user: str = 'embodied', dbname: str = 'memory', *, fsync: bool = True,
                 settings: dict[str, Any] | None = None, superuser: bool = True,
                 start_timeout_s: float = 60.0) -> None:
        if port is not None and not (isinstance(port, int) and 0 < port < 65536):
            raise ServerError(f'port must be an integer in 1..65535, not {port!r}')
        for what, name in (('user', user), ('dbname', dbname)):
            if not _NAME.match(name):
                raise ServerError(f'{what} {name!r}: use lower-case letters, digits and _')
        self.directory = Path(directory).absolute()
        self.port = port
        self.user = user
        self.dbname = dbname
        self.fsync = fsync
        self.settings = dict(settings or {})
        self.superuser = superuser
        self.start_timeout_s = start_timeout_s
        #: Seconds the last initdb / start / stop took (the benchmark reports them).
        self.timings: dict[str, float] = {}
        self._started_here = False
        self._bindir: Path | None = None
        self._run_as = pwd.getpwnam(SYSTEM_USER) if os.geteuid() == 0 else None
        if os.geteuid() == 0 and self._run_as is None:  # pragma: no cover (getpwnam raises)
            raise ServerError(f'running as root needs the system user {SYSTEM_USER!r}')

    # -- paths and addresses -------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.directory / 'data'

    @property
    def socket_dir(self) -> Path:
        """The directory of the Unix socket (the DSN's host)."""
        return self.directory / 'socket'

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        return self.directory / 'server.log'

    @property
    def passfile(self) -> Path:
        """The libpq password file for the TCP port (written when a port is given)."""
        return self.directory / 'pgpass'

    @property
    def socket_port(self) -> int:
        """The port number in the socket's name (the TCP port when there is one)."""
        return self.port if self.port is not None else SOCKET_PORT

    @property
    def dsn(self) -> str:
        """The libpq conninfo for `dbname` as `user` over the Unix socket (no password)."""
        return self.dsn_for(self.dbname)

    @property
    def admin_dsn(self) -> str:
        """The conninfo for the bootstrap superuser's `postgres` database (administration)."""
        return conninfo(host=self.socket_dir, port=self.socket_port, dbname='postgres',
                        user=ADMIN_ROLE)

    @property
    def tcp_dsn(self) -> str:
        """The conninfo over 127.0.0.1:port (password read from `passfile`); needs a port."""
        if self.port is None:
            raise ServerError(f'the server in {self.directory} listens on no TCP port '
                              f'(start it with a port to get a TCP DSN)')
        return conninfo(host='127.0.0.1', port=self.port, dbname=self.dbname, user=self.user,
                        passfile=self.passfile)

    def dsn_for(self, dbname: str) -> str:
        """The conninfo for another database on this server, as `user` over the socket."""
        return conninfo(host=self.socket_dir, port=self.socket_port, dbname=dbname,
                        user=self.user)

    # -- state ---------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """The postmaster's pid while it runs, else None."""
        try:
            first = (self.data_dir / 'postmaster.pid').read_text().split('\n', 1)[0]
            pid = int(first.strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    @property
    def running(self) -> bool:
        """Whether the postmaster is alive."""
        return self.pid is not None

    def __repr__(self) -> str:
        state = f'running (pid {self.pid})' if self.running else 'stopped'
        where = f'socket + 127.0.0.1:{self.port}' if self.port else 'socket only'
        return f'PrivateServer({str(self.directory)!r}, {where}, {state})'

    def __enter__(self) -> PrivateServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start: initdb on first use, start, wait until it accepts connections, create role + db.

        After `kill()` this replays the WAL: what was committed before the crash is there.
        """
        if self.running:
            if self._started_here:
                return
            raise ServerError(
                f'a PostgreSQL server (pid {self.pid}) already runs in {self.data_dir}: '
                f'stop it first (pg_ctl stop -D {self.data_dir}) or use it')
        bindir = self._binaries()
        self._prepare_directory()
        self._remove_stale_locks()
        if not (self.data_dir / 'PG_VERSION').exists():
            t0 = time.monotonic()
            self._initdb(bindir)
            self.timings['initdb_s'] = time.monotonic() - t0
        self._check_version(bindir)
        self._write_settings()
        t0 = time.monotonic()
        result = self._run([str(bindir / 'pg_ctl'), 'start', '-D', str(self.data_dir),
                            '-l', str(self.log_path), '-w', '-s',
                            '-t', str(max(1, int(self.start_timeout_s)))],
                           timeout=self.start_timeout_s + 10)
        if result.returncode != 0 or not self.running:
            raise ServerError(
                f'PostgreSQL in {self.data_dir} did not start (pg_ctl exit '
                f'{result.returncode}: {(result.stdout + result.stderr).strip()}); '
                f'last lines of {self.log_path}:\n{_tail(self.log_path)}')
        self._started_here = True
        self._wait_ready(time.monotonic() + self.start_timeout_s)
        self._ensure_role_and_database()
        self.timings['start_s'] = time.monotonic() - t0

    def stop(self, mode: str = 'fast') -> None:
        """Stop the server (`fast`: roll back open transactions, disconnect, checkpoint)."""
        if mode not in STOP_MODES:
            raise ServerError(f'stop mode {mode!r}: one of {", ".join(STOP_MODES)}')
        if not self.running:
            self._started_here = False
            return
        t0 = time.monotonic()
        result = self._run([str(self._binaries() / 'pg_ctl'), 'stop', '-D',
                            str(self.data_dir), '-m', mode, '-w', '-s',
                            '-t', str(max(1, int(self.start_timeout_s)))],
                           timeout=self.start_timeout_s + 10)
        if result.returncode != 0 and self.running:
            raise ServerError(
                f'PostgreSQL in {self.data_dir} did not stop ({mode}): '
                f'{(result.stdout + result.stderr).strip()}; last lines of '
                f'{self.log_path}:\n{_tail(self.log_path)}')
        self._started_here = False
        self.timings['stop_s'] = time.monotonic() - t0

    def kill(self) -> None:
        """SIGKILL the postmaster and its processes: a crash. `start()` then recovers."""
        pid = self.pid
        if pid is None:
            raise ServerError(f'no PostgreSQL server runs in {self.data_dir}: nothing to kill')
        victims = [pid, *_children(pid)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10.0
        while any(_alive(v) for v in victims):
            if time.monotonic() > deadline:
                raise ServerError(f'killed PostgreSQL processes {victims} did not go away')
            time.sleep(0.02)
        self._started_here = False

    def restart(self, mode: str = 'fast') -> None:
        """Stop (`mode`) and start again."""
        self.stop(mode)
        self.start()

    def pause(self, seconds: float, mode: str = 'fast') -> None:
        """Stop, wait `seconds`, start: the network blip (every connection is cut)."""
        self.stop(mode)
        time.sleep(seconds)
        self.start()

    # -- databases -----------------------------------------------------------------------
    def create_database(self, name: str) -> str:
        """Create database `name` owned by `user` (if missing); its DSN."""
        if not _NAME.match(name):
            raise ServerError(f'database name {name!r}: use lower-case letters, digits and _')
        with self._admin() as conn:
            exists = conn.execute('SELECT 1 FROM pg_database WHERE datname = %s',
                                  (name,)).fetchone()
            if not exists:
                conn.execute(self._sql('CREATE DATABASE {} OWNER {}', name, self.user))
        return self.dsn_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name`, disconnecting whoever is still in it."""
        with self._admin() as conn:
            conn.execute(self._sql('DROP DATABASE IF EXISTS {} WITH (FORCE)', name))

    # -- internals -----------------------------------------------------------------------
    def _binaries(self) -> Path:
        if self._bindir is None:
            self._bindir = pg_bin()
        return self._bindir

    def _user_kwargs(self) -> dict[str, Any]:
        if self._run_as is None:
            return {}
        return {'user': self._run_as.pw_uid, 'group': self._run_as.pw_gid,
                'extra_groups': []}

    def _env(self) -> dict[str, str]:
        # PG* variables (PGPORT, PGDATA, ...) of the caller must not steer the server.
        env = {k: v for k, v in os.environ.items() if not k.startswith('PG')}
        env['LC_ALL'] = 'C'
        if self._run_as is not None:
            env['HOME'] = self._run_as.pw_dir
            env['USER'] = env['LOGNAME'] = self._run_as.pw_name
        return env

    def _run(self, cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(cmd, cwd=self.directory, env=self._env(), text=True,
                                  capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                                  **self._user_kwargs())
        except subprocess.TimeoutExpired as err:
            raise ServerError(f'{Path(cmd[0]).name} {cmd[1] if len(cmd) > 1 else ""} did not '
                              f'finish in {timeout:.0f} s; last lines of {self.log_path}:\n'
                              f'{_tail(self.log_path)}') from err

    def _give(self, path: Path) -> None:
        """Hand `path` to the server's system user (when running as root)."""
        if self._run_as is not None:
            os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)

    def _prepare_directory(self) -> None:
        for path in (self.directory, self.data_dir, self.socket_dir):
            if path.exists() and not path.is_dir():
                raise ServerError(f'{path} is not a directory (a file is in the way): give the '
                                  f'server another directory or remove the file')
        socket = self.socket_dir / f'.s.PGSQL.{self.socket_port}'
        if len(os.fsencode(socket)) > SOCKET_PATH_MAX:
            raise ServerError(f'the socket path {socket} is longer than {SOCKET_PATH_MAX} '
                              f'bytes (the Unix limit): choose a shorter server directory')
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.socket_dir.mkdir(exist_ok=True, mode=0o700)
        except OSError as err:
            raise ServerError(f'cannot create the server directory {self.directory}: '
                              f'{err}') from err
        if self.data_dir.exists() and any(self.data_dir.iterdir()) \
                and not (self.data_dir / 'PG_VERSION').exists():
            raise ServerError(f'{self.data_dir} exists but is not a PostgreSQL data '
                              f'directory: give the server another directory')
        for path in (self.directory, self.socket_dir):
            path.chmod(0o700)
            self._give(path)
        if self.log_path.exists():
            self._give(self.log_path)
        if self._run_as is not None:
            uid = self._run_as.pw_uid
            gids = set(os.getgrouplist(self._run_as.pw_name, self._run_as.pw_gid))
            for parent in self.directory.parents:
                if not _searchable_by(parent, uid, gids):
                    raise ServerError(
                        f'the server runs as the system user {SYSTEM_USER!r} (PostgreSQL '
                        f'refuses root), which cannot reach {self.directory}: {parent} is not '
                        f'searchable by it. Choose a directory it can reach (e.g. a new one '
                        f'directly under /tmp) or allow it (chmod o+x {parent}).')

    def _remove_stale_locks(self) -> None:
        """Lock files of a server that is gone (killed): PostgreSQL would refuse to start.

        It checks the recorded pid with kill(pid, 0), which also succeeds for a dead
        postmaster not yet reaped (a zombie) and for an unrelated process that got its pid.
        """
        for lock in (self.data_dir / 'postmaster.pid',
                     self.socket_dir / f'.s.PGSQL.{self.socket_port}.lock'):
            try:
                pid = int(lock.read_text().split('\n', 1)[0].strip())
            except (OSError, ValueError):
                continue
            if not _alive(pid):
                lock.unlink(missing_ok=True)

    def _initdb(self, bindir: Path) -> None:
        cmd = [str(bindir / 'initdb'), '-D', str(self.data_dir), '-U', ADMIN_ROLE,
               '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8',
               '--locale=C', '--no-instructions']
        if not self.fsync:
            cmd.append('--no-sync')
        result = self._run(cmd, timeout=300)
        if result.returncode != 0:
            raise ServerError(f'initdb into {self.data_dir} failed (exit {result.returncode}):'
                              f'\n{(result.stdout + result.stderr).strip()[-3000:]}')
        with open(self.data_dir / 'postgresql.conf', 'a') as fh:
            fh.write("\n# embodied_memory's PrivateServer rewrites this file at every start.\n"
                     "include_if_exists = 'private_server.conf'\n")

    def _check_version(self, bindir: Path) -> None:
        data_version = (self.data_dir / 'PG_VERSION').read_text().strip()
        programs = server_version(bindir)
        if data_version != str(programs):
            raise ServerError(f'{self.data_dir} holds a PostgreSQL {data_version} cluster but '
                              f'the server programs in {bindir} are version {programs}')

    def _write_settings(self) -> None:
        settings: dict[str, Any] = {
            'listen_addresses': '127.0.0.1' if self.port is not None else '',
            'port': self.socket_port,
            'unix_socket_directories': str(self.socket_dir),
            'unix_socket_permissions': '0700',
            'max_connections': 64,
            'shared_buffers': '16MB',
            'fsync': self.fsync,
            'logging_collector': False,
            'log_line_prefix': '%m [%p] %q%u@%d ',
            'lc_messages': 'C',
            'timezone': 'UTC',
        }
        settings.update(self.settings)
        path = self.data_dir / 'private_server.conf'
        text = ''.join(f'{key} = {_conf_value(value)}\n' for key, value in settings.items())
        path.write_text('# Written by PrivateServer at start; edits are overwritten.\n' + text)
        self._give(path)

    def _connect(self, dsn: str, timeout_s: float = 5.0):
        try:
            import psycopg
        except ImportError as err:
            raise ServerError('psycopg is not installed: run `make setup`') from err
        return psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, int(timeout_s)))

    def _admin(self):
        return self._connect(self.admin_dsn)

    def _sql(self, template: str, *names: str):
        from psycopg import sql

        return sql.SQL(template).format(*(sql.Identifier(n) for n in names))

    def _wait_ready(self, deadline: float) -> None:
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not self.running:
                raise ServerError(f'PostgreSQL in {self.data_dir} exited while starting; '
                                  f'last lines of {self.log_path}:\n{_tail(self.log_path)}')
            try:
                with self._admin() as conn:
                    conn.execute('SELECT 1')
                return
            except ServerError:
                raise
            except Exception as err:  # psycopg.OperationalError and kin
                last = err
                time.sleep(0.05)
        raise ServerError(f'PostgreSQL in {self.data_dir} accepted no connection within '
                          f'{self.start_timeout_s:.0f} s ({last}); last lines of '
                          f'{self.log_path}:\n{_tail(self.log_path)}')

    def _ensure_role_and_database(self) -> None:
        with self._admin() as conn:
            if not conn.execute('SELECT 1 FROM pg_roles WHERE rolname = %s',
                                (self.user,)).fetchone():
                attrs = 'LOGIN SUPERUSER' if self.superuser else 'LOGIN CREATEDB'
                conn.execute(self._sql('CREATE ROLE {} ' + attrs, self.user))
            if self.port is not None:
                conn.execute(self._sql('ALTER ROLE {} PASSWORD ', self.user)
                             + self._literal(self._tcp_password()))
        self.create_database(self.dbname)

    def _literal(self, value: str):
        from psycopg import sql

        return sql.Literal(value)

    def _tcp_password(self) -> str:
        """The role's TCP password: made once, kept in `passfile` (mode 0600) for libpq."""
        pattern = re.compile(rf'^127\.0\.0\.1:{self.port}:\*:{re.escape(self.user)}:(\S+)$')
        if self.passfile.exists():
            for line in self.passfile.read_text().splitlines():
                match = pattern.match(line)
                if match:
                    return match.group(1)
        password = secrets.token_hex(16)
        fd = os.open(self.passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as fh:
            fh.write(f'127.0.0.1:{self.port}:*:{self.user}:{password}\n')
        return password
