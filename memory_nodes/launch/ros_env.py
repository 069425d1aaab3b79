"""DDS settings for every process we start: loopback, a private domain, images over SHM.

A robot sets its own discovery range; on a laptop or CI machine we must never send DDS
discovery multicast off the machine, so anything we launch defaults to LOCALHOST.

Large images on one host: with Fast DDS's default shared-memory segment (512 KiB per
process) most camera frames sent with the sensor-data QoS (best effort) never arrive. The
profile `config/fastdds_shm.xml` gives each process a segment sized for 640x480 RGB-D at
15 Hz. It is applied through FASTDDS_DEFAULT_PROFILES_FILE unless the user set a profile of
their own (never overridden) or turned it off with EMBODIED_MEMORY_SHM_PROFILE=off.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from pathlib import Path

LOOPBACK_ENV = {
    'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
    'RMW_IMPLEMENTATION': 'rmw_fastrtps_cpp',
}

#: Fast DDS reads its XML profile from the first of these that is set (the second is the
#: name older releases used); a user's value is always kept.
PROFILE_VARIABLES = ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE')
#: `off` (or 0, false, no) turns the shared-memory profile off; a path uses that file instead.
PROFILE_SWITCH = 'EMBODIED_MEMORY_SHM_PROFILE'
PROFILE_NAME = 'fastdds_shm.xml'
_OFF = ('0', 'off', 'false', 'no')
_FAST_DDS_RMWS = ('rmw_fastrtps_cpp', 'rmw_fastrtps_dynamic_cpp')


def private_domain_id(seed: int | None = None) -> int:
    """A ROS domain id in 1..100 for one run (ids above 101 collide with ephemeral ports)."""
    return random.Random(os.getpid() if seed is None else seed).randint(1, 100)


def shm_profile_path() -> Path:
    """The project's Fast DDS profile (config/ in the source tree or the installed share/)."""
    from memory_nodes.launch.stacks import config_dir

    return config_dir() / PROFILE_NAME


def profile_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The variables to add to `env` so that Fast DDS loads the shared-memory profile.

    Empty when the user chose a profile (FASTDDS_/FASTRTPS_DEFAULT_PROFILES_FILE), turned
    ours off (EMBODIED_MEMORY_SHM_PROFILE=off), runs another middleware than Fast DDS, or
    set a discovery range other than LOCALHOST: the profile keeps UDP on loopback, which
    would silently cut a robot that chose SUBNET off its other machines.
    A missing profile file is an error naming it (a broken install, not a silent fallback).
    """
    if any(env.get(name) for name in PROFILE_VARIABLES):
        return {}
    if env.get('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp') not in _FAST_DDS_RMWS:
        return {}
    if env.get('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST').upper() != 'LOCALHOST':
        return {}
    switch = env.get(PROFILE_SWITCH, '').strip()
    if switch.lower() in _OFF:
        return {}
    path = Path(switch) if switch and switch.lower() not in ('1', 'on', 'true', 'yes') \
        else shm_profile_path()
    if not path.is_file():
        raise FileNotFoundError(f'Fast DDS profile {path} not found ({PROFILE_SWITCH}='
                                f'{switch or "<unset>"}); set {PROFILE_SWITCH}=off to run '
                                f'without it')
    return {PROFILE_VARIABLES[0]: str(path)}


def ros_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: os.environ) with loopback DDS defaults and the SHM profile filled in."""
    env = dict(os.environ if base is None else base)
    for key, value in LOOPBACK_ENV.items():
        env.setdefault(key, value)
    env.setdefault('ROS_DOMAIN_ID', str(private_domain_id()))
    env.update(profile_environment(env))
    return env


def apply_loopback_defaults() -> dict[str, str]:
    """Fill DDS defaults into this process's environment (before rclpy starts); return them."""
    added = {k: v for k, v in ros_environment().items() if k not in os.environ}
    os.environ.update(added)
    return added


def stale_shm_segments(shm_dir: Path = Path('/dev/shm'), min_age_s: float = 60.0) -> list[Path]:
    """Fast DDS shared-memory segments left behind by processes that died (kill -9, crash).

    A live process holds an exclusive flock on each of its segments' `<segment>_el` file;
    Fast DDS never removes the segment of a killed process, and a segment's pages stay in
    RAM (/dev/shm is tmpfs): 16 MiB per killed process with the profile. A segment counts as
    stale when nobody holds its lock and both files are older than `min_age_s` (a segment
    being created has its lock taken a moment after the file appears). Ports are left to
    Fast DDS, which checks their health itself.
    """
    import fcntl
    import time

    stale = []
    now = time.time()
    for lock in sorted(shm_dir.glob('fastdds_*_el')):
        segment = lock.with_name(lock.name[:-3])
        if segment.name.startswith('fastdds_port'):
            continue
        try:
            if now - max(lock.stat().st_mtime, segment.stat().st_mtime) < min_age_s:
                continue
            fd = os.open(lock, os.O_RDONLY)
        except OSError:
            continue  # gone meanwhile, or not ours to read
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # held: the owner is alive
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            stale.append(segment)
        finally:
            os.close(fd)
    return stale


def remove_stale_shm_segments(shm_dir: Path = Path('/dev/shm'),
                              min_age_s: float = 60.0) -> list[str]:
    """Delete the segments (and lock files) of dead processes; the names removed."""
    removed = []
    for segment in stale_shm_segments(shm_dir, min_age_s):
        for path in (segment, segment.with_name(segment.name + '_el')):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                break  # someone else's file: leave it
        else:
            removed.append(segment.name)
    return removed


#: Where the kernel counts the multicast datagrams this host sent (IpExt OutMcastPkts).
NETSTAT = Path('/proc/net/netstat')


def out_multicast_packets(netstat: Path = NETSTAT) -> int:
    """IpExt OutMcastPkts from /proc/net/netstat (multicast datagrams sent by this host).

    DDS must stay on loopback: the tests' session check and the transport measurement
    compare this count before and after.
    """
    lines = netstat.read_text().splitlines()
    for header, values in zip(lines[::2], lines[1::2]):
        if header.startswith('IpExt:'):
            return int(dict(zip(header.split(), values.split()))['OutMcastPkts'])
    raise RuntimeError(f'IpExt OutMcastPkts not found in {netstat}')
