"""GetSceneGraph's cached answers equal the from-scratch ones, and the caches are reused.

The full JSON (`RobotMemory.graph_json`, `LongTermMemory.to_json` without timeline and
points) is assembled from per-node fragments and the collapsed export from cached views;
random sequences of real memory operations (fused frames, state changes, merges,
removals, absences, room definitions, agent poses, retention, save/load, reset, on a
real SQLite file) must leave both byte-identical to `graph_to_dict` + `json.dumps` and
to the uncached `collapsed_export` after every step.
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.export import (
    CollapsedExporter,
    GraphJson,
    collapsed_export,
    graph_to_dict,
)
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import ObjectObservation
from memory_nodes.memory.robot_memory import RobotMemory
from memory_nodes.memory.scene_graph import SceneGraph, SceneNode
from memory_nodes.memory.state_change import StateChange

LABELS = ('mug', 'apple', 'book', 'fridge', 'table', 'Mug Cup')
ROOMS = ('kitchen', 'bedroom', 'living room')
EXAMPLES = int(os.environ.get('EXPORT_TEST_EXAMPLES', '40'))
SLOTS = [np.array([0.6 * (i % 4), 0.6 * (i // 4), 0.8]) for i in range(16)]


def scratch_json(graph: SceneGraph) -> str:
    return json.dumps(graph_to_dict(graph, include_points=False), separators=(',', ':'))


def config() -> LongTermMemoryConfig:
    cfg = LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    cfg.timeline.max_age_s = 6.0  # retention trims the change history within a run
    return cfg


def observation(slot: int, label: str, stamp: float, seed: int, state: bool | None = None,
                shift: float = 0.0) -> ObjectObservation:
    rng = np.random.default_rng(seed)
    centre = SLOTS[slot] + np.array([shift, 0.0, 0.0])
    points = centre + rng.uniform(-0.05, 0.05, (30, 3))
    states = {} if state is None else {'open': state}
    return ObjectObservation(label, 0.9, points, stamp, states=states)


# ---- the operations ------------------------------------------------------------------
def pick(graph: SceneGraph, index: int, layers=('object', 'furniture')) -> SceneNode | None:
    nodes = [n for n in graph.nodes.values() if n.layer in layers]
    return nodes[index % len(nodes)] if nodes else None


def apply(memory: RobotMemory, op: tuple, stamp: float, tmp: Path) -> None:
    kind, a, b, c = op
    ltm = memory.ltm
    graph = ltm.graph
    if kind == 'see':
        frame = [observation((a + k) % len(SLOTS), LABELS[(b + k) % len(LABELS)], stamp,
                             seed=a * 31 + k, state=None if c % 3 == 0 else bool(c % 2),
                             shift=0.2 * (c % 4 == 1))
                 for k in range(1 + c % 5)]
        memory.observe(frame)
    elif kind == 'state':
        node = pick(graph, a)
        receptacle = pick(graph, b, ('furniture', 'object')) if c % 2 else None
        memory.record(StateChange(
            LABELS[b % len(LABELS)], stamp, object_id=node.id if node and c % 3 else None,
            position=tuple(float(v) for v in SLOTS[(a + c) % len(SLOTS)]),
            states={'dirty': bool(c % 2), 'on': bool(b % 2)},
            changed=['position'] if c % 4 == 0 else ['dirty'],
            receptacle=receptacle.id if receptacle is not None else None))
    elif kind == 'merge':
        keep, drop = pick(graph, a), pick(graph, b)
        with memory.lock:
            if keep is not None and drop is not None and keep.id != drop.id:
                ltm.fuser.merge_nodes(keep, drop)
            ltm.merge_duplicates()
    elif kind == 'remove':
        node = pick(graph, a, ('object', 'furniture', 'place'))
        with memory.lock:
            if node is not None:
                graph.remove_node(node.id, stamp)
            ltm.merge_duplicates()
    elif kind == 'missing':
        node = pick(graph, a, ('object',))
        if node is not None:
            memory.mark_missing(node.id, stamp)
    elif kind == 'room':
        x, y = 1.2 * (a % 3), 1.2 * (b % 3)
        with memory.lock:
            ltm.define_room(ROOMS[c % len(ROOMS)], (x - 1.0, y - 1.0, 0.0),
                            (x + 1.5, y + 1.5, 3.0))
    elif kind == 'pose':
        with memory.lock:
            ltm.add_agent_pose((0.7 * (a % 5), 0.7 * (b % 5), 0.0), stamp)
    elif kind == 'relabel':
        node = pick(graph, a)
        with memory.lock:
            if node is not None:
                graph.relabel(node, LABELS[b % len(LABELS)])
                graph.touch(node.id)
    elif kind == 'retention':
        with memory.lock:
            ltm.apply_retention(stamp)
    elif kind == 'save_load':
        path = tmp / ('snapshot.json' if a % 2 else 'snapshot.db')
        memory.save(path)
        memory.load(path)
    elif kind == 'reset':
        memory.reset()


OPS = st.tuples(
    st.sampled_from(('see', 'see', 'see', 'state', 'state', 'merge', 'remove', 'missing',
                     'room', 'pose', 'relabel', 'retention', 'save_load', 'reset')),
    st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
ASKS = st.lists(st.tuples(
    st.sampled_from((0, 5, 30, 60, 120, 400, 1200, 10_000)),
    st.lists(st.one_of(st.sampled_from(LABELS + ROOMS + ('', 'zz', 'mu', 'MUG'))),
             max_size=2),
    st.integers(0, 40)), min_size=1, max_size=3)


def focus_of(graph: SceneGraph, words: list[str], index: int) -> list[str]:
    ids = list(graph.nodes) + list(graph.merged_into)
    if index % 3 == 0 and ids:
        return [*words, ids[index % len(ids)]]  # an id (maybe a merged one) too
    return words


def check(memory: RobotMemory, asks) -> None:
    graph = memory.ltm.graph
    expected = scratch_json(graph)
    assert memory.graph_json() == expected
    assert memory.ltm.to_json(include_timeline=False, include_points=False) == expected
    for budget, words, index in asks:
        focus = focus_of(graph, words, index)
        for _ in range(2):  # the second answer comes from the cache
            got = memory.ltm.collapsed_export(budget, focus)
            ref = collapsed_export(graph, budget, focus,
                                   memory.ltm.config.export.chars_per_token,
                                   memory.ltm.config.export.max_expanded_per_room)
            assert (got.text, got.tokens, got.truncated, got.expanded) == \
                (ref.text, ref.tokens, ref.truncated, ref.expanded)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(st.tuples(OPS, ASKS), min_size=1, max_size=14))
def test_cached_answers_equal_scratch_after_every_step(ops):
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        memory = RobotMemory(config(), db_path=tmp / 'memory.db')
        try:
            check(memory, [(400, [], 1)])
            for step, (op, asks) in enumerate(ops):
                apply(memory, op, 1.0 + step, tmp)
                check(memory, asks)
        finally:
            memory.close()


# ---- the caches are used -------------------------------------------------------------
def home(n: int = 60) -> LongTermMemory:
    mem = LongTermMemory(config())
    mem.define_room('kitchen', (-1, -1, 0), (1.2, 10, 3))
    mem.define_room('bedroom', (1.2, -1, 0), (10, 10, 3))
    for t in (0.0, 1.0):
        mem.integrate([ObjectObservation(LABELS[i % 3], 0.9, np.array([
            0.3 * (i % 10), 0.3 * (i // 10), 0.8]) + np.random.default_rng(i).uniform(
                -0.03, 0.03, (20, 3)), t) for i in range(n)])
    return mem


def test_only_changed_nodes_are_encoded_again():
    mem = home()
    graph = mem.graph
    cache: GraphJson = mem._graph_json
    assert mem.to_json(False, False) == scratch_json(graph)
    before = dict(cache.encoded)
    assert before['nodes'] == len(graph.nodes)
    # Nothing changed: nothing is encoded.
    assert mem.to_json(False, False) == scratch_json(graph)
    assert cache.encoded == before
    # One frame re-sights three objects (one moves): only nodes whose counter moved are
    # encoded again; everything else comes from the cache.
    ticks = dict(graph.changes)
    seen = [n for n in graph.nodes.values() if n.layer == 'object'][:3]
    mem.integrate([ObjectObservation(n.label, 0.9, n.position + np.array([0.02 * k, 0, 0])
                                     + np.random.default_rng(k).uniform(-0.03, 0.03, (20, 3)),
                                     5.0) for k, n in enumerate(seen)])
    changed = {nid for nid in graph.nodes if graph.changes[nid] != ticks.get(nid)}
    assert {n.id for n in seen} <= changed
    assert len(changed) < len(graph.nodes) / 4
    assert mem.to_json(False, False) == scratch_json(graph)
    assert cache.encoded['nodes'] - before['nodes'] == len(changed)
    with_edges = {nid for nid in changed if graph.edges.out_degree(nid)}
    assert cache.encoded['edges'] - before['edges'] == len(with_edges)


def test_collapsed_answers_are_reused_until_the_graph_changes():
    mem = home()
    exporter: CollapsedExporter = mem._collapsed
    first = mem.collapsed_export(300, ['mug'])
    assert exporter.counts == {'cached': 0, 'built': 1, 'views': 1}
    again = mem.collapsed_export(300, ['mug'])
    assert (again.text, again.expanded) == (first.text, first.expanded)
    again.expanded.append('tampered')  # a caller's copy: the cache keeps its own
    assert mem.collapsed_export(300, ['mug']).expanded == first.expanded
    assert exporter.counts['cached'] == 2
    mem.collapsed_export(1200, [])  # another budget: a new answer from the same view
    assert exporter.counts['views'] == 1
    mug = mem.by_label('mug')[0]
    mem.record_state_change(StateChange('mug', 7.0, object_id=mug.id, states={'dirty': True}))
    fresh = mem.collapsed_export(300, ['mug'])
    assert exporter.counts['views'] == 2
    assert 'dirty=True' in fresh.text and fresh.text != first.text
    assert fresh.text == collapsed_export(mem.graph, 300, ['mug']).text


# ---- change counters ---------------------------------------------------------------
def node(nid: str, layer: str = 'object', label: str = 'mug') -> SceneNode:
    return SceneNode(nid, layer, label, np.zeros(3), extent=np.full(3, 0.1))


@pytest.mark.parametrize('mutation', [
    'touch', 'restore', 'relabel', 'move', 'set_edge', 'remove_edge', 'set_parent'])
def test_every_mutation_bumps_the_nodes_counter(mutation):
    g = SceneGraph()
    g.add_node(node('o1'))
    g.add_node(node('f1', 'furniture', 'table'))
    g.add_node(node('r1', 'room', 'kitchen'))
    g.set_edge('o1', 'f1', 'on')
    before = g.changes['o1']
    a = g.nodes['o1']
    {'touch': lambda: g.touch('o1'),
     'restore': lambda: g.restore_node(a),
     'relabel': lambda: g.relabel(a, 'cup'),
     'move': lambda: g.move(a, np.ones(3)),
     'set_edge': lambda: g.set_edge('o1', 'f1', 'in'),
     'remove_edge': lambda: g.remove_edge('o1', 'f1'),
     'set_parent': lambda: g.set_parent('o1', 'r1')}[mutation]()
    assert g.changes['o1'] > before
    assert g.clock == max(g.changes.values())


def test_removal_bumps_sources_of_edges_into_the_node_and_clear_starts_an_epoch():
    g = SceneGraph()
    for nid, layer in (('o1', 'object'), ('o2', 'object'), ('f1', 'furniture')):
        g.add_node(node(nid, layer))
    g.set_edge('o1', 'f1', 'on')
    ticks, clock = dict(g.changes), g.clock
    g.remove_node('f1', 3.0)
    assert 'f1' not in g.changes and g.clock > clock
    assert g.changes['o1'] > ticks['o1']  # its edge list lost f1
    assert g.changes['o2'] == ticks['o2']
    # Unchanged counters, unchanged answers: and a fresh epoch after clear.
    cache = GraphJson()
    assert cache.dumps(g) == scratch_json(g)
    epoch = g.epoch
    g.clear()
    assert g.epoch != epoch and g.changes == {}
    g.add_node(node('o1', label='apple'))
    assert cache.dumps(g) == scratch_json(g)
