"""DDS hygiene for every process this project starts: loopback discovery, a private domain.

A robot sets its own discovery range; on a laptop or CI machine we must never send DDS
discovery multicast off the machine, so anything we launch defaults to LOCALHOST.
"""

from __future__ import annotations

import os
import random

LOOPBACK_ENV = {
    'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
    'RMW_IMPLEMENTATION': 'rmw_fastrtps_cpp',
}


def private_domain_id(seed: int | None = None) -> int:
    """A ROS domain id in 1..100 for one run (ids above 101 collide with ephemeral ports)."""
    return random.Random(os.getpid() if seed is None else seed).randint(1, 100)


def ros_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default: os.environ) with loopback DDS defaults filled in where unset."""
    env = dict(os.environ if base is None else base)
    for key, value in LOOPBACK_ENV.items():
        env.setdefault(key, value)
    env.setdefault('ROS_DOMAIN_ID', str(private_domain_id()))
    return env


def apply_loopback_defaults() -> dict[str, str]:
    """Fill loopback defaults into this process's environment; return what was set."""
    added = {k: v for k, v in ros_environment().items() if k not in os.environ}
    os.environ.update(added)
    return added
