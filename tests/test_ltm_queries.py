"""Queries, collapsed export and the real MiniLM embedder."""

import numpy as np
import pytest

from memory_nodes.memory.embeddings import EmbedderConfig, TextEmbedder
from memory_nodes.memory.export import estimate_tokens
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import ObjectObservation


def box(center, size, n=200, seed=0):
    rng = np.random.default_rng(seed)
    return np.asarray(center) + rng.uniform(-0.5, 0.5, (n, 3)) * np.asarray(size)


ITEMS = [
    ('kitchen', 'fridge', [4, 1, 0.9], [0.8, 0.7, 1.8]),
    ('kitchen', 'milk', [4, 1, 1.0], [0.08, 0.08, 0.2]),
    ('kitchen', 'counter', [2, 1, 0.45], [2.0, 0.6, 0.9]),
    ('kitchen', 'mug', [2, 1, 0.95], [0.08, 0.08, 0.1]),
    ('kitchen', 'apple', [1.5, 1, 0.94], [0.07, 0.07, 0.07]),
    ('bedroom', 'bed', [8, 8, 0.3], [2.0, 1.6, 0.6]),
    ('bedroom', 'book', [8, 8, 0.65], [0.2, 0.15, 0.04]),
]


@pytest.fixture(scope='module')
def mem():
    m = LongTermMemory(embedder=TextEmbedder(EmbedderConfig(backend='hashing')))
    for t in range(2):
        m.integrate([ObjectObservation(lbl, 0.9, box(c, s, seed=t * 10 + i), float(t),
                                       room=room)
                     for i, (room, lbl, c, s) in enumerate(ITEMS)])
    return m


def test_by_label_and_room(mem):
    assert [n.label for n in mem.by_label('mug')] == ['mug']
    assert sorted(n.label for n in mem.in_room('bedroom')) == ['bed', 'book']
    assert mem.in_room('garage') == []


def test_related_and_where(mem):
    assert [n.label for n in mem.related('in', 'fridge')] == ['milk']
    assert sorted(n.label for n in mem.related('on', 'counter')) == ['apple', 'mug']
    w = mem.where('book')[0]
    assert w['room_name'] == 'bedroom' and w['support']['label'] == 'bed'


def test_radius_and_nearest(mem):
    near = mem.within_radius([2, 1, 0.95], 0.3)
    assert near[0][1].label == 'mug' and all(d <= 0.3 for d, _ in near)
    assert [n.label for _, n in mem.nearest([8, 8, 0.7], k=1)] == ['book']
    assert len(mem.nearest([0, 0, 0], k=100)) == len(ITEMS)


def test_history_lists_creation_and_confirmation(mem):
    mug = mem.by_label('mug')[0]
    kinds = [e.kind for e in mem.history(mug.id)]
    assert kinds[0] == 'created' and 'confirmed' in kinds


def test_collapsed_export_respects_budget_and_focus(mem):
    full = mem.collapsed_export(400, focus=['fridge'])
    assert full.tokens <= 400
    assert 'milk' in full.text and 'book' not in full.text
    assert 'bedroom' in full.text
    for budget in (5, 20, 40, 80):
        small = mem.collapsed_export(budget, focus=['kitchen'])
        assert estimate_tokens(small.text) <= budget
    assert mem.collapsed_export(20).truncated


def test_by_text_hashing_backend(mem):
    top = mem.by_text('milk', k=1)
    assert top[0][1].label == 'milk'


def test_minilm_embedder_and_text_query():
    emb = TextEmbedder()
    v = emb.embed(['refrigerator', 'fridge', 'book'])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2]
    emb.embed(['fridge'])
    assert emb.cache_info()['hits'] >= 1
    m = LongTermMemory(embedder=emb)
    for t in range(2):
        m.integrate([ObjectObservation(lbl, 0.9, box(c, s, seed=t * 10 + i), float(t))
                     for i, (_, lbl, c, s) in enumerate(ITEMS)])
    assert m.by_text('something to read', k=1)[0][1].label == 'book'
    assert m.by_text('refrigerator', k=1)[0][1].label == 'fridge'
    assert 'milk' in [n.label for _, n in m.by_text('a cold drink', k=3)]
