"""Eviction policies for the short-term memory, chosen by name.

`make_policy('wtinylfu', capacity=10)` builds one; `POLICY_NAMES` lists the names.
"""

from __future__ import annotations

from typing import Any

from .base import EvictionPolicy, UseInfo, check_capacity
from .count_min_sketch import CountMinSketch
from .fifo import FifoMergePolicy
from .lfu import LfuPolicy
from .lru import LruPolicy
from .robot_aware import RobotAwarePolicy
from .wtinylfu import WTinyLfuPolicy

POLICIES: dict[str, type[EvictionPolicy]] = {
    cls.name: cls
    for cls in (FifoMergePolicy, LruPolicy, LfuPolicy, WTinyLfuPolicy, RobotAwarePolicy)
}
_ALIASES = {'fifo_merge': 'fifo', 'w-tinylfu': 'wtinylfu', 'w_tinylfu': 'wtinylfu',
            'tinylfu': 'wtinylfu'}
POLICY_NAMES: tuple[str, ...] = tuple(POLICIES)


def make_policy(name: str, capacity: int, **params: Any) -> EvictionPolicy:
    """Build the policy called `name` (see `POLICY_NAMES`) with its keyword `params`."""
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in POLICIES:
        raise ValueError(f'policy must be one of {sorted(POLICIES)}, got {name!r}')
    check_capacity(capacity)
    return POLICIES[key](capacity, **params)


__all__ = ['POLICIES', 'POLICY_NAMES', 'CountMinSketch', 'EvictionPolicy', 'FifoMergePolicy',
           'LfuPolicy', 'LruPolicy', 'RobotAwarePolicy', 'UseInfo', 'WTinyLfuPolicy',
           'make_policy']
