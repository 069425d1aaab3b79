"""The cached past view (`LongTermMemory.past`) answers exactly as `as_of` does.

A memory with a SQLite database and a timeline lives through random histories (objects
fused, carried onto furniture and off, state changes, missing, merged, removed, late
changes stamped in the past, furniture carried away, a room added, retention) while the
past is asked about at random stamps; every answer of the moved view (its JSON, its
collapsed export, its queries, and RobotMemory queries with `as_of`) is compared with the
independent copy `as_of` builds, and with a twin memory whose view is built anew every
time.
"""

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import ObjectObservation
from memory_nodes.memory.robot_memory import ObjectQuery, RobotMemory
from memory_nodes.memory.state_change import StateChange

LABELS = ('mug', 'cup', 'book', 'apple', 'bowl')
#: Where things can be: on the table (kitchen), on the shelf (bedroom), on the floor.
SPOTS = ((2.0, 2.0, 0.85), (2.6, 2.2, 0.85), (7.0, 2.0, 1.25), (7.4, 2.3, 1.25),
         (3.5, 4.0, 0.05), (8.5, 4.0, 0.05))
POINTS = ((2.2, 2.1, 0.9), (7.2, 2.1, 1.2), (5.0, 3.0, 0.5), (8.5, 4.0, 0.0))


def box(center, size=(0.08, 0.08, 0.1), n=80, seed=0):
    rng = np.random.default_rng(seed)
    return np.asarray(center) + rng.uniform(-0.5, 0.5, (n, 3)) * np.asarray(size)


def config(rebuild_fraction=0.25):
    cfg = LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    cfg.timeline.max_age_s = 30.0
    cfg.timeline.past_rebuild_fraction = rebuild_fraction
    return cfg


def home(db, rebuild_fraction=0.25):
    """Kitchen with a table, bedroom with a shelf, one of each label on the table."""
    mem = RobotMemory(config(rebuild_fraction), db_path=db)
    ltm = mem.ltm
    ltm.define_room('kitchen', [0, 0, 0], [5, 5, 3])
    ltm.define_room('bedroom', [5, 0, 0], [10, 5, 3])
    for t in range(3):
        mem.observe([
            ObjectObservation('table', 0.9, box([2.3, 2.1, 0.4], [1.4, 0.8, 0.8], 150, t),
                              float(t)),
            ObjectObservation('shelf', 0.9, box([7.2, 2.1, 0.6], [1.0, 0.5, 1.2], 150, t),
                              float(t)),
            *[ObjectObservation(lbl, 0.9, box(SPOTS[k % 2], seed=t + 10 * k), float(t))
              for k, lbl in enumerate(LABELS[:2])],
        ])
    for k, lbl in enumerate(LABELS[2:]):
        mem.record(StateChange(lbl, 2.5, position=SPOTS[(k + 2) % len(SPOTS)]))
    return mem


# ---- one random history -------------------------------------------------------------
step = st.one_of(
    st.tuples(st.just('observe'), st.integers(0, 9), st.integers(0, len(SPOTS) - 1)),
    st.tuples(st.just('carry'), st.integers(0, 9), st.integers(0, len(SPOTS) - 1)),
    st.tuples(st.just('state'), st.integers(0, 9), st.booleans()),
    st.tuples(st.just('missing'), st.integers(0, 9), st.just(0)),
    st.tuples(st.just('merge'), st.integers(0, 9), st.integers(0, 9)),
    st.tuples(st.just('remove'), st.integers(0, 9), st.just(0)),
    st.tuples(st.just('late'), st.integers(0, 9), st.floats(0.0, 1.0)),
    st.tuples(st.just('furniture'), st.integers(0, 1), st.integers(0, len(SPOTS) - 1)),
    st.tuples(st.just('room'), st.just(0), st.just(0)),
    st.tuples(st.just('retain'), st.just(0), st.just(0)),
    st.tuples(st.just('ask'), st.floats(0.0, 1.0), st.integers(1, 4)),
    st.tuples(st.just('ask'), st.floats(0.0, 1.0), st.integers(1, 4)),
    st.tuples(st.just('ask'), st.floats(0.0, 1.0), st.integers(1, 4)),
)


def physical(ltm, layer='object'):
    return sorted(n.id for n in ltm.graph.nodes.values() if n.layer == layer
                  and n.status != 'tentative')


def apply(mem, op, a, b, now, rng):
    """Do one step of a history at stamp `now` (both twins get the same steps)."""
    ltm = mem.ltm
    objects, furniture = physical(ltm), physical(ltm, 'furniture')
    obj = objects[a % len(objects)] if objects else None
    if op == 'observe':
        mem.observe([ObjectObservation(LABELS[a % len(LABELS)], 0.9,
                                       box(SPOTS[b], seed=int(rng.integers(1000))), now)])
    elif op == 'carry' and obj is not None:
        onto = furniture[b % len(furniture)] if furniture and b < 4 else None
        mem.record(StateChange(ltm.graph.nodes[obj].label, now, object_id=obj,
                               position=SPOTS[b], receptacle=onto))
    elif op == 'state' and obj is not None:
        mem.record(StateChange(ltm.graph.nodes[obj].label, now, object_id=obj,
                               states={'dirty': bool(b)}, changed=['dirty']))
    elif op == 'missing' and obj is not None:
        mem.mark_missing(obj, now)
    elif op == 'merge' and obj is not None and len(objects) > 1:
        into = objects[b % len(objects)]
        if into != obj:
            ltm.graph.remove_node(obj, now, merged_into=into)
            ltm._commit(now)
    elif op == 'remove' and obj is not None:
        ltm.graph.remove_node(obj, now)
        ltm._commit(now)
    elif op == 'late' and obj is not None:
        # A change reported late: stamped between the horizon and now.
        first = max(ltm.timeline.horizon or 0.0, 0.0)
        spot = SPOTS[int(rng.integers(len(SPOTS)))]
        mem.record(StateChange(ltm.graph.nodes[obj].label, first + b * (now - first),
                               object_id=obj, position=spot))
    elif op == 'furniture' and len(furniture) > a:
        fid = furniture[a]
        if b == 0:
            ltm.graph.remove_node(fid, now)
            ltm._commit(now)
        else:
            mem.record(StateChange(ltm.graph.nodes[fid].label, now, object_id=fid,
                                   position=SPOTS[b]))
    elif op == 'room' and ltm.graph.get('hall') is None:
        if not any(n.label == 'hall' for n in ltm.graph.layer('room')):
            ltm.define_room('hall', [0, 5, 0], [10, 8, 3])
    elif op == 'retain':
        ltm.apply_retention(now)


def answers(ltm, rooms, furniture_labels):
    """Everything a past view answers, in a comparable form."""
    out = {'json': ltm.to_json(),
           'collapsed': ltm.collapsed_export(400, ['mug', 'kitchen']).text,
           'supports': {nid: ltm.graph.support(nid) for nid in ltm.graph.nodes}}
    for lbl in LABELS + furniture_labels:
        out[f'label {lbl}'] = [n.id for n in ltm.by_label(lbl, include_absent=True)]
        out[f'where {lbl}'] = ltm.where(lbl)
        for rel in ('on', 'in'):
            out[f'{rel} {lbl}'] = [n.id for n in ltm.related(rel, lbl)]
    for room in rooms:
        out[f'room {room}'] = [n.id for n in ltm.in_room(room)]
    for p in POINTS:
        out[f'near {p}'] = [(round(d, 9), n.id) for d, n in ltm.within_radius(p, 1.5)]
        out[f'nearest {p}'] = [(round(d, 9), n.id) for d, n in ltm.nearest(p, 3)]
    return out


QUERIES = (ObjectQuery(label='mug'), ObjectQuery(room='kitchen'),
           ObjectQuery(relation='on', relation_target='table'),
           ObjectQuery(near_point=(2.2, 2.1, 0.9), radius=1.0),
           ObjectQuery(near_point=(7.0, 2.0, 1.0), top_k=3),
           ObjectQuery(label='book', near_point=(5.0, 3.0, 0.5)),
           ObjectQuery(text='something to drink from', top_k=4))


def hits(mem, q, t):
    return [(h.node.id, round(h.score, 9), h.support, h.node.summary())
            for h in mem.query(q, as_of=t)]


def check(mem, twin, t):
    ltm = mem.ltm
    rooms = sorted(n.label for n in ltm.graph.layer('room'))
    furniture_labels = ('table', 'shelf')
    view = ltm.past(t)
    got = answers(view, rooms, furniture_labels)
    want = answers(ltm.as_of(t), rooms, furniture_labels)
    for key in want:
        assert got[key] == want[key], (t, key)
    for q in QUERIES:
        assert hits(mem, q, t) == hits(twin, q, t), (t, q)


@settings(max_examples=int(os.environ.get('PAST_TEST_EXAMPLES', '25')), deadline=None,
          derandomize=os.environ.get('PAST_TEST_RANDOM') != '1', database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=st.lists(st.tuples(step, st.sampled_from((0.0, 0.5, 1.0, 2.5))),
                      min_size=10, max_size=40),
       seed=st.integers(0, 2**16))
def test_past_answers_exactly_as_as_of(steps, seed):
    with tempfile.TemporaryDirectory() as tmp:
        # A home this small has few nodes: let the view move however many differ.
        mem = home(Path(tmp) / 'mem.db', rebuild_fraction=1.0)
        twin = home(Path(tmp) / 'twin.db', rebuild_fraction=-1.0)  # a new view each time
        rngs = [np.random.default_rng(seed), np.random.default_rng(seed)]
        now = 3.0
        try:
            for (op, a, b), dt in steps:
                now += dt
                if op == 'ask':
                    horizon = mem.ltm.timeline.horizon
                    first = max(horizon if horizon is not None else 0.0, 0.0)
                    for k in range(b):  # a few asks in a row, as clients do
                        t = first + ((a + 0.37 * k) % 1.0) * (now - first)
                        check(mem, twin, t)
                    continue
                for m, rng in zip((mem, twin), rngs):
                    apply(m, op, a, b, now, rng)
            assert mem.ltm.to_json() == twin.ltm.to_json()  # the twins lived alike
            check(mem, twin, now)
        finally:
            mem.close()
            twin.close()


# ---- the view is moved, not rebuilt ---------------------------------------------------
def carry(mem, obj, stamp, spot, onto=None):
    mem.record(StateChange(mem.ltm.graph.nodes[obj].label, stamp, object_id=obj,
                           position=SPOTS[spot], receptacle=onto))


def test_past_moves_one_view_and_rebuilds_only_when_it_must(tmp_path):
    mem = home(tmp_path / 'mem.db')
    ltm = mem.ltm
    mug = ltm.by_label('mug')[0].id
    book = ltm.by_label('book')[0].id
    for i in range(20):  # the mug and the book go back and forth, a version each time
        carry(mem, mug, 10.0 + i, i % 2 * 2)
        carry(mem, book, 10.5 + i, (i + 1) % 2 * 2 + 1)
    view = ltm.past(12.2)
    assert ltm.past_stats()['builds'] == 1
    stamps = [25.3, 11.1, 29.9, 18.7, 18.7, 12.2, 40.0]
    for t in stamps:
        assert ltm.past(t) is view  # the same view, moved
        assert view.to_json() == ltm.as_of(t).to_json()
    stats = ltm.past_stats()
    assert stats['builds'] == 1 and stats['moves'] == len(stamps)
    assert 0 < stats['restored'] <= 2 * len(stamps)  # only the mug and the book
    # New commits (fusion of a frame) move it too: only what changed is restored.
    carry(mem, mug, 41.0, 4)
    assert ltm.past(41.5) is view and ltm.past_stats()['builds'] == 1
    assert view.get(mug).position[2] == pytest.approx(SPOTS[4][2], abs=0.05)
    # A node taken from the view stays as it was when it was asked for.
    mug_then = ltm.past(15.2).get(mug)
    ltm.past(16.2)
    assert mug_then.position[0] == pytest.approx(SPOTS[2][0], abs=0.05)
    # The structure changed (a new room): built anew, and right.
    ltm.define_room('hall', [0, 5, 0], [10, 8, 3])
    hall_view = ltm.past(20.0)
    assert ltm.past_stats()['builds'] == 2
    assert any(n.label == 'hall' for n in hall_view.graph.layer('room'))
    assert hall_view.to_json() == ltm.as_of(20.0).to_json()
    # Retention dropped versions: built anew.
    ltm.apply_retention(60.0)
    ltm.past(45.0)
    assert ltm.past_stats()['builds'] == 3
    with pytest.raises(ValueError, match='retention horizon'):
        ltm.past(20.0)
    # Many nodes differ: cheaper to build.
    ltm.config.timeline.past_rebuild_fraction = 0.0
    ltm.past(40.0)  # the mug's move at 41 differs
    assert ltm.past_stats()['builds'] == 4
    mem.close()


def test_support_waits_for_furniture_that_comes_later(tmp_path):
    """A late change puts the mug on a shelf the timeline knows only from later on."""
    mem = home(tmp_path / 'mem.db')
    ltm = mem.ltm
    mug = ltm.by_label('mug')[0].id
    for t in (20.0, 21.0, 22.0):
        points = box([3.5, 4.0, 0.5], [0.8, 0.5, 1.0], 150, int(t))
        mem.observe([ObjectObservation('cabinet', 0.9, points, t)])
    cabinet = ltm.by_label('cabinet')[0].id
    first = ltm.timeline.versions[cabinet][0].stamp
    carry(mem, mug, first - 4.0, 4, onto=cabinet)  # reported late
    assert ltm.as_of(first - 2.0).graph.support(mug) is None  # no cabinet believed yet
    builds = ltm.past_stats()['builds']
    for t in (first - 2.0, first + 1.0, first - 1.0, first + 2.0):
        view = ltm.past(t)
        assert view.to_json() == ltm.as_of(t).to_json(), t
        assert (view.graph.support(mug) is not None) == (t >= first), t
    assert ltm.past_stats()['builds'] == builds + 1  # moved across the cabinet's arrival
    mem.close()


def test_load_and_reset_give_a_new_view(tmp_path):
    mem = home(tmp_path / 'mem.db')
    mug = mem.ltm.by_label('mug')[0].id
    carry(mem, mug, 10.0, 2)
    before = mem.past(5.0)
    assert before.get(mug) is not None
    mem.save(tmp_path / 'copy.json')
    mem.reset()
    assert mem.ltm.past(5.0).get(mug) is None  # nothing believed after a reset
    mem.load(tmp_path / 'copy.json')
    assert mem.past(5.0).to_json() == mem.as_of(5.0).to_json()
    assert mem.past(5.0).get(mug) is not None
    mem.close()


def test_as_of_stays_an_independent_copy(tmp_path):
    ltm = LongTermMemory(config(), db_path=tmp_path / 'mem.db')
    ltm.define_room('kitchen', [0, 0, 0], [5, 5, 3])
    for t in range(3):
        ltm.integrate([ObjectObservation('mug', 0.9, box(SPOTS[0], seed=t), float(t))])
    a, b = ltm.as_of(2.0), ltm.as_of(2.0)
    assert a is not b and a.graph is not b.graph and a is not ltm.past(2.0)
    ltm.close()


def test_micro_benchmark_moves_the_view_on_the_load_home():
    """The load test's home with things carried around: one build, then only moves."""
    from memory_nodes.evaluation.reliability.past_bench import measure

    out = measure(objects=200, frames=4, moving=1, asks=2)
    cache = out['past_cache']
    assert out['calls'] == 8 and cache['builds'] == 1 and cache['moves'] == 7
    assert cache['restored'] > 0 and out['past']['mean_ms'] > 0 and out['as_of']['mean_ms'] > 0
