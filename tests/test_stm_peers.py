"""Production cache libraries as STM policies: each evicts as its library does."""

import cachetools
import pytest

from memory_nodes.memory.eviction import POLICY_NAMES, LfuPolicy, LruPolicy, make_policy
from memory_nodes.memory.eviction.peers import PEER_NAMES, TheinePolicy
from memory_nodes.memory.short_term import ShortTermConfig, ShortTermMemory
from memory_nodes.memory.state_change import StateChange
from memory_nodes.memory.traces import (
    HouseholdTraceConfig,
    QueryStep,
    WriteStep,
    generate_household_trace,
    replay,
)


class _Sink:
    def record_state_change(self, change):
        return change.object_id


def _mem(policy, capacity):
    return ShortTermMemory(ShortTermConfig(capacity=capacity, policy=policy), sink=_Sink())


def _write(mem, oid, stamp):
    mem.write(StateChange(label=oid.split('_')[0], stamp=float(stamp), object_id=oid,
                          source='own_action', changed=['position']))


@pytest.fixture(scope='module')
def trace():
    return generate_household_trace(HouseholdTraceConfig(seed=7, tasks=40))


def test_peers_are_built_by_name_but_not_offered_as_robot_policies():
    assert set(PEER_NAMES) == {'theine', 'cachetools_lru', 'cachetools_lfu',
                               'cachetools_fifo'}
    assert not set(PEER_NAMES) & set(POLICY_NAMES)
    for name in PEER_NAMES:
        assert make_policy(name, 3).name == name


def test_cachetools_lru_evicts_least_recently_used():
    mem = _mem('cachetools_lru', 2)
    _write(mem, 'a_1', 1)
    _write(mem, 'b_1', 2)
    assert mem.contains_for_query('a_1', 3)  # a is now the most recent
    _write(mem, 'c_1', 4)  # full: the library's popitem takes b
    assert set(mem._entries) == {'a_1', 'c_1'}
    assert not mem.contains_for_query('b_1', 5)
    ref = cachetools.LRUCache(maxsize=2)
    ref['a_1'] = 1
    ref['b_1'] = 1
    ref['a_1']  # noqa: B018
    ref['c_1'] = 1
    assert set(ref) == set(mem._entries)


def test_cachetools_lfu_evicts_least_used_and_a_merge_is_a_use():
    mem = _mem('cachetools_lfu', 2)
    _write(mem, 'a_1', 1)
    _write(mem, 'b_1', 2)
    _write(mem, 'a_1', 10)  # merge: the library's set of a resident key counts as a use
    _write(mem, 'c_1', 20)
    assert set(mem._entries) == {'a_1', 'c_1'}
    assert mem.stats.evictions == 1 and mem.stats.merges == 1


def test_cachetools_fifo_ignores_uses():
    mem = _mem('cachetools_fifo', 2)
    _write(mem, 'a_1', 1)
    _write(mem, 'b_1', 2)
    assert mem.contains_for_query('a_1', 3)
    _write(mem, 'c_1', 4)
    assert set(mem._entries) == {'b_1', 'c_1'}


def test_theine_admission_filter_keeps_frequent_keys_against_a_scan():
    # W-TinyLFU (what an LRU would not do): keys read often survive a scan of one-off
    # keys, because each newcomer loses the library's frequency duel.
    cap = 10
    mem = _mem('theine', cap)
    assert isinstance(mem.policy, TheinePolicy)
    t = 0
    for i in range(cap):
        t += 5
        _write(mem, f'hot_{i}', t)
    for _ in range(3):
        for i in range(cap):
            t += 5
            assert mem.contains_for_query(f'hot_{i}', t)
    for j in range(50):
        t += 5
        _write(mem, f'scan_{j}', t)
        assert len(mem) <= cap
    kept = sum(f'hot_{i}' in mem for i in range(cap))
    assert kept >= cap - mem.policy.window_len()
    lru = _mem('cachetools_lru', cap)
    for i in range(cap):
        _write(lru, f'hot_{i}', i)
    for j in range(50):
        _write(lru, f'scan_{j}', 100 + j)
    assert not any(f'hot_{i}' in lru for i in range(cap))


@pytest.mark.parametrize('name', PEER_NAMES)
def test_peer_capacity_and_hit_only_when_resident(name, trace):
    cap = 5
    mem = _mem(name, cap)
    hits = queries = 0
    for step in trace:
        if isinstance(step, WriteStep):
            mem.write(step.change)
        elif isinstance(step, QueryStep):
            resident = step.object_id in mem._entries
            hit = mem.contains_for_query(step.object_id, step.stamp)
            assert hit == resident
            queries += 1
            hits += hit
        else:
            mem.set_task_context(step.labels)
        assert len(mem) <= cap
        assert set(mem._entries) == set(mem.policy.keys())
    assert 0 < hits < queries
    if name != 'theine':  # theine seeds its sketch's hash at random per cache
        assert replay(trace, _mem(name, cap)).hits == hits


def test_cachetools_lru_matches_our_lru_exactly(trace):
    # The same buffer, write filter and hit definition: where the policies agree (LRU),
    # the hit counts must agree to the query.
    for cap in (3, 10):
        ours = replay(trace, _mem('lru', cap))
        peer = replay(trace, _mem('cachetools_lru', cap))
        assert (peer.hits, peer.queries) == (ours.hits, ours.queries)


def test_an_explicit_empty_policy_is_used():
    # An empty policy has len 0; the buffer used to fall back to the config's policy.
    policy = LfuPolicy(4)
    mem = ShortTermMemory(ShortTermConfig(capacity=4, policy='lru'), policy=policy)
    assert mem.policy is policy and not isinstance(mem.policy, LruPolicy)
