"""Eviction policies for the short-term memory, chosen by name.

`make_policy('wtinylfu', capacity=10)` builds one; `POLICY_NAMES` lists the names.
`PEER_NAMES` are production cache libraries wrapped as policies (`peers`), baselines for
the benchmarks: `make_policy` builds them too, importing the library only then.
"""

from __future__ import annotations

from typing import Any

from .base import EvictionPolicy, UseInfo, check_capacity
from .count_min_sketch import CountMinSketch
from .fifo import FifoMergePolicy
from .lfu import LfuPolicy
from .lru import LruPolicy
from .peers import PEER_NAMES, PEER_POLICIES
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
    cls = POLICIES.get(key) or PEER_POLICIES.get(key)
    if cls is None:
        raise ValueError(f'policy must be one of {sorted(POLICIES)} (or a peer: '
                         f'{", ".join(PEER_NAMES)}), got {name!r}')
    check_capacity(capacity)
    return cls(capacity, **params)


__all__ = ['PEER_NAMES', 'PEER_POLICIES', 'POLICIES', 'POLICY_NAMES', 'CountMinSketch',
           'EvictionPolicy', 'FifoMergePolicy', 'LfuPolicy', 'LruPolicy', 'RobotAwarePolicy',
           'UseInfo', 'WTinyLfuPolicy', 'make_policy']
