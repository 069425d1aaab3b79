"""Each eviction policy pinned on hand-made sequences."""

import pytest

from memory_nodes.memory.eviction import (
    POLICY_NAMES,
    CountMinSketch,
    FifoMergePolicy,
    LfuPolicy,
    LruPolicy,
    RobotAwarePolicy,
    UseInfo,
    WTinyLfuPolicy,
    make_policy,
)

READ = UseInfo('read', 0.0)
WRITE = UseInfo('write', 0.0)
SIGHT = UseInfo('write', 0.0, label='cup', source='observation')


def fill(policy, keys, info=WRITE):
    evicted = []
    for k in keys:
        evicted += policy.admit(k, info)
    return evicted


# --- registry and capacity -------------------------------------------------------------
def test_make_policy_names_and_aliases():
    assert set(POLICY_NAMES) == {'fifo', 'lru', 'lfu', 'wtinylfu', 'robot_aware'}
    for name in POLICY_NAMES:
        assert make_policy(name, 3).capacity == 3
    assert isinstance(make_policy('W-TinyLFU', 10), WTinyLfuPolicy)
    with pytest.raises(ValueError, match='policy'):
        make_policy('random', 10)


@pytest.mark.parametrize('cls', [FifoMergePolicy, LruPolicy, LfuPolicy, WTinyLfuPolicy,
                                 RobotAwarePolicy])
@pytest.mark.parametrize('capacity', [0, -1, 2.5, True])
def test_bad_capacity_names_field(cls, capacity):
    with pytest.raises(ValueError, match='capacity'):
        cls(capacity)


@pytest.mark.parametrize('name', ['fifo', 'lru', 'lfu', 'wtinylfu', 'robot_aware'])
def test_never_over_capacity(name):
    policy = make_policy(name, 4)
    for i in range(200):
        key = f'k{i % 13}'
        if key in policy:
            policy.access(key, READ)
        else:
            policy.admit(key, WRITE if i % 3 else SIGHT)
        assert len(policy) <= 4
        assert len(list(policy.keys())) == len(policy)


# --- FIFO with merge ------------------------------------------------------------------
def test_fifo_evicts_oldest_write_and_ignores_reads():
    p = FifoMergePolicy(3)
    assert fill(p, 'abc') == []
    p.access('a', READ)  # a read does not save 'a'
    assert p.admit('d', WRITE) == ['a']
    assert list(p.keys()) == ['b', 'c', 'd']


def test_fifo_merge_requeues_at_tail():
    p = FifoMergePolicy(3)
    fill(p, 'abc')
    p.access('a', WRITE)  # a newer fact replaces the old entry
    assert p.admit('d', WRITE) == ['b']
    assert list(p.keys()) == ['c', 'a', 'd']


# --- LRU ------------------------------------------------------------------------------
def test_lru_read_and_write_both_refresh():
    p = LruPolicy(3)
    fill(p, 'abc')
    p.access('a', READ)
    p.access('b', WRITE)
    assert p.admit('d', WRITE) == ['c']
    assert p.admit('e', WRITE) == ['a']
    p.discard('b')
    assert list(p.keys()) == ['d', 'e']


# --- LFU with aging -------------------------------------------------------------------
def test_lfu_evicts_least_used_ties_by_age_and_keeps_newcomer():
    p = LfuPolicy(3, aging_period=1000)
    fill(p, 'abc')
    p.access('a', READ)
    p.access('a', READ)
    p.access('c', READ)
    assert p.admit('d', WRITE) == ['b']  # b has count 1
    assert p.admit('e', WRITE) == ['d']  # d (count 1) and c (2): d goes, e stays
    assert 'e' in p and p.count('a') == 3


def test_lfu_aging_halves_counts_not_below_one():
    p = LfuPolicy(2, aging_period=6)
    fill(p, 'ab')  # 2 uses
    for _ in range(3):
        p.access('a', READ)  # 5 uses, a = 4
    assert p.count('a') == 4
    p.access('b', READ)  # 6th use: b = 2, then halving -> a = 2, b = 1
    assert (p.count('a'), p.count('b')) == (2, 1)
    for _ in range(6):
        p.access('b', READ)  # b = 7 after 6 more uses (halving at the 12th use)
    assert p.count('a') == 1 and p.count('b') == 3


# --- count-min sketch -----------------------------------------------------------------
def test_sketch_doorkeeper_absorbs_first_add():
    s = CountMinSketch(sample_size=1000, width=64)
    assert s.estimate('apple') == 0
    s.add('apple')
    assert s.in_doorkeeper('apple') and s.estimate('apple') == 1
    s.add('apple')
    s.add('apple')
    assert s.estimate('apple') == 3
    assert s.estimate('mug') == 0


def test_sketch_saturates_at_max_count():
    s = CountMinSketch(sample_size=1000, width=64, max_count=15)
    for _ in range(40):
        s.add('apple')
    assert s.estimate('apple') == 16  # 15 in the counters + 1 doorkeeper


def test_sketch_halving_every_sample_size_adds():
    s = CountMinSketch(sample_size=10, width=64)
    for _ in range(9):
        s.add('apple')  # 1 doorkeeper + 8 counted
    assert s.estimate('apple') == 9 and s.resets == 0
    s.add('mug')  # 10th add: halve counters, clear the doorkeeper
    assert s.resets == 1 and s.additions == 0
    assert s.estimate('apple') == 4  # 8 // 2, doorkeeper bit gone
    assert not s.in_doorkeeper('mug') and s.estimate('mug') == 0


def test_sketch_is_deterministic_across_instances():
    a, b = CountMinSketch(100, width=32), CountMinSketch(100, width=32)
    for k in ['x', 'y', 'x', 'z', 'x']:
        a.add(k)
        b.add(k)
    assert [a.estimate(k) for k in 'xyzw'] == [b.estimate(k) for k in 'xyzw']


# --- W-TinyLFU ------------------------------------------------------------------------
def test_wtinylfu_karma_split():
    p = WTinyLfuPolicy(10)
    assert (p.window_size, p.main_size, p.protected_size) == (9, 1, 0)
    q = WTinyLfuPolicy(10, window_size=1, protected_fraction=0.8)
    assert (q.window_size, q.main_size, q.protected_size) == (1, 9, 7)
    assert WTinyLfuPolicy(1).main_size == 0
    with pytest.raises(ValueError, match='window_fraction'):
        WTinyLfuPolicy(10, window_fraction=1.5)


def test_wtinylfu_admission_duel_rejects_colder_candidate():
    p = WTinyLfuPolicy(3, window_size=1)
    fill(p, 'abc')  # a, b overflow the window into probation (main has room)
    assert p.segment('a') == 'probation' and p.segment('c') == 'window'
    for _ in range(3):
        p.access('a', READ)  # a is hot: promoted to protected
    assert p.segment('a') == 'protected'
    # d pushes c out of the window; c (seen once) vs victim b (seen once): tie -> reject c
    assert p.admit('d', WRITE) == ['c']
    assert p.rejected == 1 and 'b' in p


def test_wtinylfu_admission_duel_admits_hotter_candidate():
    p = WTinyLfuPolicy(3, window_size=1)
    fill(p, 'abc')
    for _ in range(3):
        p.miss('x', READ)  # x was asked for repeatedly while absent
    p.admit('x', WRITE)  # window: x, candidate c (est 1) vs a (est 1): c rejected
    assert 'c' not in p
    assert p.admit('y', WRITE) == ['a']  # candidate x (est 4) beats victim a (est 1)
    assert p.segment('x') == 'probation' and p.admitted == 1


def test_wtinylfu_doorkeeper_one_hit_wonders_lose():
    p = WTinyLfuPolicy(2, window_size=1)
    fill(p, ['hot'])
    for _ in range(2):
        p.access('hot', READ)
    evicted = fill(p, [f'scan{i}' for i in range(6)])
    assert 'hot' in p and 'hot' not in evicted  # scans never beat the frequent key


def test_wtinylfu_protected_overflow_demotes_to_probation():
    p = WTinyLfuPolicy(4, window_size=1, protected_fraction=0.5)  # main 3, protected 1
    fill(p, 'abcd')  # a, b, c in probation, d in window
    p.access('a', READ)
    assert p.segment('a') == 'protected'
    p.access('b', READ)  # b promoted, a demoted to probation's most recent end
    assert p.segment('b') == 'protected' and p.segment('a') == 'probation'
    assert list(p.keys()) == ['d', 'c', 'a', 'b']


# --- our robot-aware policy -----------------------------------------------------------
def sight(label):
    return UseInfo('write', 0.0, label=label, source='observation')


def act(label):
    return UseInfo('write', 0.0, label=label, source='own_action', changed=('position',))


def test_robot_aware_rejects_plain_sightings_when_full():
    p = RobotAwarePolicy(2)
    p.admit('apple_1', act('apple'))
    p.admit('mug_1', act('mug'))
    assert p.admit('chair_1', sight('chair')) == ['chair_1']
    assert p.rejected == 1
    # a sighting that carries news is a use and competes normally
    moved = UseInfo('write', 0.0, label='vase', source='observation', changed=('position',))
    assert p.admit('vase_1', moved) in (['apple_1'], ['mug_1'])


def test_robot_aware_own_action_always_admitted_and_frequency_wins():
    p = RobotAwarePolicy(2, recency_bonus=0.0)
    p.admit('apple_1', act('apple'))
    p.admit('mug_1', act('mug'))
    for _ in range(3):
        p.access('apple_1', READ)
    assert p.admit('knife_1', act('knife')) == ['mug_1']
    assert 'knife_1' in p


def test_robot_aware_task_labels_protect():
    p = RobotAwarePolicy(2, recency_bonus=0.0, task_bonus=4.0)
    p.admit('apple_1', act('apple'))
    p.admit('mug_1', act('mug'))
    for _ in range(2):
        p.access('mug_1', READ)
    p.set_task_context(['apple'])
    assert p.admit('knife_1', act('knife')) == ['mug_1']  # apple 1 + 4 > mug 3
    p.set_task_context([])
    assert p.admit('fork_1', act('fork')) == ['apple_1']  # both count 1: oldest goes


def test_robot_aware_remembers_misses_across_eviction():
    p = RobotAwarePolicy(1, recency_bonus=0.0)
    p.admit('a', act('x'))
    for _ in range(3):
        p.miss('b', READ)
    p.admit('b', sight('y'))  # sighting, but its history (4) beats a (1)
    assert 'b' in p and 'a' not in p
