"""ShortTermMemory: merge, consolidation, retrieval, bad input."""

import math

import numpy as np
import pytest

from memory_nodes.memory.short_term import ShortTermConfig, ShortTermMemory
from memory_nodes.memory.state_change import StateChange


class RecordingSink:
    """A dict-backed long-term memory stand-in: keeps the newest change per object."""

    def __init__(self, fail_times=0):
        self.latest = {}
        self.log = []
        self.fail_times = fail_times
        self.next_id = 0

    def record_state_change(self, change):
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError('disk full')
        oid = change.object_id
        if oid is None:
            self.next_id += 1
            oid = f'node_{self.next_id}'
        self.latest[oid] = change
        self.log.append(oid)
        return oid


class WordEmbedder:
    """Deterministic bag-of-words embedder: one dimension per known word."""

    WORDS = ['apple', 'mug', 'fridge', 'red', 'fruit', 'cup', 'kitchen', 'dirty', 'coffee']

    def __init__(self):
        self.calls = 0

    def embed(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), len(self.WORDS)), np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().replace(',', ' ').split():
                if w in self.WORDS:
                    out[i, self.WORDS.index(w)] += 1
                    if w == 'apple':  # the fixture's world knowledge
                        out[i, self.WORDS.index('fruit')] += 1
                        out[i, self.WORDS.index('red')] += 1
                    if w == 'mug':
                        out[i, self.WORDS.index('cup')] += 1
            n = np.linalg.norm(out[i])
            out[i] /= n if n else 1
        return out


def change(oid, t, label=None, **kw):
    return StateChange(label=label or oid.split('_')[0], stamp=t, object_id=oid, **kw)


def stm(capacity=3, policy='lru', **kw):
    sink = kw.pop('sink', RecordingSink())
    return ShortTermMemory(ShortTermConfig(capacity=capacity, policy=policy, **kw), sink=sink)


# --- merge ----------------------------------------------------------------------------
def test_merge_replaces_entry_and_counts_a_use():
    m = stm()
    m.write(change('apple_1', 1.0, position=(1, 0, 0)))
    m.write(change('apple_1', 5.0, position=(2, 0, 0), states={'sliced': True},
                   changed=['position', 'sliced'], source='own_action'))
    assert len(m) == 1
    e = m.peek('apple_1')
    assert e.change.position == (2, 0, 0) and e.change.states == {'sliced': True}
    assert e.uses == 2 and e.first_stamp == 1.0 and e.stamp == 5.0
    assert m.stats.merges == 1 and m.stats.inserts == 1


def test_merge_saves_entry_from_lru_eviction():
    m = stm(capacity=2)
    m.write(change('apple_1', 1.0))
    m.write(change('mug_1', 2.0))
    m.write(change('apple_1', 10.0, position=(1, 1, 1)))  # a use of apple
    m.write(change('knife_1', 11.0))
    assert 'apple_1' in m and 'mug_1' not in m and m.stats.evictions == 1


def test_out_of_order_and_duplicate_writes_are_counted_not_applied():
    m = stm()
    m.write(change('apple_1', 10.0, position=(1, 0, 0)))
    m.write(change('apple_1', 5.0, position=(9, 9, 9)))  # older than what we hold
    for i in range(5):  # a perception burst repeating the same sighting
        m.write(change('apple_1', 10.1 + 0.1 * i, position=(1.001, 0, 0)))
    assert m.peek('apple_1').change.position == (1, 0, 0)
    assert m.stats.stale == 1 and m.stats.duplicates == 5 and m.stats.merges == 0
    assert m.peek('apple_1').uses == 1  # a burst does not inflate frequency
    m.write(change('apple_1', 20.0, position=(1, 0, 0)))  # same fact, much later: merges
    assert m.stats.merges == 1


# --- consolidation --------------------------------------------------------------------
@pytest.mark.parametrize('policy', ['fifo', 'lru', 'lfu', 'wtinylfu', 'robot_aware'])
def test_eviction_never_loses_latest_state(policy):
    sink = RecordingSink()
    m = stm(capacity=3, policy=policy, sink=sink)
    rng = np.random.default_rng(0)
    truth = {}
    for t in range(300):
        oid = f'obj_{int(rng.integers(0, 12))}'
        c = change(oid, float(t), position=(float(t), 0.0, 0.0),
                   source='own_action' if t % 2 else 'observation', changed=['position'])
        m.write(c)
        truth[oid] = c
        if t % 7 == 0:
            m.get(f'obj_{int(rng.integers(0, 12))}')
        assert len(m) <= 3
    assert m.stats.evictions > 0
    # every object's newest state is in the long-term memory, evicted or not
    assert {k: v.position for k, v in sink.latest.items()} == \
        {k: v.position for k, v in truth.items()}
    for oid in m.entries():
        assert m.peek(oid.object_id).change is sink.latest[oid.object_id]


def test_sink_is_offered_before_the_buffer_changes():
    seen = []

    class CheckingSink(RecordingSink):
        def record_state_change(self, change):
            seen.append((change.object_id, change.object_id in m))
            return super().record_state_change(change)

    m = ShortTermMemory(ShortTermConfig(capacity=1, policy='fifo'), sink=CheckingSink())
    m.write(change('apple_1', 1.0))
    m.write(change('mug_1', 2.0))
    assert seen == [('apple_1', False), ('mug_1', False)]


def test_missing_object_id_takes_sink_id_and_without_sink_is_an_error():
    m = stm()
    oid = m.write(StateChange(label='apple', stamp=1.0))
    assert oid == 'node_1' and m.peek('node_1').change.object_id == 'node_1'
    bare = ShortTermMemory(ShortTermConfig(capacity=2))
    with pytest.raises(ValueError, match='object_id'):
        bare.write(StateChange(label='apple', stamp=1.0))
    assert bare.stats.invalid == {'object_id': 1}


def test_failed_sink_is_retried_at_eviction():
    sink = RecordingSink(fail_times=1)
    m = stm(capacity=1, policy='fifo', sink=sink)
    m.write(change('apple_1', 1.0))  # sink refuses: entry kept, pending
    assert m.stats.sink_failures == 1 and not m.peek('apple_1').consolidated
    m.write(change('mug_1', 2.0))  # evicts apple: retried and accepted
    assert sink.latest['apple_1'].stamp == 1.0 and m.stats.lost_on_eviction == 0


# --- reading --------------------------------------------------------------------------
def test_get_counts_hits_and_misses_and_unknown_forget_raises():
    m = stm()
    m.write(change('apple_1', 1.0))
    assert m.get('apple_1').label == 'apple'
    assert m.get('ghost_9') is None
    assert (m.stats.hits, m.stats.misses) == (1, 1)
    with pytest.raises(KeyError, match='ghost_9'):
        m.forget('ghost_9')
    assert m.forget('apple_1').object_id == 'apple_1' and len(m) == 0


def test_find_by_label_newest_first():
    m = stm(capacity=5)
    m.write(change('mug_1', 1.0))
    m.write(change('mug_2', 3.0))
    m.write(change('apple_1', 2.0))
    assert [e.object_id for e in m.find_by_label('Mug')] == ['mug_2', 'mug_1']
    assert m.find_by_label('fork') == []


def test_retrieve_combines_similarity_and_recency():
    emb = WordEmbedder()
    m = ShortTermMemory(ShortTermConfig(capacity=5, recency_weight=0.3,
                                        recency_half_life_s=100.0),
                        sink=RecordingSink(), embedder=emb)
    m.write(change('apple_1', 0.0, room='kitchen'))
    m.write(change('mug_1', 100.0, room='kitchen', states={'dirty': True}))
    m.write(change('fridge_1', 100.0, room='kitchen'))
    res = m.retrieve('red fruit', k=2)
    assert res[0].entry.object_id == 'apple_1'
    assert res[0].recency == pytest.approx(0.5)
    assert res[0].score == pytest.approx(0.7 * res[0].similarity + 0.3 * 0.5)
    assert res[0].score >= res[1].score and len(res) == 2
    # equal similarity: the newer entry wins
    m.write(change('apple_2', 100.0, room='kitchen'))
    assert m.retrieve('apple', k=1)[0].entry.object_id == 'apple_2'
    calls = emb.calls
    m.retrieve('apple', k=1)
    assert emb.calls == calls + 1  # entry embeddings are cached, only the query is new


def test_retrieve_without_embedder_matches_label_words():
    m = stm(capacity=5)
    m.write(change('butter_knife_1', 1.0, label='butter_knife'))
    m.write(change('mug_1', 1.0))
    top = m.retrieve('hand me the butter knife', k=1)[0]
    assert top.entry.object_id == 'butter_knife_1' and top.similarity == 1.0


# --- bad input ------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs,field', [
    ({'label': ''}, 'label'),
    ({'label': '   '}, 'label'),
    ({'stamp': math.nan}, 'stamp'),
    ({'position': (0.0, math.nan, 1.0)}, 'position'),
    ({'position': (0.0, 1.0)}, 'position'),
    ({'position': (0.0, math.inf, 1.0)}, 'position'),
    ({'source': 'rumour'}, 'source'),
    ({'states': {'open': 'yes'}}, 'states'),
    ({'object_id': ''}, 'object_id'),
])
def test_bad_changes_raise_naming_field_and_leave_memory_intact(kwargs, field):
    sink = RecordingSink()
    m = stm(sink=sink)
    m.write(change('apple_1', 1.0))
    base = {'label': 'mug', 'stamp': 2.0, 'object_id': 'mug_1'}
    with pytest.raises(ValueError, match=field):
        m.write(StateChange(**{**base, **kwargs}))
    assert m.stats.invalid == {field: 1}
    assert len(m) == 1 and sink.log == ['apple_1']


@pytest.mark.parametrize('capacity', [0, -3])
def test_capacity_must_be_positive(capacity):
    with pytest.raises(ValueError, match='capacity'):
        ShortTermMemory(ShortTermConfig(capacity=capacity))


def test_bad_config_and_queries():
    with pytest.raises(ValueError, match='policy'):
        ShortTermMemory(ShortTermConfig(policy='belady'))
    with pytest.raises(ValueError, match='recency_weight'):
        ShortTermMemory(ShortTermConfig(recency_weight=2.0))
    m = stm()
    with pytest.raises(ValueError, match='instruction'):
        m.retrieve('')
    with pytest.raises(ValueError, match='k'):
        m.retrieve('apple', k=0)
    with pytest.raises(ValueError, match='label'):
        m.find_by_label('')
    with pytest.raises(ValueError, match='object_id'):
        m.get('')


def test_policy_params_reach_the_policy():
    m = stm(capacity=10, policy='wtinylfu', policy_params={'window_size': 2})
    assert m.policy.window_size == 2 and m.policy.main_size == 8


def test_admission_rejection_is_counted_and_still_consolidated():
    sink = RecordingSink()
    m = stm(capacity=1, policy='robot_aware', sink=sink)
    m.write(change('apple_1', 1.0, source='own_action', changed=['position']))
    m.write(change('chair_1', 2.0))  # a plain sighting loses to the used apple
    assert 'chair_1' not in m and 'apple_1' in m
    assert m.stats.admission_rejections == 1 and 'chair_1' in sink.latest
