"""Test-wide setup: loopback DDS on a private domain; the session fails on any multicast."""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from session_checks import ROS_MODULES, MulticastCheck, import_ros, out_multicast_packets

from memory_nodes.launch.ros_env import profile_environment

ROOT = Path(__file__).resolve().parent.parent

# Before anything imports rclpy: DDS on loopback, a domain id private to this run.
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(1, 100)))
# Large images between processes: the stack's Fast DDS shared-memory profile, as the
# launcher and the demo apply it (unless the person running the tests set their own).
os.environ.update(profile_environment(os.environ))
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')


#: Fails the session if multicast left the machine between session start and finish.
MULTICAST = MulticastCheck(out_multicast_packets)


def pytest_sessionstart(session: pytest.Session) -> None:
    MULTICAST.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    MULTICAST.finish(session)
    # Tests kill nodes with SIGKILL: their Fast DDS shared-memory segments (RAM) stay in
    # /dev/shm unless someone removes those of dead processes.
    from memory_nodes.launch.ros_env import remove_stale_shm_segments

    remove_stale_shm_segments(min_age_s=5.0)


def pytest_runtest_setup(item: pytest.Item) -> None:
    # After `make setup` ROS is always there: a test that needs it errors out when it is not.
    if item.get_closest_marker('ros') is not None:
        import_ros(ROS_MODULES)


@pytest.fixture
def ros_env() -> dict[str, str]:
    """Environment for child processes: this run's domain, loopback discovery, our code."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT), env.get('PYTHONPATH', '')])
    env['PYTHONUNBUFFERED'] = '1'
    return env


@pytest.fixture
def python() -> str:
    return sys.executable


@pytest.fixture(scope='session')
def pg_server():
    """A real, private PostgreSQL server for the whole session (Unix socket, no network).

    Missing server programs fail the test (run `make setup`): never a skip. Tests that
    stop, kill or pause it leave it to `pg_dsn` (or themselves) to start it again.
    """
    from memory_nodes.fleet.server import PostgresNotFound, PrivateServer, pg_bin

    try:
        pg_bin()
    except PostgresNotFound as err:
        pytest.fail(str(err), pytrace=False)
    directory = tempfile.mkdtemp(prefix='emb-pg-')
    # Process crashes (kill -9) keep what was committed without fsync: tests skip the flushes.
    server = PrivateServer(directory, fsync=False)
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def pg_dsn(pg_server):
    """DSN of a fresh database on the session's server, dropped after the test."""
    name = f'test_{uuid.uuid4().hex[:16]}'
    if not pg_server.running:
        pg_server.start()
    dsn = pg_server.create_database(name)
    yield dsn
    if not pg_server.running:
        pg_server.start()
    pg_server.drop_database(name)
