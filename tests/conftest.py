"""Test-wide setup: loopback DDS on a private domain, and the multicast counter baseline."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Before anything imports rclpy: DDS on loopback, a domain id private to this run.
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(1, 100)))
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')


def out_multicast_packets() -> int:
    """IpExt OutMcastPkts from /proc/net/netstat (multicast datagrams sent by this host)."""
    lines = Path('/proc/net/netstat').read_text().splitlines()
    for header, values in zip(lines[::2], lines[1::2]):
        if header.startswith('IpExt:'):
            return int(dict(zip(header.split(), values.split()))['OutMcastPkts'])
    raise RuntimeError('IpExt OutMcastPkts not found in /proc/net/netstat')


MULTICAST_AT_START = out_multicast_packets()


def ros_available() -> bool:
    try:
        import embodied_memory_msgs.srv  # noqa: F401
        import rclpy  # noqa: F401
    except ImportError:
        return False
    return True


requires_ros = pytest.mark.skipif(
    not ros_available(), reason='rclpy / embodied_memory_msgs not importable (run make setup)'
)


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
